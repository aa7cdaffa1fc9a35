"""Clinical policy from YAML a clinician reviews: banned claims, dosing amounts, and length limits of answers."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from bot.readability import sentences
from bot.text import normalize

DEFAULT_POLICY = Path(__file__).resolve().parent / "defaults" / "policy.yaml"
# Where one part of a sentence ends, for the reach of a negation: punctuation, and words that turn it around.
_CLAUSE_END = re.compile(r"[,;:.!?()\u2013\u2014]|\b(?:but|however|although|though|yet|whereas)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_NUMBER_AND_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([a-zµ]+)$")

_SPEC = {"banned_claims": ("list", False), "negations": ("texts", False), "negation_window": ("number", False),
         "dosing": ("map", False), "limits": ("map", False), "extends": ("text", False)}
_CLAIM_SPEC = {"name": ("text", True), "phrases": ("texts", True), "negatable": ("bool", False)}
_DOSING_SPEC = {"units": ("texts", False), "number_words": ("texts", False)}
_LIMITS_SPEC = {"max_sentence_words": ("number", False), "max_answer_words": ("number", False)}


@dataclass(frozen=True)
class Claim:
    name: str
    phrases: tuple[tuple[str, ...], ...]
    negatable: bool = True

    @property
    def pattern(self) -> re.Pattern[str]:
        """Match any of the claim's phrases as whole words of normalised text ("word*": any ending)."""
        found = self.__dict__.get("_pattern")
        if found is None:
            words = lambda phrase: " ".join(re.escape(w[:-1]) + r"\S*" if w.endswith("*") else re.escape(w)
                                            for w in phrase)
            found = re.compile(r"(?<!\S)(?:" + "|".join(map(words, self.phrases)) + r")(?!\S)")
            object.__setattr__(self, "_pattern", found)
        return found


@dataclass(frozen=True)
class Policy:
    """The clinical policy in force for one knowledge base."""

    claims: tuple[Claim, ...]
    negations: frozenset[str]
    negation_window: int
    units: tuple[str, ...]
    number_words: frozenset[str]
    max_sentence_words: int
    max_answer_words: int

    def banned(self, answer: str, quoted: Callable[[str], bool] = lambda _: False) -> list[str]:
        """Return the names of the banned claims an answer makes; quoted(sentence) says a sentence is the
        source's own words (never refused)."""
        found: list[str] = []
        for sentence in _SENTENCE.findall(answer):
            clauses = [normalize(clause) for clause in _CLAUSE_END.split(sentence)]
            made = [c.name for c in self.claims if c.name not in found and self._makes(c, clauses)]
            if made and not quoted(sentence.strip()):
                found += made
        return found

    def _makes(self, claim: Claim, clauses: list[str]) -> bool:
        for norm in clauses:
            for match in claim.pattern.finditer(norm):
                before = norm[: match.start()].split()[-self.negation_window:]
                if not (claim.negatable and self.negations.intersection(before)):
                    return True
        return False

    def dose(self, answer: str) -> str:
        """Return the first dosing amount an answer gives ("five milligrams", "25 mg"), or ''."""
        tokens: list[str] = []
        for token in normalize(answer).split():
            split = _NUMBER_AND_UNIT.match(token)
            tokens += split.groups() if split else (token,)
        for at, token in enumerate(tokens):
            if not (_NUMBER.match(token) or token in self.number_words):
                continue
            after = at + 1
            while after < len(tokens) and tokens[after] in self.number_words:  # "twenty five", "two and a half"
                after += 1
            if after < len(tokens) and any(_word_matches(tokens[after], u) for u in self.units):
                return " ".join(tokens[at: after + 1])
        return ""

    def too_long(self, answer: str) -> list[str]:
        """Say how an answer breaks the length limits: a sentence over the limit, or the whole answer."""
        problems = []
        words = re.findall(r"[\w'’]+", answer)
        if len(words) > self.max_answer_words:
            problems.append(f"the answer has {len(words)} words; the limit is {self.max_answer_words} (keep to "
                            f"2-4 short sentences: a patient reads it on a phone)")
        for sentence in sentences(answer):
            count = len(re.findall(r"[\w'’]+", sentence))
            if count > self.max_sentence_words:
                problems.append(f"a sentence has {count} words; the limit is {self.max_sentence_words}: "
                                f"split {sentence[:60]!r}...")
                break
        return problems


def _word_matches(token: str, word: str) -> bool:
    return token.startswith(word[:-1]) if word.endswith("*") else token == word


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(normalize(w.rstrip("*")) + ("*" if w.endswith("*") else "") for w in text.split()
                 if normalize(w.rstrip("*")))


def compile_policy(layers: Iterable[tuple[Any, Any]]) -> Policy | None:
    """Compile the shipped policy and then a knowledge base's own, each (parsed YAML, its checker); a later layer
    adds claims, negations and units, and replaces limits. None when a layer has problems."""
    claims: list[Claim] = []
    negations: set[str] = set()
    units: list[str] = []
    number_words: set[str] = set()
    settings: dict[str, float] = {}
    failed = False
    layers = list(layers)
    for data, checker in layers:
        if data is None:
            continue
        before = len(checker.problems)
        values = checker.record(data, getattr(data, "line", 1), "", _SPEC, "policy.yaml")
        if values is None:
            failed = True
            continue
        if values.get("extends", "default") != "default":
            checker.add(data.at("extends"), "", "extends: the only policy to extend is 'default' (the shipped one)")
        for index, node in enumerate(values.get("banned_claims", [])):
            line = values["banned_claims"].at(index)
            claim = checker.record(node, line, f"claim {index + 1}", _CLAIM_SPEC, "a banned claim")
            if claim and "name" in claim and claim.get("phrases"):
                phrases = tuple(p for p in map(_phrase, claim["phrases"]) if p)
                claims.append(Claim(claim["name"], phrases, claim.get("negatable", True)))
        negations.update(normalize(w) for w in values.get("negations", []))
        if "negation_window" in values:
            settings["negation_window"] = values["negation_window"]
        if "dosing" in values:
            dosing = checker.record(values["dosing"], data.at("dosing"), "dosing", _DOSING_SPEC, "dosing") or {}
            units += [u.lower() for u in dosing.get("units", [])]
            number_words.update(normalize(w) for w in dosing.get("number_words", []))
        if "limits" in values:
            limits = checker.record(values["limits"], data.at("limits"), "limits", _LIMITS_SPEC, "limits") or {}
            for key, value in limits.items():
                if value < 1:
                    checker.add(values["limits"].at(key), "limits", f"{key}: must be at least 1")
                else:
                    settings[key] = value
        failed = failed or len(checker.problems) > before
    if failed:
        return None
    missing = [k for k in ("negation_window", "max_sentence_words", "max_answer_words") if k not in settings]
    if missing:
        data, checker = layers[0]
        checker.add(getattr(data, "line", 1), "", f"{', '.join(missing)}: missing (the shipped policy sets them)")
        return None
    return Policy(tuple(claims), frozenset(negations), int(settings["negation_window"]), tuple(units),
                  frozenset(number_words), int(settings["max_sentence_words"]), int(settings["max_answer_words"]))


def quoted_in(texts: Iterable[str]) -> Callable[[str], bool]:
    """Return a test of whether a sentence is copied word for word from one of these texts."""
    from bot.quotes import locate
    texts = tuple(texts)
    return lambda sentence: any(locate(text, sentence) for text in texts)
