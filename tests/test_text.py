"""normalize(): one matching form for queries and entries, idempotent, never crashing on Unicode."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text import collapse_space, normalize, unify_quotes


@pytest.mark.parametrize("raw, expected", [
    ("Can\u2019t BREATHE!!", "cant breathe"),
    ("CAR-T", "car t"),
    ("temp of 38,6\u00b0C", "temp of 38.6 c"),
    ("temp 38.6.", "temp 38.6"),
    ("fe\u200bver", "fever"),
    ("\u202eleukaemia\u202c", "leukaemia"),
    ("\uff2c\uff49\uff56\uff49\uff4e\uff47", "living"),  # full-width letters (NFKC)
    ("Stra\u00dfe", "strasse"),
    ("  lots\t of\n space ", "lots of space"),
    ("101F", "101f"),
])
def test_normalize_examples(raw, expected):
    assert normalize(raw) == expected


@given(st.text())
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@given(st.text())
def test_normalize_returns_single_spaced_text(text):
    result = normalize(text)
    assert result == result.strip()
    assert "  " not in result


def test_unify_quotes_keeps_length():
    text = "\u2018living drugs\u2019 and \u201cuniversal\u201d"
    assert len(unify_quotes(text)) == len(text)
    assert unify_quotes(text) == "'living drugs' and \"universal\""


def test_collapse_space():
    assert collapse_space(" a \n\n b\tc ") == "a b c"
