"""Plain-language checks: Flesch-Kincaid grade and sentence length of answers and safety messages."""
from __future__ import annotations

import re
from dataclasses import dataclass

ANSWER_GRADE = 8.0
SAFETY_GRADE = 6.0
SAFETY_MESSAGES = ("emergency", "crisis", "warning", "mention", "reminder", "advice", "offline", "contact",
                   "contact_none")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?|\d+(?:[.,]\d+)?")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """Estimate the syllables of an English word (vowel groups, less a silent final e)."""
    word = word.lower().replace("’", "'").split("'")[0]
    if not word or word.isdigit():
        return 1
    count = len(_VOWEL_GROUPS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(1, count)


def sentences(text: str) -> list[str]:
    """Split a text into sentences."""
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if _WORD.search(s)]


@dataclass(frozen=True)
class Readability:
    grade: float
    longest_sentence: int


def readability(text: str) -> Readability:
    """Return the Flesch-Kincaid grade of a text and the word count of its longest sentence."""
    parts = sentences(text)
    words = [w for s in parts for w in _WORD.findall(s)]
    if not words:
        return Readability(0.0, 0)
    grade = 0.39 * len(words) / len(parts) + 11.8 * sum(map(syllables, words)) / len(words) - 15.59
    return Readability(round(grade, 1), max(len(_WORD.findall(s)) for s in parts))


def readability_report(engine) -> list[tuple[str, bool]]:
    """Return (line, is a warning) per answer and safety message: its grade, and a warning when over the bar.

    An answer's sentence over the policy's limit is an error when the knowledge base loads; a safety message's is
    a warning here."""
    lines = []
    files = engine.knowledge.files
    for entry in engine.knowledge.entries:
        lines.append(_line(files["entries.yaml"], entry.line, entry.id, "answer", entry.answer, ANSWER_GRADE, 0))
    locales_lines = _key_lines(engine.knowledge.directory / "locales.yaml")
    longest = engine.knowledge.policy.max_sentence_words
    for key in SAFETY_MESSAGES:
        lines.append(_line(files["locales.yaml"], locales_lines.get(key, 0), key, "safety message",
                           engine.profile.say(key), SAFETY_GRADE, longest))
    return lines


def _key_lines(path) -> dict[str, int]:
    """Return the line of each indented 'key:' in a YAML file (first occurrence)."""
    found: dict[str, int] = {}
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r"^\s+([a-z_]+):", line)
            if match:
                found.setdefault(match.group(1), number)
    except OSError:
        pass
    return found


def _line(file: str, line: int, name: str, what: str, text: str, bar: float, longest: int) -> tuple[str, bool]:
    result = readability(text)
    notes = []
    if result.grade > bar:
        notes.append(f"warning: reading grade {result.grade:g} is above {bar:g}")
    if longest and result.longest_sentence > longest:
        notes.append(f"warning: a sentence has {result.longest_sentence} words (keep to {longest})")
    text = f"{file}:{line}: {name}: {what} reading grade {result.grade:g}" + ("; " + "; ".join(notes) if notes else "")
    return text, bool(notes)
