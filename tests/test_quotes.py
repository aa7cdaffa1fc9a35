"""A quote is found in its section whatever its whitespace, quote marks, dashes and ellipses; when it is not
there, the nearest passage and the words that differ are named."""
from __future__ import annotations

from hypothesis import given, strategies as st

from bot.quotes import differences, fold, locate, nearest

WORDS = st.lists(st.sampled_from(["cells", "stay", "\u2013", "-", "\u2014", "\u2026", "...", "\u201cyes\u201d",
                                  '"no"', "it's", "it\u2019s", "a", "lab", ",", "."]), min_size=1, max_size=12)


@given(WORDS, st.sampled_from([" ", "  ", "\n", " \n "]))
def test_every_span_of_a_text_is_found_as_the_texts_own_words(words, space):
    text = space.join(words)
    found = locate("Before " + text + " after", text)
    assert found is not None
    assert fold(found)[0] == fold(text)[0]


@given(st.text(max_size=60))
def test_fold_never_crashes_and_maps_every_character(text):
    folded, where = fold(text)
    assert len(folded) == len(where)
    assert all(0 <= at < len(text) for at in where)


def test_the_nearest_passage_keeps_the_sources_own_marks():
    text = "First part. The cells \u2013 made in a lab \u2013 stay active for years. Last part."
    passage, ratio = nearest(text, "The cells - made in the lab - stay active for years")
    assert passage == "The cells \u2013 made in a lab \u2013 stay active for years"
    assert ratio > 80
    assert differences("The cells - made in the lab - stay active for years", passage) == [
        "you wrote «the», the source says «a»"]


def test_differences_name_missing_and_extra_words():
    assert differences("cells stay very active", "cells stay active") == ["«very» is not in the source"]
    assert differences("cells active", "cells stay active") == ["the source has «stay» here"]
