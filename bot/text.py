"""Text normalisation: one function for queries, knowledge entries and triage phrases alike."""
from __future__ import annotations

import re
import unicodedata

# Zero-width, bidi-control and soft-hyphen characters: invisible, but they split words.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_QUOTE_MARKS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
})
_DECIMAL_COMMA = re.compile(r"(?<=\d)[.,](?=\d)")
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_NOT_WORD = re.compile(r"[^\w.]|_")
_STRAY_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_SPACE = re.compile(r"\s+")


def remove_invisible(text: str) -> str:
    """Remove zero-width, bidi-control and soft-hyphen characters (invisible, yet they split or reorder words)."""
    return _INVISIBLE.sub("", text)


def unify_quotes(text: str) -> str:
    """Map curly and typographic quote marks to straight ones, one character for one."""
    return text.translate(_QUOTE_MARKS)


def collapse_space(text: str) -> str:
    """Collapse runs of whitespace into single spaces and trim the ends."""
    return _SPACE.sub(" ", text).strip()


def normalize(text: str) -> str:
    """Return the matching form of a text: NFKC, case-folded, invisible marks and punctuation removed.

    "Can't" becomes "cant", "X-Ray" becomes "x ray", "38,6" becomes "38.6". Idempotent.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFKC", text.casefold())
    text = _INVISIBLE.sub("", unify_quotes(text))
    text = _APOSTROPHE.sub("", text)
    text = _DECIMAL_COMMA.sub(".", text)
    text = _NOT_WORD.sub(" ", text)
    text = _STRAY_DOT.sub(" ", text)
    return collapse_space(text)


def words(text: str) -> list[str]:
    """Split normalised text into its words."""
    return normalize(text).split()


def root(word: str) -> str:
    """Cut common English endings, so that two forms of a word meet ('graduating', 'graduate'; 'properties',
    'property'): retrieval maps a query's unseen word form to the knowledge base's, triage tells an everyday
    word from a medicine's name."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for ending in ("ing", "ed", "es", "er", "ly", "ment", "s", "e", "y"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word
