"""Safety triage: emergency, crisis, warning sign, personal advice, contact, smalltalk; before and without retrieval."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from rapidfuzz.distance import Levenshtein
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.text import normalize

URGENT = ("emergency", "crisis", "warning")
CATEGORIES = URGENT + ("advice", "contact", "smalltalk")
# Categories a lexicon may leave out (one written before they existed still loads): without `contact`, asking for
# a person is read as smalltalk or a question.
OPTIONAL_CATEGORIES = ("contact",)
# A fuzzy (one-letter) match is tried only on words this long: shorter words have too many neighbours.
FUZZY_MIN_LETTERS = 5
# Body temperatures that make sense in each scale; other numbers are not read as temperatures.
CELSIUS_RANGE = (34.0, 45.0)
FAHRENHEIT_RANGE = (93.0, 113.0)
_TEMPERATURE = re.compile(
    r"(?<![\d.])(\d{2,3}(?:\.\d{1,2})?) ?(degrees |degree |deg )?(c|f|celsius|centigrade|fahrenheit)?(?![\w.])")
_NUMBER = re.compile(r"(?<![\w.])\d+(\.\d+)?(?![\w.])|\b\d+(\.\d+)?[a-z]+\b")


@dataclass(frozen=True)
class Phrase:
    """A trigger phrase: its words as typed by staff, and each word's matching form."""

    text: str
    words: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True)
class Verdict:
    """What triage decided about one message."""

    category: str | None
    trigger: str = ""
    mentions: tuple[str, ...] = ()
    temperature_c: float | None = None
    number_given: bool = False

    @property
    def urgent(self) -> bool:
        return self.category in URGENT


@dataclass(frozen=True)
class Example:
    category: str
    positive: bool
    message: str
    line: int


@dataclass(frozen=True)
class Lexicon:
    """The compiled triage lexicon of one knowledge base."""

    phrases: Mapping[str, tuple[Phrase, ...]]
    patterns: Mapping[str, tuple[re.Pattern[str], ...]]
    persons: frozenset[str]
    temperature_words: frozenset[str]
    fever_celsius: float
    personal_numbers: bool
    known_words: frozenset[str]
    examples: tuple[Example, ...] = ()
    vocabulary: frozenset[str] = field(default=frozenset())
    # Which phrase words each message word matches, remembered across messages (bounded; see _matches).
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        words = {w for group in self.phrases.values() for p in group for w in p.words if w != "*"}
        by_first: dict[str, dict[str, list[Phrase]]] = {}
        for category, group in self.phrases.items():
            index: dict[str, list[Phrase]] = {}
            for phrase in group:
                index.setdefault(phrase.words[0], []).append(phrase)
            by_first[category] = index
        fuzzy: dict[int, list[str]] = {}
        for word in words:
            if not word.endswith("*") and len(word) >= FUZZY_MIN_LETTERS:
                fuzzy.setdefault(len(word), []).append(word)
        object.__setattr__(self, "_exact", frozenset(w for w in words if not w.endswith("*")))
        object.__setattr__(self, "_prefixes", frozenset(w[:-1] for w in words if w.endswith("*")))
        object.__setattr__(self, "_fuzzy", fuzzy)
        object.__setattr__(self, "_by_first", by_first)


_CATEGORY_SPEC = {"phrases": ("texts", True), "patterns": ("texts", False), "examples": ("map", False)}
_EXTRA_SPEC = {
    "warning": {"persons": ("texts", True), "fever_celsius": ("number", True), "temperature_words": ("texts", False)},
    "advice": {"personal_numbers": ("bool", False)},
}
_EXAMPLE_SPEC = {"positive": ("texts", False), "negative": ("texts", False)}


def compile_lexicon(triage: Mapping[str, Any], checker: Any) -> Lexicon | None:
    """Compile triage.yaml into a Lexicon, reporting problems to checker; None when it has errors."""
    before = len(checker.problems)
    for key in triage:
        if key not in CATEGORIES and key != "known_words":
            checker.add(triage.at(key), "", f"unknown category {key!r}; expected: {', '.join(CATEGORIES)}, known_words")
    phrases: dict[str, tuple[Phrase, ...]] = {}
    patterns: dict[str, tuple[re.Pattern[str], ...]] = {}
    examples: list[Example] = []
    extras: dict[str, Any] = {}
    for category in CATEGORIES:
        node = triage.get(category)
        if node is None:
            if category not in OPTIONAL_CATEGORIES:
                checker.add(getattr(triage, "line", 1), category, f"{category}: missing (required category)")
            continue
        spec = dict(_CATEGORY_SPEC, **_EXTRA_SPEC.get(category, {}))
        values = checker.record(node, triage.at(category), category, spec, f"category {category}")
        if not values:
            continue
        compiled = []
        for index, text in enumerate(values.get("phrases", [])):
            words = tuple(_phrase_word(w) for w in text.split())
            words = tuple(w for w in words if w)
            if not words:
                checker.add(node["phrases"].at(index), category, f"phrases: {text!r} has no words to match")
                continue
            compiled.append(Phrase(text, words, node["phrases"].at(index)))
        phrases[category] = tuple(compiled)
        regexes = []
        for index, text in enumerate(values.get("patterns", [])):
            try:
                regexes.append(re.compile(text))
            except re.error as exc:
                checker.add(node["patterns"].at(index), category, f"patterns: {text!r} is not a valid pattern: {exc}")
        patterns[category] = tuple(regexes)
        if "examples" in values:
            ex_values = checker.record(values["examples"], node.at("examples"), category, _EXAMPLE_SPEC,
                                       f"{category} examples")
            for kind in ("positive", "negative"):
                for index, message in enumerate((ex_values or {}).get(kind, [])):
                    examples.append(Example(category, kind == "positive", message,
                                            values["examples"][kind].at(index)))
        extras.update({k: v for k, v in values.items() if k not in _CATEGORY_SPEC})
    known = checker.value(triage.get("known_words", []), triage.at("known_words"), "", "known_words", "texts")
    if len(checker.problems) > before:
        return None
    return Lexicon(phrases=phrases, patterns=patterns,
                   persons=frozenset(normalize(p) for p in extras.get("persons", [])),
                   temperature_words=frozenset(normalize(p) for p in extras.get("temperature_words", [])),
                   fever_celsius=extras.get("fever_celsius", 38.0),
                   personal_numbers=extras.get("personal_numbers", False),
                   known_words=frozenset(normalize(w) for w in known or []), examples=tuple(examples))


def _phrase_word(word: str) -> str:
    """Return the matching form of one phrase word, keeping a trailing or lone '*'."""
    if word == "*":
        return "*"
    star = word.endswith("*")
    norm = normalize(word.rstrip("*")).replace(" ", "")
    return norm + "*" if star and norm else norm


def with_vocabulary(lexicon: Lexicon, texts: Iterable[str]) -> Lexicon:
    """Return the lexicon knowing the knowledge base's own words, so none is mistaken for a typo."""
    vocabulary = frozenset(w for t in texts for w in normalize(t).split())
    fields_ = {k: v for k, v in lexicon.__dict__.items() if not k.startswith("_") and k != "memo"}
    return Lexicon(**{**fields_, "vocabulary": vocabulary})


MEMO_LIMIT = 50_000


def _matches(token: str, lexicon: Lexicon) -> frozenset[str]:
    """Return the phrase words (as written in the lexicon, "breath*" included) that one message word matches."""
    found = lexicon.memo.get(token)
    if found is not None:
        return found
    hits = {"*"}
    if token in lexicon._exact:
        hits.add(token)
    hits.update(token[:n] + "*" for n in range(1, len(token) + 1) if token[:n] in lexicon._prefixes)
    if (len(token) >= FUZZY_MIN_LETTERS - 1 and token not in lexicon.known_words
            and token not in lexicon.vocabulary):
        for length in (len(token) - 1, len(token), len(token) + 1):
            hits.update(w for w in lexicon._fuzzy.get(length, ())
                        if Levenshtein.distance(token, w, score_cutoff=1) <= 1)
    found = frozenset(hits)
    if len(lexicon.memo) >= MEMO_LIMIT:
        lexicon.memo.clear()
    lexicon.memo[token] = found
    return found


def _find(tokens: list[str], category: str, lexicon: Lexicon) -> list[tuple[Phrase, int]]:
    """Return every (phrase, start) of a category that matches the tokens, each phrase once."""
    index = lexicon._by_first.get(category, {})
    matched = [_matches(t, lexicon) for t in tokens]
    found: dict[str, tuple[Phrase, int]] = {}
    for start, words in enumerate(matched):
        for word in words:
            for phrase in index.get(word, ()):
                if phrase.text in found or start + len(phrase.words) > len(tokens):
                    continue
                if all(w in matched[start + i] for i, w in enumerate(phrase.words)):
                    found[phrase.text] = (phrase, start)
    return list(found.values())


def temperatures(text: str, lexicon: Lexicon) -> list[float]:
    """Return the body temperatures (in °C) written in a text: '38.6', '38,6', '101F', 'temp of 39'."""
    norm = normalize(text)
    tokens = set(norm.split())
    context = bool(tokens & lexicon.temperature_words)
    found = []
    for match in _TEMPERATURE.finditer(norm):
        value, degrees, unit = float(match.group(1)), match.group(2), match.group(3)
        if not (unit or degrees or context):
            continue
        if unit and unit.startswith("f") or (not unit and FAHRENHEIT_RANGE[0] <= value <= FAHRENHEIT_RANGE[1]):
            if FAHRENHEIT_RANGE[0] <= value <= FAHRENHEIT_RANGE[1]:
                found.append(round((value - 32) * 5 / 9, 2))
        elif CELSIUS_RANGE[0] <= value <= CELSIUS_RANGE[1]:
            found.append(value)
    return found


def triage(text: str, lexicon: Lexicon) -> Verdict:
    """Decide whether a message is urgent, asks for personal advice or a person, or is smalltalk, in the safety order."""
    norm = normalize(text)
    tokens = norm.split()
    for category in ("emergency", "crisis"):
        hit = _first(tokens, norm, category, lexicon)
        if hit:
            return Verdict(category, hit)
    temps = temperatures(norm, lexicon)
    fever = [t for t in temps if t >= lexicon.fever_celsius]
    signs = [p.text for p, _ in _find(tokens, "warning", lexicon)]
    signs += [p.pattern for p in lexicon.patterns.get("warning", ()) if p.search(norm)]
    personal = bool(lexicon.persons.intersection(tokens))
    if fever:
        return Verdict("warning", f"temperature {fever[0]:g} °C", tuple(signs), fever[0])
    if signs and personal:
        return Verdict("warning", signs[0], tuple(signs), temps[0] if temps else None)
    hit = _first(tokens, norm, "advice", lexicon)
    number_given = bool(temps) or (personal and bool(_NUMBER.search(norm)))
    if not hit and lexicon.personal_numbers and personal and _NUMBER.search(norm):
        hit = "a number about a person"
    if hit:
        return Verdict("advice", hit, tuple(signs), temps[0] if temps else None, number_given)
    hit = _first(tokens, norm, "contact", lexicon)
    if hit:
        return Verdict("contact", hit, tuple(signs))
    if _is_smalltalk(tokens, lexicon):
        return Verdict("smalltalk", " ".join(tokens), tuple(signs))
    return Verdict(None, "", tuple(signs))


def _first(tokens: list[str], norm: str, category: str, lexicon: Lexicon) -> str:
    found = _find(tokens, category, lexicon)
    if found:
        return found[0][0].text
    pattern = next((p for p in lexicon.patterns.get(category, ()) if p.search(norm)), None)
    return pattern.pattern if pattern else ""


def _is_smalltalk(tokens: list[str], lexicon: Lexicon) -> bool:
    """True when a smalltalk phrase matches and at most one other word carries meaning."""
    found = _find(tokens, "smalltalk", lexicon)
    if not found:
        return False
    covered = set()
    for phrase, start in found:
        covered.update(range(start, start + len(phrase.words)))
    rest = [t for i, t in enumerate(tokens) if i not in covered and t not in ENGLISH_STOP_WORDS]
    return len(rest) <= 1


def example_failures(lexicon: Lexicon) -> list[tuple[Example, Verdict]]:
    """Return the lexicon's own examples that triage gets wrong."""
    failures = []
    for example in lexicon.examples:
        verdict = triage(example.message, lexicon)
        if (verdict.category == example.category) != example.positive:
            failures.append((example, verdict))
    return failures
