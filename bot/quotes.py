"""Finding a quote in its source section, and when it is not there word for word, the passage nearest to it."""
from __future__ import annotations

import difflib
from functools import lru_cache

from rapidfuzz import fuzz

from bot.text import collapse_space, unify_quotes

# Dashes and ellipses come in several forms that look alike on screen; like quote marks, they count as one.
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_ELLIPSIS = "\u2026"
# A passage this similar (rapidfuzz's partial ratio, 0-100) is offered as the one the quote was meant to be.
NEAREST_RATIO = 60
MAX_CHANGES_SHOWN = 4


@lru_cache(maxsize=512)  # a source's sections are folded once for all the quotes taken from them
def fold(text: str) -> tuple[str, tuple[int, ...]]:
    """Return a text with whitespace collapsed and quote marks, dashes and ellipses each in one form (no space
    around a dash or an ellipsis), and for each character of the result where it came from in the text."""
    out: list[str] = []
    where: list[int] = []
    text = unify_quotes(text)
    at = 0
    while at < len(text):
        char, start = text[at], at
        at += 1
        if char.isspace():
            if out and out[-1] != " " and out[-1] != "-" and out[-3:] != ["."] * 3:
                out.append(" ")
                where.append(start)
            continue
        if char in _DASHES:
            char = "-"
        elif char == _ELLIPSIS:
            char = "..."
        elif text.startswith("...", start):
            char, at = "...", start + 3
        if char in ("-", "..."):
            while out and out[-1] == " ":
                out.pop()
                where.pop()
        out.extend(char)
        where.extend(range(start, at) if at - start == len(char) else [start] * len(char))
    while out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), tuple(where)


def locate(text: str, quote: str) -> str | None:
    """Return the text's own words for a quote (whitespace, quote marks, dashes and ellipses aside), or None."""
    folded, where = fold(text)
    wanted, _ = fold(quote)
    if not wanted:
        return None
    at = folded.find(wanted)
    if at < 0:
        return None
    return collapse_space(text[where[at]: where[at + len(wanted) - 1] + 1])


def nearest(text: str, quote: str) -> tuple[str, float] | None:
    """Return the passage of a text nearest a quote (whole words, as the text has them) and its similarity."""
    folded, where = fold(text)
    wanted, _ = fold(quote)
    if not wanted or not folded:
        return None
    found = fuzz.partial_ratio_alignment(wanted, folded)
    if found is None:
        return None
    start, end = found.dest_start, found.dest_end
    while start > 0 and folded[start - 1] != " ":
        start -= 1
    while end < len(folded) and folded[end] != " ":
        end += 1
    start, end = _trim(wanted, folded, start, end)
    while end > start + 1 and folded[end - 1] in ".,;:!?" and not wanted.endswith(folded[end - 1]):
        end -= 1
    return collapse_space(text[where[start]: where[end - 1] + 1]), found.score


def _trim(wanted: str, folded: str, start: int, end: int) -> tuple[int, int]:
    """Narrow a passage [start, end) of folded text to the words from its first to its last one in common with
    the quote (a window of the quote's length may take in a word of the sentence before or after)."""
    spans, at = [], start
    for word in folded[start:end].split(" "):
        spans.append((at, at + len(word)))
        at += len(word) + 1
    bare = ".,;:!?"
    theirs = [folded[a:b].rstrip(bare) for a, b in spans]
    mine = [w.rstrip(bare) for w in wanted.split(" ")]
    blocks = [b for b in difflib.SequenceMatcher(None, mine, theirs, autojunk=False)
              .get_matching_blocks() if b.size]
    if not blocks:
        return start, end
    return spans[blocks[0].b][0], spans[blocks[-1].b + blocks[-1].size - 1][1]


def _words(text: str) -> list[str]:
    return fold(text)[0].replace("...", " ... ").replace("-", " - ").split()


def differences(quote: str, passage: str) -> list[str]:
    """Say which words of a quote differ from the passage it was meant to copy, in plain words."""
    mine, theirs = _words(quote), _words(passage)
    changes = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, mine, theirs, autojunk=False).get_opcodes():
        yours, source = " ".join(mine[i1:i2]), " ".join(theirs[j1:j2])
        if op == "replace":
            changes.append(f"you wrote «{yours}», the source says «{source}»")
        elif op == "delete":
            changes.append(f"«{yours}» is not in the source")
        elif op == "insert":
            changes.append(f"the source has «{source}» here")
    if len(changes) > MAX_CHANGES_SHOWN:
        changes = changes[:MAX_CHANGES_SHOWN] + [f"and {len(changes) - MAX_CHANGES_SHOWN} more"]
    return changes
