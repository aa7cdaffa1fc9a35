"""The triage lexicon: clinician-edited YAML of concepts (phrases, and words found together), a shared default that
a knowledge base's triage.yaml extends, compiled into one index for matching."""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from bot.text import normalize

DEFAULTS = Path(__file__).resolve().parent / "defaults"
DEFAULT_LEXICON = DEFAULTS / "triage.yaml"
DEFAULT_SHOWN = "faqbot default lexicon (bot/defaults/triage.yaml)"
# The word list of the semantic channel's vectors (bot/vectors): a real English word is never read as a typo of a
# trigger word ("fridge" is no "bridge", "noise" no "noose", "wondering" no "wandering").
WORD_LIST = DEFAULTS.parent / "vectors" / "tokenizer.json"

URGENT = ("emergency", "crisis", "warning")
# Reply categories in the order they are checked; a simple phrase category (smalltalk) is one list of phrases.
CATEGORIES = URGENT + ("advice", "contact", "smalltalk")
SIMPLE = ("contact", "smalltalk")
# Categories a file without `extends: default` may leave out (one written before they existed still loads).
OPTIONAL_CATEGORIES = ("contact",)
# Evidence: words that tell whether a named sign is happening now (now), or is asked about in general (question).
EVIDENCE = ("now", "question")
SECTIONS = CATEGORIES + EVIDENCE
TOP_KEYS = ("extends",) + SECTIONS + ("vital_signs", "matching", "safety_net", "known_words")

GAP = "..."           # up to MAX_GAP words of any kind
ANY = "*"             # exactly one word of any kind
NUMBER = "<number>"   # one number ("day <number>": day 3)
MANY = "<many>"       # one number of at least matching: many_at_least ("took <many> tablets": took 30)
YEAR = "<year>"       # a year before this one ("in <year>": in 2023)
FILLER = "<filler>"   # a word of matching: fillers, which may stand between a phrase's words ("dont really want")
START = "^"           # at the start of the message (after any greeting): "^ can" for "hi, can chemo cause..."
END = "$"             # at the end of the message: "need to cut $" for a bare "i need to cut" (not "to cut down")
MAX_GAP = 5
# Words whose typos are not looked for: evidence and smalltalk words are short and common, and a typo of one
# ("bother" for "brother") would only mislead.
NO_TYPOS = ("now", "question", "smalltalk")
# The concept of `now` whose words say when ("since", "tonight"), not who: with a number they are not a person's
# own reading ("2 days before" is no test result).
TIME = "time"

_CATEGORY_KEYS = {"concepts": ("map", False), "phrases": ("list", False), "examples": ("map", False),
                  "remove": ("texts", False)}
_CATEGORY_EXTRA = {"advice": {"personal_numbers": ("bool", False)}}
_CONCEPT_KEYS = {"phrases": ("texts", False), "together": ("list", False), "call_now_only": ("bool", False),
                 "not_a_sign": ("bool", False), "hypothetical": ("bool", False), "weak": ("bool", False),
                 "needs_care": ("bool", False), "care": ("bool", False), "over": ("bool", False),
                 "ahead": ("bool", False), "dated": ("bool", False), "past": ("bool", False),
                 "window": ("number", False),
                 "remove": ("texts", False)}
_FLAGS = ("call_now_only", "not_a_sign", "hypothetical", "weak", "needs_care", "care", "over", "ahead", "dated",
          "past")
# Words read as another ("r seizures common", "can u", "canot", "til"); "couldn't" is read as "can't": a sign is
# the same told in the past ("she couldn't write her name").
_SAME_WORD = {"r": "are", "u": "you", "cnt": "cant", "cannot": "cant", "canot": "cant", "cannt": "cant",
            "carnt": "cant", "couldnt": "cant", "cudnt": "cant", "couldn": "cant",
            # texted "wud", "cud", "shud" ("wud this work for me")
            "wud": "would", "wld": "would", "cud": "could", "shud": "should", "shld": "should",
            # "til", "till" and "untill" are "until" ("scratched myself til it bled")
            "til": "until", "till": "until", "untill": "until", "untl": "until"}
_LONG_RUN = re.compile(r"(.)\1\1+")
_EXAMPLE_KEYS = {"positive": ("texts", False), "negative": ("texts", False), "remove": ("texts", False)}
_VITAL_NUMBERS = ("fever_celsius", "temperature_at_or_below", "heart_rate_at_or_above", "heart_rate_at_or_below",
                  "systolic_at_or_below", "diastolic_at_or_below", "oxygen_at_or_below", "breathing_rate_at_or_above")
_VITAL_WORDS = ("temperature_words", "heart_rate_words", "blood_pressure_words", "systolic_words", "diastolic_words",
                "oxygen_words",
                "breathing_rate_words", "lab_words")
_VITAL_KEYS = {**{k: ("number", False) for k in _VITAL_NUMBERS}, **{k: ("texts", False) for k in _VITAL_WORDS}}
_MATCHING_KEYS = {"together_window": ("number", False), "typo_min_letters": ("number", False),
                  "many_at_least": ("number", False), "fillers": ("texts", False)}
_NET_KEYS = {"threshold": ("number", False), "question_threshold": ("number", False),
             "crisis_threshold": ("number", False), "question_crisis_threshold": ("number", False),
             "min_known": ("number", False), "crisis_alone_threshold": ("number", False),
             "question_crisis_alone_threshold": ("number", False), "warning_crisis_threshold": ("number", False),
             "semantic_threshold": ("number", False), "question_semantic_threshold": ("number", False)}

# The crisis scores' thresholds of the safety net: off (above any score) unless the lexicon sets them.
_CRISIS_KEYS = ("crisis_alone_threshold", "question_crisis_alone_threshold", "warning_crisis_threshold",
                "semantic_threshold", "question_semantic_threshold")

# Third-person forms of first-person words, made by the engine (crisis phrases are written in the first person).
_THIRD = {
    "he": {"myself": ("himself",), "my": ("his",), "me": ("him",), "mine": ("his",), "im": ("hes", "he is"),
           "ive": ("hes", "he has"), "i": ("he",), "am": ("is",)},
    "she": {"myself": ("herself",), "my": ("her",), "me": ("her",), "mine": ("hers",), "im": ("shes", "she is"),
            "ive": ("shes", "she has"), "i": ("she",), "am": ("is",)},
    "they": {"myself": ("themselves", "themself"), "my": ("their",), "me": ("them",), "mine": ("theirs",),
             "im": ("theyre", "they are"), "ive": ("theyve", "they have"), "i": ("they",), "am": ("are",)},
}
_VERB_S = {"am": "is", "have": "has", "do": "does", "dont": "doesnt", "go": "goes", "wish": "wishes",
           "cant": "cant", "can": "can", "will": "will", "wont": "wont", "was": "was", "would": "would",
           "could": "could", "should": "should", "might": "might", "must": "must", "did": "did", "didnt": "didnt",
           "wanna": "wants", "gonna": "gonna", "keep": "keeps", "need": "needs", "want": "wants", "feel": "feels",
           "plan": "plans", "think": "thinks", "hate": "hates", "cut": "cuts", "hurt": "hurts", "take": "takes"}


@dataclass(frozen=True)
class Phrase:
    """One phrase of a concept: the text a clinician wrote, the words it matches, and where it was written."""

    text: str
    words: tuple[str, ...]
    category: str
    concept: str
    where: str = ""
    # (rule number, group number) when the phrase is one group's choice in a `together` rule.
    part: tuple[int, int] | None = None
    anchored: bool = False           # written with a leading ^: only at the start of a message
    final: bool = False              # written with a trailing $: only at the end of a message


@dataclass(frozen=True)
class Together:
    """A rule: one phrase of each group within a few words of each other, in any order."""

    number: int
    category: str
    concept: str
    groups: int
    text: str
    where: str = ""
    window: int | None = None   # the concept's own together window (None: the lexicon's together_window)


@dataclass(frozen=True)
class Concept:
    """One concept of a category, with the flags that change how its phrases count."""

    category: str
    name: str
    call_now_only: bool = False
    # A phrase that holds a sign word but names something else ("one size fits all", "my laptop keeps freezing"):
    # the sign words inside it are no sign, and it adds no call-now line.
    not_a_sign: bool = False
    hypothetical: bool = False
    weak: bool = False
    # (advice) needs_care: the phrases ask for advice only with a word naming someone's care elsewhere in the
    # message ("do i need" + "a visa" is none; "do i need" + "my tablets" is); care: those words.
    needs_care: bool = False
    care: bool = False
    # (question) over: words saying a sign was had in the past and is over ("had a seizure weeks ago, fine since"):
    # the person words before their end, and the time words inside them, do not say it is happening now.
    over: bool = False
    # (question) ahead: words of a treatment still to come ("my husband starts next month, what are the signs of
    # ..."): when every sign is named after them, inside a question, the person words before their end do not say
    # it is happening now.
    ahead: bool = False
    where: str = ""
    # (question) dated: words dating a sign long ago ("my mum had a seizure back in 2023, how common is that"):
    # when every sign is named before their end and a question follows them, they count as `over`.
    dated: bool = False
    # (not_a_sign) past: the words name a sign had long ago ("had a seizure years ago"); "again" after them says it
    # is back ("... and again this morning"), so its sign words count again. Other words that name something else
    # stay no sign whatever follows ("this article is killing me ... whats a t cell again").
    past: bool = False


@dataclass(frozen=True)
class Example:
    """A message the lexicon must (positive) or must not (negative) put in a category; file:line where written."""

    category: str
    positive: bool
    message: str
    line: int
    file: str = ""


@dataclass(frozen=True)
class VitalSigns:
    """The clinic's limits for numbers people type, and the words that say which reading a number is."""

    fever_celsius: float = 38.0
    temperature_at_or_below: float = 35.9
    heart_rate_at_or_above: float = 110.0
    heart_rate_at_or_below: float = 40.0
    systolic_at_or_below: float = 90.0
    diastolic_at_or_below: float = 60.0
    oxygen_at_or_below: float = 92.0
    breathing_rate_at_or_above: float = 25.0
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class Lexicon:
    """The compiled triage lexicon of one knowledge base."""

    phrases: tuple[Phrase, ...]
    togethers: tuple[Together, ...]
    concepts: Mapping[tuple[str, str], Concept]
    vitals: VitalSigns
    known_words: frozenset[str]
    examples: tuple[Example, ...] = ()
    personal_numbers: bool = True
    together_window: int = 5
    typo_min_letters: int = 5
    many_at_least: float = 10.0
    fillers: frozenset[str] = frozenset()
    net_threshold: float = 0.5
    net_question_threshold: float = 0.9
    net_crisis_threshold: float = 0.3
    net_question_crisis_threshold: float = 0.5
    net_min_known: float = 0.6
    net_crisis_alone_threshold: float = math.inf
    net_question_crisis_alone_threshold: float = math.inf
    net_warning_crisis_threshold: float = math.inf
    net_semantic_threshold: float = math.inf
    net_question_semantic_threshold: float = math.inf
    vocabulary: frozenset[str] = frozenset()
    net: Any = None
    # Which lexicon words each message word matches, remembered across messages (bounded; see safety._words_of).
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        words = {w for p in self.phrases for w in p.words if w not in (GAP, ANY, NUMBER, MANY, YEAR)}
        typo_words = {w for p in self.phrases if p.category not in NO_TYPOS for w in p.words}
        # Each phrase under its first word, with the other words a message must hold for it to match at all (a
        # message without them skips the phrase: "my" starts hundreds).
        by_first: dict[str, list[tuple[Phrase, frozenset[str]]]] = {}
        for phrase in self.phrases:
            by_first.setdefault(phrase.words[0], []).append(
                (phrase, frozenset(w for w in phrase.words[1:] if w not in (GAP, ANY))))
        exact = frozenset(w for w in words if not w.endswith("*"))
        stems = frozenset(w[:-1] for w in words if w.endswith("*"))
        fuzzy: dict[int, list[str]] = {}
        for word in exact & typo_words:
            if len(word) >= self.typo_min_letters - 1 and word.isalpha():
                fuzzy.setdefault(len(word), []).append(word)
        object.__setattr__(self, "_by_first", {k: tuple(v) for k, v in by_first.items()})
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_stems", stems)
        object.__setattr__(self, "_fuzzy", {k: tuple(sorted(v)) for k, v in fuzzy.items()})
        object.__setattr__(self, "_fuzzy_stems", tuple(sorted(s for s in stems if len(s) >= 6 and s.isalpha()
                                                                    and s + "*" in typo_words)))
        # Pairs of words the phrases write apart ("heart beat"): such a pair is never joined into one word.
        object.__setattr__(self, "_pairs", frozenset(pair for p in self.phrases for pair in zip(p.words, p.words[1:])))
        single = {p.words[0] for p in self.phrases if p.category == "smalltalk" and len(p.words) == 1}
        object.__setattr__(self, "_openers", frozenset(single))
        object.__setattr__(self, "_rules", {t.number: t for t in self.togethers})

    def __repr__(self) -> str:
        return (f"Lexicon({len(self.concepts)} concepts, {len(self.phrases)} phrases, {len(self.togethers)} together "
                f"rules, {len(self.examples)} examples, net={'yes' if self.net is not None else 'no'})")

    def replace(self, **changes: Any) -> "Lexicon":
        """Return a copy with some fields changed (and a fresh memo)."""
        values = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k != "memo"}
        return Lexicon(**{**values, **changes})

    def concept_phrases(self, category: str, name: str) -> list[str]:
        """Return the phrases of one concept as written (for explanations and the safety net)."""
        return list(dict.fromkeys(p.text for p in self.phrases if p.category == category and p.concept == name))


# --- reading one file into a plain structure -------------------------------------------------------------------

@dataclass
class _RawConcept:
    phrases: dict[str, str] = field(default_factory=dict)          # text -> where
    together: list[tuple[list[list[str]], str]] = field(default_factory=list)
    call_now_only: bool = False
    not_a_sign: bool = False
    hypothetical: bool = False
    weak: bool = False
    needs_care: bool = False
    care: bool = False
    over: bool = False
    ahead: bool = False
    dated: bool = False
    past: bool = False
    window: int | None = None
    where: str = ""


@dataclass
class _Raw:
    concepts: dict[str, dict[str, _RawConcept]] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)
    known_words: set[str] = field(default_factory=set)
    vitals: dict[str, Any] = field(default_factory=dict)
    matching: dict[str, Any] = field(default_factory=dict)
    net: dict[str, Any] = field(default_factory=dict)
    personal_numbers: bool | None = None


def _where(checker: Any, line: int) -> str:
    return f"{checker.shown}:{line}"


def _check_phrase(text: str) -> str:
    """Return what is wrong with a phrase, or ''."""
    words = _phrase_words(text)
    if words in ((NUMBER,), (MANY,), (YEAR,)):  # a number alone, as one list of a together rule
        return ""
    if not any(w not in (GAP, ANY, NUMBER, MANY, YEAR, START, END) for w in words):
        return "has no words to match"
    if words[0] in (GAP, ANY) or (words[0] == START and (len(words) < 2 or words[1] in (GAP, ANY, START))):
        return f"may not start with {words[0]!r}"
    if START in words[1:]:
        return f"may have {START!r} only at its start"
    if END in words[:-1]:
        return f"may have {END!r} only at its end"
    if words[-1] == GAP or words[-2:] == (GAP, END):
        return f"may not end with {GAP!r}"
    return ""


def _phrase_word(word: str) -> str:
    if word in (GAP, ANY, NUMBER, MANY, YEAR, START, END):
        return word
    star = word.endswith("*")
    norm = normalize(word.rstrip("*")).replace(" ", "")
    return norm + "*" if star and norm else norm


def join_split_words(words: list[str]) -> list[str]:
    """Return words with the split, long, texted and past forms of a word made one: "can not", "cannot", "cnt" and
    "couldnt" are "cant"; "r" is "are", "u" is "you"."""
    out: list[str] = []
    for word in words:
        if word == "not" and out and out[-1] == "can":
            out[-1] = "cant"
        else:
            out.append(_SAME_WORD.get(word, word))
    return out


def squeezed(word: str) -> list[str]:
    """Return the forms of a word typed with a letter held down ("hiii", "sooo", "helppp"): the run as one letter,
    and as two; [] when no letter is repeated three times."""
    if not _LONG_RUN.search(word):
        return []
    return list(dict.fromkeys((_LONG_RUN.sub(r"\1", word), _LONG_RUN.sub(r"\1\1", word))))


@functools.cache
def english_words() -> frozenset[str]:
    """Return the whole English words of the shipped word list (read once; empty when it is missing)."""
    try:
        vocab = json.loads(WORD_LIST.read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, ValueError, KeyError, TypeError):
        vocab = {}
    return frozenset(w for w in vocab if w.isalpha() and w.isascii() and len(w) >= 4)


def _phrase_words(text: str) -> tuple[str, ...]:
    """Return the matching form of a phrase's words, keeping '*', 'word*', '#' and '...'."""
    spaced = text.replace(GAP, f" {GAP} ")
    return tuple(join_split_words([w for w in (_phrase_word(w) for w in spaced.split()) if w]))


def _read_texts(checker: Any, node: Any, key: str, line: int, owner: str) -> list[tuple[str, int]]:
    values = checker.value(node, line, owner, key, "texts")
    if values is None:
        return []
    out = []
    lines = getattr(node, "lines", [])
    index = 0
    for item_index, item in enumerate(node):
        if isinstance(item, str) and item.strip():
            out.append((values[index], lines[item_index] if item_index < len(lines) else line))
            index += 1
    return out


def _read_concept(checker: Any, node: Any, line: int, owner: str, concept: _RawConcept, *,
                  extending: bool) -> None:
    """Read one concept (a list of phrases, or a mapping) into concept, reporting problems."""
    if isinstance(node, list):
        node = {"phrases": node}
        phrases_node, phrases_line = node["phrases"], line
    elif isinstance(node, dict):
        phrases_node, phrases_line = node.get("phrases"), node.at("phrases") if hasattr(node, "at") else line
    else:
        checker.add(line, owner, "a concept must be a list of phrases, or a mapping with phrases: and together:")
        return
    for key in node:
        if key not in _CONCEPT_KEYS:
            checker.add(node.at(key) if hasattr(node, "at") else line, owner,
                        f"unknown key {key!r} in a concept; expected one of: {', '.join(_CONCEPT_KEYS)}")
    if phrases_node is not None:
        for text, pline in _read_texts(checker, phrases_node, "phrases", phrases_line, owner):
            problem = _check_phrase(text)
            if problem:
                checker.add(pline, owner, f"phrases: {text!r} {problem}")
            else:
                concept.phrases[text] = _where(checker, pline)
    if node.get("remove") is not None:
        if not extending:
            checker.add(node.at("remove"), owner, "remove: only a file that extends the default can remove phrases")
        for text, rline in _read_texts(checker, node["remove"], "remove", node.at("remove"), owner):
            if text not in concept.phrases:
                checker.add(rline, owner, f"remove: {text!r} is not a phrase of this concept")
            concept.phrases.pop(text, None)
    for flag in _FLAGS:
        if node.get(flag) is not None:
            value = checker.value(node[flag], node.at(flag), owner, flag, "bool")
            if value is not None:
                setattr(concept, flag, value)
    if node.get("window") is not None:
        value = checker.value(node["window"], node.at("window"), owner, "window", "number")
        if value is not None:
            if value < 0 or value != int(value):
                checker.add(node.at("window"), owner, f"window: expected a whole number of words, 0 or more, "
                                                      f"not {value!r}")
            else:
                concept.window = int(value)
    rules = node.get("together")
    if rules is None:
        return
    rules_line = node.at("together")
    if not isinstance(rules, list):
        checker.add(rules_line, owner, "together: expected a list of rules, each a list of word lists")
        return
    for r_index, rule in enumerate(rules):
        r_line = rules.at(r_index)
        if not isinstance(rule, list) or len(rule) < 2 or not all(isinstance(g, list) and g for g in rule):
            checker.add(r_line, owner, "together: each rule is a list of two or more word lists, "
                                       "like [[lips, tongue], [swollen, puffy]]")
            continue
        groups = []
        for g_index, group in enumerate(rule):
            texts = [t for t, _ in _read_texts(checker, group, f"together rule {r_index + 1}", r_line, owner)]
            good = []
            for text in texts:
                problem = _check_phrase(text)
                if problem:
                    checker.add(r_line, owner, f"together: {text!r} {problem}")
                else:
                    good.append(text)
            if good:
                groups.append(good)
        if len(groups) == len(rule):
            concept.together.append((groups, _where(checker, r_line)))


def _read_file(data: Mapping[str, Any], checker: Any, raw: _Raw, *, extending: bool) -> None:
    """Read one triage file's mapping into raw (adding to or removing from what is there)."""
    for key in data:
        if key not in TOP_KEYS:
            hint = ""
            if key in ("persons", "fever_celsius", "temperature_words", "patterns"):
                hint = " (this older key has moved: see the comment at the top of the default lexicon)"
            checker.add(data.at(key), "", f"unknown section {key!r}; expected one of: {', '.join(TOP_KEYS)}{hint}")
    for section in SECTIONS:
        node = data.get(section)
        if node is None:
            continue
        spec = dict(_CATEGORY_KEYS, **_CATEGORY_EXTRA.get(section, {}))
        if section in SIMPLE:
            spec.pop("concepts")
        values = checker.record(node, data.at(section), section, spec, f"section {section}")
        if values is None:
            continue
        concepts = raw.concepts.setdefault(section, {})
        for name in values.get("remove", []):
            if name not in concepts:
                checker.add(node.at("remove"), section, f"remove: there is no concept {name!r} to remove")
            elif not extending:
                checker.add(node.at("remove"), section, "remove: only a file that extends the default can remove")
            concepts.pop(name, None)
        if "phrases" in node and node["phrases"] is not None:
            own = concepts.setdefault(section, _RawConcept(where=_where(checker, node.at("phrases"))))
            _read_concept(checker, node["phrases"], node.at("phrases"), section, own, extending=extending)
        for name, c_node in (values.get("concepts") or {}).items():
            owner = f"{section}/{name}"
            line = values["concepts"].at(name)
            concept = concepts.get(name)
            if concept is None:
                concept = concepts[name] = _RawConcept(where=_where(checker, line))
            _read_concept(checker, c_node, line, owner, concept, extending=extending)
        if "examples" in values:
            ex = checker.record(values["examples"], node.at("examples"), section, _EXAMPLE_KEYS,
                                f"{section} examples")
            for kind in ("positive", "negative"):
                for message, line in _read_texts(checker, values["examples"].get(kind) or [], kind,
                                                 values["examples"].at(kind), section) if ex and kind in ex else []:
                    raw.examples.append(Example(section, kind == "positive", message, line, checker.shown))
            # A clinic that removes words may also remove the default's examples that needed them.
            for message in (ex or {}).get("remove", []):
                kept = [e for e in raw.examples if not (e.category == section and e.message == message)]
                if len(kept) == len(raw.examples) or not extending:
                    checker.add(values["examples"].at("remove"), section,
                                f"examples: remove: {message!r} is not an example of {section} in the default")
                raw.examples = kept
        if "personal_numbers" in values:
            raw.personal_numbers = values["personal_numbers"]
    if data.get("known_words") is not None:
        raw.known_words.update(normalize(w) for w, _ in _read_texts(
            checker, data["known_words"], "known_words", data.at("known_words"), "known_words"))
    for key, spec, target in (("vital_signs", _VITAL_KEYS, raw.vitals), ("matching", _MATCHING_KEYS, raw.matching),
                              ("safety_net", _NET_KEYS, raw.net)):
        if data.get(key) is not None:
            values = checker.record(data[key], data.at(key), key, spec, key)
            for name, value in (values or {}).items():
                if isinstance(value, float) and value < 0:
                    checker.add(data[key].at(name), key, f"{name}: must not be negative")
                    continue
                if key == "safety_net" and not 0.0 <= value <= 1.0:
                    checker.add(data[key].at(name), key, f"{name}: must be between 0 and 1")
                    continue
                target[name] = value


# --- building the index ----------------------------------------------------------------------------------------

def third_person(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Return the he/she/they forms of a first-person phrase ("i want to end my life" -> "he wants to end his life")."""
    forms = []
    if words and words[0] in _VERB_S:  # a phrase without its subject: "want to die" -> "wants to die"
        forms.append((_VERB_S[words[0]],) + words[1:])
    if any(w in _THIRD["he"] for w in words):
        for pronoun, table in _THIRD.items():
            for pick in (0, -1):  # "hes" and "he is"
                out: list[str] = []
                after_i = False
                for word in words:
                    if after_i and pronoun != "they":
                        out.extend(_VERB_S.get(word, word if word.endswith(("*", "s")) else word + "s").split())
                    else:
                        out.extend(table.get(word, (word,))[pick].split())
                    after_i = word == "i"
                forms.append(tuple(out))
    return [f for f in dict.fromkeys(forms) if f != words]


def _build(raw: _Raw, checker: Any) -> Lexicon:
    phrases: list[Phrase] = []
    togethers: list[Together] = []
    concepts: dict[tuple[str, str], Concept] = {}

    def add(text: str, category: str, name: str, where: str, part: tuple[int, int] | None = None) -> None:
        words = _phrase_words(text)
        anchored = words[0] == START
        words = words[1:] if anchored else words
        final = words[-1] == END
        words = words[:-1] if final else words
        forms = [words] + (third_person(words) if category == "crisis" else [])
        for form in forms:
            phrases.append(Phrase(text, form, category, name, where, part, anchored, final))

    for category, named in raw.concepts.items():
        for name, concept in named.items():
            concepts[(category, name)] = Concept(category, name, concept.call_now_only, concept.not_a_sign,
                                                 concept.hypothetical, concept.weak, concept.needs_care,
                                                 concept.care, concept.over, concept.ahead,
                                                 concept.where, dated=concept.dated, past=concept.past)
            for text, where in concept.phrases.items():
                add(text, category, name, where)
            for groups, where in concept.together:
                number = len(togethers)
                shown = " + ".join("(" + " | ".join(g) + ")" for g in groups)
                togethers.append(Together(number, category, name, len(groups), shown, where, concept.window))
                for g_index, group in enumerate(groups):
                    for text in group:
                        add(text, category, name, where, (number, g_index))
    vitals = VitalSigns(**{k: float(raw.vitals[k]) for k in _VITAL_NUMBERS if k in raw.vitals},
                        words={k: tuple(normalize(w) for w in raw.vitals.get(k, ())) for k in _VITAL_WORDS})
    return Lexicon(phrases=tuple(phrases), togethers=tuple(togethers), concepts=concepts, vitals=vitals,
                   known_words=frozenset(raw.known_words), examples=tuple(raw.examples),
                   personal_numbers=True if raw.personal_numbers is None else raw.personal_numbers,
                   together_window=int(raw.matching.get("together_window", 5)),
                   typo_min_letters=int(raw.matching.get("typo_min_letters", 5)),
                   many_at_least=float(raw.matching.get("many_at_least", 10)),
                   fillers=frozenset(normalize(w) for w in raw.matching.get("fillers", ())),
                   net_threshold=float(raw.net.get("threshold", 0.5)),
                   net_question_threshold=float(raw.net.get("question_threshold", 0.9)),
                   net_crisis_threshold=float(raw.net.get("crisis_threshold", 0.3)),
                   net_question_crisis_threshold=float(raw.net.get("question_crisis_threshold", 0.5)),
                   net_min_known=float(raw.net.get("min_known", 0.6)),
                   **{f"net_{key}": float(raw.net[key]) for key in _CRISIS_KEYS if key in raw.net})


_DEFAULT_CACHE: dict[bytes, Any] = {}


def _default_data(problems: list) -> Any:
    """Return the parsed default lexicon (parsed once per content)."""
    from bot.knowledge import read_yaml
    try:
        content = DEFAULT_LEXICON.read_bytes()
    except OSError as exc:
        from bot.knowledge import Problem
        problems.append(Problem(DEFAULT_SHOWN, 0, "", f"cannot read the default lexicon: {exc}"))
        return None
    if content not in _DEFAULT_CACHE:
        _DEFAULT_CACHE.clear()
        own: list = []
        _DEFAULT_CACHE[content] = (read_yaml(DEFAULT_LEXICON, DEFAULT_SHOWN, own), own)
    data, own = _DEFAULT_CACHE[content]
    problems.extend(own)
    return data


def compile_lexicon(triage: Mapping[str, Any] | None, checker: Any) -> Lexicon | None:
    """Compile a knowledge base's triage.yaml (extending the default, or the default alone when there is none)
    into a Lexicon, reporting problems to checker; None when it has errors."""
    from bot.knowledge import make_checker
    before = len(checker.problems)
    raw = _Raw()
    extends = "default" if not triage else triage.get("extends")
    if extends is not None and extends != "default":
        checker.add(triage.at("extends"), "extends", f"extends: {extends!r} is not known; write `extends: default`")
        return None
    if extends == "default":
        data = _default_data(checker.problems)
        if isinstance(data, dict):
            _read_file(data, make_checker(DEFAULT_SHOWN, checker.problems), raw, extending=False)
    if triage:
        _read_file(triage, checker, raw, extending=extends == "default")
        if extends is None:
            for category in CATEGORIES:
                if not raw.concepts.get(category) and category not in OPTIONAL_CATEGORIES:
                    checker.add(getattr(triage, "line", 1), category,
                                f"{category}: missing (a file without `extends: default` must define every "
                                f"category: {', '.join(CATEGORIES)})")
    if len(checker.problems) > before:
        return None
    return _build(raw, checker)


def with_vocabulary(lexicon: Lexicon, texts: Iterable[str]) -> Lexicon:
    """Return the lexicon knowing the knowledge base's own words, so none is mistaken for a typo."""
    return lexicon.replace(vocabulary=frozenset(w for t in texts for w in normalize(t).split()))

