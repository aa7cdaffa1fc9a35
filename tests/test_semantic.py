"""The static semantic channel reads a text's tokens word by word exactly as the tokenizer reads the whole text."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.semantic import Embedder, load_embedder


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    found = load_embedder()
    assert found is not None, "the shipped vectors (bot/vectors/) are part of the package"
    return found


def test_the_shipped_tokenizer_is_read_word_by_word(embedder):
    assert embedder.by_word


@given(text=st.one_of(st.text(max_size=60), st.sampled_from([
    "what is car-t", "T-ALL  in teens", "remision of leukaemia?", "38,6 fever", "\u6f22\u5b57 cells", "a\x1cb c\td",
    "caf\u00e9  d\u00e9j\u00e0 vu", "   ", ""])))
@settings(max_examples=300, deadline=None)
def test_property_word_by_word_ids_are_the_whole_texts(embedder, text):
    whole = embedder._encoded(text)
    assert embedder.ids(text) == whole
    assert embedder.ids(text) == whole  # the second time from the per-word memory
