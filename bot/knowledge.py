"""Load and validate the knowledge base: YAML that clinic staff edit, into typed, frozen records."""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from bot.hints import did_you_mean, plain_yaml_error
from bot.policy import DEFAULT_POLICY, Policy, compile_policy, quoted_in
from bot.quotes import NEAREST_RATIO, differences, locate, nearest
from bot.text import collapse_space, normalize

MAX_FILE_BYTES = 2_000_000
MIN_ALTERNATES = 4
REQUIRED_FILES = ("sources.yaml", "entries.yaml", "locales.yaml")
# Without its own triage.yaml a knowledge base uses faqbot's default lexicon (bot/defaults/triage.yaml).
OPTIONAL_FILES = ("triage.yaml", "synonyms.yaml", "regression.yaml", "conversations.yaml", "settings.yaml",
                  "policy.yaml", "outside.yaml")
MIN_TURNS = 2
REPLY_TYPES = ("answer", "clarify", "fallback", "urgent", "advice", "smalltalk")
ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")

@dataclass(frozen=True)
class Problem:
    """One thing wrong in the knowledge base, located for the person who has to fix it."""

    file: str
    line: int
    entry_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.entry_id or '-'}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base has problems; each names file, line, entry id and what is wrong."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    author: str
    reviewer: str
    reviewed_on: str
    reference: str
    url: str
    sections: tuple[Section, ...]

    def section(self, heading: str) -> Section | None:
        """Return the section with this heading, or None."""
        return next((s for s in self.sections if s.heading == heading), None)


@dataclass(frozen=True)
class Quote:
    source: str
    section: str
    text: str


@dataclass(frozen=True)
class Entry:
    id: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    quotes: tuple[Quote, ...]
    related: tuple[str, ...] = ()
    reviewed_dosing: bool = False
    line: int = 0


@dataclass(frozen=True)
class Case:
    """One regression question with the reply type (and entry) it must get."""

    message: str
    type: str
    entry: str | None
    line: int


# When settings.yaml is absent (or leaves a value out): confidences are calibrated probabilities that a question is
# one the knowledge base answers (bot/retrieval.py), so these mean much the same on any knowledge base; `run.py eval
# --tune` picks a knowledge base's own on its regression questions.
DEFAULT_FALLBACK_BELOW = 0.5
DEFAULT_CLARIFY_MARGIN = 0.05


@dataclass(frozen=True)
class Thresholds:
    """A knowledge base's reply thresholds (settings.yaml, `retrieval:`)."""

    fallback_below: float = DEFAULT_FALLBACK_BELOW  # a first entry under this confidence: the fallback
    clarify_margin: float = DEFAULT_CLARIFY_MARGIN  # a second entry this close to the first: ask which one
    line: int = 0  # where settings.yaml sets them (0: defaults)
    # The knowledge base's own confidence model (`calibration:`, written by `run.py eval --tune`): (input name,
    # weight) pairs, "bias" among them; empty: the shared confidence (bot/retrieval.py).
    calibration: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Dialogue:
    """One short conversation of the multi-turn regression file: its turns, in order."""

    turns: tuple[Case, ...]
    line: int


@dataclass(frozen=True)
class Knowledge:
    """A whole, validated knowledge base."""

    directory: Path
    sources: Mapping[str, Source]
    entries: tuple[Entry, ...]
    synonyms: tuple[tuple[str, ...], ...]
    triage: Mapping[str, Any]
    locales: Mapping[str, Any]
    regression: tuple[Case, ...]
    version: str
    loaded_at: str
    files: Mapping[str, str] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    dialogues: tuple[Dialogue, ...] = ()
    policy: Policy | None = None
    # Questions this knowledge base knows it does not answer (outside.yaml): they compete with the entries'
    # phrasings in its own calibration, so a question nearer one of them than to any entry leans to the fallback.
    outside: tuple[str, ...] = ()

    def entry(self, entry_id: str) -> Entry | None:
        """Return the entry with this id, or None."""
        return next((e for e in self.entries if e.id == entry_id), None)


# --- YAML with line numbers -------------------------------------------------------------------------------

class _Map(dict):
    """A YAML mapping that remembers the line of each key."""

    line = 0
    lines: dict

    def at(self, key: str) -> int:
        return self.lines.get(key, self.line)


class _List(list):
    """A YAML sequence that remembers the line of each item."""

    line = 0
    lines: list

    def at(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps line numbers, refuses aliases (no 'billion laughs') and duplicate keys."""

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(None, None, "aliases (*name) are not allowed in knowledge files",
                                       event.start_mark)
        return super().compose_node(parent, index)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise yaml.MarkedYAMLError(None, None, f"the key {key!r} appears twice", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> _List:
    result = _List(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)

if getattr(yaml, "__with_libyaml__", False):
    class _FastLoader(yaml.CSafeLoader):
        """The same loader on libyaml's C parser (several times faster); aliases are refused before it runs."""

    _FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
    _FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)
else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = None


def _parse(text: str) -> Any:
    """Parse YAML text with line numbers, refusing aliases; raise yaml.YAMLError when it is not valid."""
    if _FastLoader is None:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(None, None, "aliases (*name) are not allowed in knowledge files",
                                       event.start_mark)
    return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader


def parse_yaml(text: str) -> Any:
    """Parse knowledge YAML text with line numbers (as the loader does); raise yaml.YAMLError when invalid."""
    return _parse(text)


def read_yaml(path: Path, shown: str, problems: list[Problem]) -> Any:
    """Parse one YAML file; report (not raise) what stops it being read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(shown, 0, "", f"cannot read the file: {exc.strerror or exc}"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.append(Problem(shown, 0, "", f"the file is {len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(shown, line, "", "the file is not UTF-8 text; save it as UTF-8"))
        return None
    if "\x00" in text:
        problems.append(Problem(shown, text[: text.index("\x00")].count("\n") + 1, "", "the file holds binary data"))
        return None
    if not text.strip():
        problems.append(Problem(shown, 1, "", "the file is empty"))
        return None
    try:
        return _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        lines = text.splitlines()
        bad_line = lines[line - 1] if 0 < line <= len(lines) else ""
        first = exc.context_mark.line + 1 if exc.context_mark else line
        above = [(n, lines[n - 1]) for n in range(max(1, first), min(line, len(lines)) + 1)]
        problems.append(Problem(shown, line, "", f"YAML syntax: {plain_yaml_error(what, bad_line, above)}"))
    except yaml.YAMLError as exc:
        problems.append(Problem(shown, 0, "", f"YAML syntax: {exc}"))
    return None


# --- field checks ------------------------------------------------------------------------------------------

_KIND_NAMES = {str: "text", list: "a list", dict: "a mapping", bool: "true or false", float: "a number",
               int: "a number", type(None): "nothing"}


def _kind(value: Any) -> str:
    return _KIND_NAMES.get(type(value), type(value).__name__).replace("_Map", "a mapping").replace("_List", "a list")


_SIMPLE_KINDS = {
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number", float),
    "bool": (lambda v: isinstance(v, bool), "true or false", lambda v: v),
    "map": (lambda v: isinstance(v, dict), "a mapping", lambda v: v),
    "list": (lambda v: isinstance(v, list), "a list", lambda v: v),
}


class _Checker:
    """Collects problems for one file while reading its records."""

    def __init__(self, shown: str, problems: list[Problem]):
        self.shown = shown
        self.problems = problems

    def add(self, line: int, entry_id: str, message: str) -> None:
        self.problems.append(Problem(self.shown, line, entry_id, message))

    def record(self, node: Any, line: int, entry_id: str, spec: Mapping[str, tuple[str, bool]],
               what: str) -> dict[str, Any] | None:
        """Check a mapping against spec {key: (kind, required)}; return the good values."""
        if not isinstance(node, dict):
            self.add(line, entry_id, f"{what} must be a mapping of keys to values, found {_kind(node)}")
            return None
        values: dict[str, Any] = {}
        for key in node:
            if key not in spec:
                self.add(node.at(key), entry_id, f"unknown key {key!r} in {what}{did_you_mean(key, spec)}; "
                                                 f"expected one of: {', '.join(spec)}")
        for key, (kind, required) in spec.items():
            if key not in node or node[key] is None or (not required and node[key] == ""):
                if required:
                    self.add(node.line, entry_id, f"{key}: missing (required in {what})")
                continue
            value = self.value(node[key], node.at(key), entry_id, key, kind)
            if value is not None:
                values[key] = value
        return values

    def value(self, value: Any, line: int, entry_id: str, key: str, kind: str) -> Any:
        if kind == "text":
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                self.add(line, entry_id, f"{key}: expected text, found {_kind(value)}")
                return None
            text = collapse_space(str(value)) if not isinstance(value, str) else value.strip()
            if not text:
                self.add(line, entry_id, f"{key}: must not be empty")
                return None
            return text
        if kind == "texts":
            if not isinstance(value, list):
                self.add(line, entry_id, f"{key}: expected a list of texts, found {_kind(value)}")
                return None
            items = []
            for index, item in enumerate(value):
                if not isinstance(item, str) or not item.strip():
                    shown = "an empty text" if isinstance(item, str) else _kind(item)
                    self.add(value.at(index), entry_id,
                             f"{key}: item {index + 1} must be text, found {shown} (put it in quotes)")
                    continue
                items.append(item.strip())
            return items
        accepts, description, convert = _SIMPLE_KINDS[kind]
        if not accepts(value):
            self.add(line, entry_id, f"{key}: expected {description}, found {_kind(value)}")
            return None
        return convert(value)


def _top(data: Any, checker: _Checker, key: str) -> list | dict | None:
    """Return the top-level key of a file, reporting a missing or mistyped one."""
    if data is None:
        return None
    if not isinstance(data, dict) or key not in data:
        checker.add(getattr(data, "line", 1), "", f"the file must start with '{key}:'")
        return None
    return data[key]


# --- the files -----------------------------------------------------------------------------------------------

_SOURCE_SPEC = {"id": ("text", True), "title": ("text", True), "author": ("text", False),
                "reviewer": ("text", False), "reviewed_on": ("text", False), "reference": ("text", False),
                "url": ("text", False), "reference_url": ("text", False), "sections": ("list", True)}
_SECTION_SPEC = {"heading": ("text", True), "text": ("text", True)}
_ENTRY_SPEC = {"id": ("text", True), "question": ("text", True), "alternates": ("texts", True),
               "answer": ("text", True), "quotes": ("list", True), "related": ("texts", False),
               "source": ("text", False), "reviewed_dosing": ("bool", False)}
_QUOTE_SPEC = {"section": ("text", True), "text": ("text", True), "source": ("text", False)}
_CASE_SPEC = {"message": ("text", True), "type": ("text", True), "entry": ("text", False)}


def _load_sources(data: Any, checker: _Checker) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    items = _top(data, checker, "sources")
    if items is None:
        return sources
    if not isinstance(items, list) or not items:
        checker.add(data.at("sources"), "", "sources: must be a list with at least one source document")
        return sources
    for index, node in enumerate(items):
        line = items.at(index)
        sid = node.get("id") if isinstance(node, dict) and isinstance(node.get("id"), str) else f"source {index + 1}"
        values = checker.record(node, line, sid, _SOURCE_SPEC, "a source")
        if values is None or "id" not in values:
            continue
        url = values.get("url") or values.get("reference_url")
        if not url or not re.match(r"^https?://\S+$", url):
            checker.add(node.line, sid, "url or reference_url: needs a web address starting https://")
        sections = []
        for s_index, s_node in enumerate(values.get("sections") or []):
            s_values = checker.record(s_node, values["sections"].at(s_index), sid, _SECTION_SPEC, "a section")
            if s_values and len(s_values) == 2:
                if any(s.heading == s_values["heading"] for s in sections):
                    checker.add(s_node.at("heading"), sid, f"sections: heading {s_values['heading']!r} appears twice")
                sections.append(Section(s_values["heading"], s_values["text"]))
        if not sections:
            checker.add(node.line, sid, "sections: the source needs at least one section with text")
        if sid in sources:
            checker.add(line, sid, "id: another source already has this id")
        sources[sid] = Source(sid, values["title"], values.get("author", ""), values.get("reviewer", ""),
                              values.get("reviewed_on", ""), values.get("reference", ""), url or "",
                              tuple(sections))
    return sources


def find_quote(source: Source, heading: str, quote: str) -> str | None:
    """Return the source's own words for a quote in one section (whitespace, quote marks, dashes and ellipses
    aside), or None."""
    section = source.section(heading)
    return locate(section.text, quote) if section is not None else None


def quote_not_found(source: Source, heading: str, quote: str) -> str:
    """Say why a quote is not in its section: the section it is in, or the nearest passage and what differs."""
    for other in source.sections:
        if other.heading != heading and locate(other.text, quote):
            return (f"quotes: not in section {heading!r}, but found word for word in section {other.heading!r}: "
                    f"change section: to {other.heading!r}")
    close = nearest(source.section(heading).text, quote)
    if close is None or close[1] < NEAREST_RATIO:
        return (f"quotes: not found word for word in section {heading!r}, and no passage there is close: copy the "
                f"words from that section of {source.id} again: {quote[:80]!r}")
    passage = close[0]
    changes = "; ".join(differences(quote, passage)) or "only letter case or punctuation"
    return (f"quotes: not found word for word in section {heading!r}. The nearest passage is {passage!r}. "
            f"What differs: {changes}")


def _load_entries(data: Any, checker: _Checker, sources: Mapping[str, Source],
                  policy: Policy | None) -> tuple[list[Entry], set[str]]:
    """Read the entries; return the valid ones and every id declared (so one bad entry causes one problem)."""
    entries: list[Entry] = []
    items = _top(data, checker, "entries")
    if data is None or not isinstance(data, dict) or "entries" not in data:
        return entries, set()
    if not isinstance(items, list) or not items:
        checker.add(data.at("entries"), "", "entries: the list is empty: add at least one entry under entries: "
                                           "(each starting '  - id: ...'; see the worked example in README.md)")
        return entries, set()
    seen_ids: dict[str, int] = {}
    phrasing_owner: dict[str, str] = {}
    related_refs: list[tuple[int, str, str]] = []
    default_source = next(iter(sources)) if len(sources) == 1 else None
    quoted = quoted_in(s.text for src in sources.values() for s in src.sections)
    for index, node in enumerate(items):
        line = items.at(index)
        raw_id = node.get("id") if isinstance(node, dict) else None
        eid = raw_id if isinstance(raw_id, str) and raw_id.strip() else f"entry {index + 1}"
        values = checker.record(node, line, eid, _ENTRY_SPEC, "an entry")
        if values is None:
            continue
        if "id" in values:
            if not ENTRY_ID.match(values["id"]):
                checker.add(node.at("id"), eid, "id: use lowercase letters, digits and hyphens only")
            if values["id"] in seen_ids:
                checker.add(node.at("id"), eid, f"id: already used by the entry at line {seen_ids[values['id']]}")
            seen_ids.setdefault(values["id"], line)
        alternates = values.get("alternates", [])
        if "alternates" in values and len(alternates) < MIN_ALTERNATES:
            checker.add(node.at("alternates"), eid,
                        f"alternates: needs at least {MIN_ALTERNATES} phrasings, found {len(alternates)}")
        for key, phrasing, pline in [("question", values.get("question"), node.at("question"))] + [
                ("alternates", alt, node["alternates"].at(i)) for i, alt in enumerate(alternates)]:
            if not phrasing:
                continue
            key_text = normalize(phrasing)
            owner = phrasing_owner.get(key_text)
            if owner is not None and owner != eid:
                checker.add(pline, eid, f"{key}: {phrasing!r} is also a question of entry {owner}")
            phrasing_owner.setdefault(key_text, eid)
        reviewed = values.get("reviewed_dosing", False)
        if "answer" in values and policy is not None:  # a broken policy file reports itself; answers wait for it
            answer_line = node.at("answer")
            for claim in policy.banned(values["answer"], quoted):
                checker.add(answer_line, eid, f"answer: banned claim: {claim} (see policy.yaml; a negation such as "
                                              f"'is not a cure', or the source's own sentence, is allowed)")
            dose = policy.dose(values["answer"]) if not reviewed else ""
            if dose:
                checker.add(answer_line, eid, f"answer: a dosing amount ({dose!r}): mark the entry "
                                              f"reviewed_dosing: true once a clinician has checked it")
            for problem in policy.too_long(values["answer"]):
                checker.add(answer_line, eid, f"answer: {problem}")
        quotes = []
        quote_nodes = values.get("quotes", [])
        if "quotes" in values and not quote_nodes:
            checker.add(node.at("quotes"), eid, "quotes: needs at least one quote from the source")
        entry_source = values.get("source", default_source)
        for q_index, q_node in enumerate(quote_nodes):
            q_line = quote_nodes.at(q_index)
            q_values = checker.record(q_node, q_line, eid, _QUOTE_SPEC, "a quote")
            if not q_values or "section" not in q_values or "text" not in q_values:
                continue
            sid = q_values.get("source", entry_source)
            if not sources:
                continue  # sources.yaml did not load: its own problems say why; quotes wait for it
            source = sources.get(sid) if sid else None
            if source is None:
                checker.add(q_line, eid, "quotes: say which source it comes from (source: ID)" if sid is None
                            else f"quotes: unknown source {sid!r}{did_you_mean(sid, sources)}")
                continue
            if source.section(q_values["section"]) is None:
                headings = [s.heading for s in source.sections]
                checker.add(q_node.at("section"), eid,
                            f"quotes: no section {q_values['section']!r} in source {sid}"
                            f"{did_you_mean(q_values['section'], headings)} (sections: {'; '.join(headings)})")
                continue
            found = find_quote(source, q_values["section"], q_values["text"])
            if found is None:
                checker.add(q_node.at("text"), eid, quote_not_found(source, q_values["section"], q_values["text"]))
                continue
            quotes.append(Quote(sid, q_values["section"], found))
        for r_index, rid in enumerate(values.get("related", [])):
            related_refs.append((node["related"].at(r_index), eid, rid))
        required = ("id", "question", "answer")
        if all(k in values for k in required) and quotes and len(quotes) == len(quote_nodes):
            entries.append(Entry(values["id"], values["question"], tuple(alternates), values["answer"],
                                 tuple(quotes), tuple(values.get("related", [])), reviewed, line))
    for r_line, eid, rid in related_refs:
        if rid not in seen_ids:
            checker.add(r_line, eid, f"related: no entry has the id {rid!r}{did_you_mean(rid, seen_ids)}")
        elif rid == eid:
            checker.add(r_line, eid, "related: an entry cannot be related to itself")
    return entries, set(seen_ids) | {e.id for e in entries}


def _top_list(data: Any, checker: _Checker, key: str, what: str) -> list | None:
    """Return the list an optional file starts with; None when the file is absent or the list is missing or
    not a list (reported)."""
    if data is None:
        return None
    items = _top(data, checker, key)
    if items is not None and not isinstance(items, list):
        checker.add(data.at(key), "", f"{key}: expected a list of {what}, found {_kind(items)}")
        return None
    return items


def _load_synonyms(data: Any, checker: _Checker) -> list[tuple[str, ...]]:
    groups: list[tuple[str, ...]] = []
    items = _top_list(data, checker, "synonyms", "groups")
    if items is None:
        return groups
    owner: dict[str, int] = {}
    for index, group in enumerate(items):
        line = items.at(index)
        terms = checker.value(group, line, "", f"synonyms group {index + 1}", "texts")
        if terms is None:
            continue
        normalised = tuple(dict.fromkeys(normalize(t) for t in terms if normalize(t)))
        if len(normalised) < 2:
            checker.add(line, "", f"synonyms group {index + 1}: needs at least two different terms")
            continue
        for term in normalised:
            if term in owner:
                checker.add(line, "", f"synonyms: {term!r} is already in the group at line {owner[term]}")
            owner.setdefault(term, line)
        groups.append(normalised)
    return groups


def _load_outside(data: Any, checker: _Checker, entries: Iterable[Entry]) -> list[str]:
    """Read outside.yaml: questions the knowledge base does not answer, each a text; one that is also an entry's
    question or alternate is refused (a phrasing cannot be both answered and not)."""
    items = _top_list(data, checker, "questions", "questions (each a text)")
    if items is None:
        return []
    phrasings = {normalize(p): e.id for e in entries for p in (e.question,) + e.alternates}
    seen: dict[str, int] = {}
    kept: list[str] = []
    for index, item in enumerate(items):
        line = items.at(index)
        text = checker.value(item, line, "", f"question {index + 1}", "text")
        if text is None:
            continue
        norm = normalize(text)
        if not norm:
            checker.add(line, "", f"question {index + 1}: {text!r} has no words")
        elif norm in phrasings:
            checker.add(line, "", f"question {index + 1}: {text!r} is also a phrasing of the entry "
                                  f"{phrasings[norm]!r}; a question cannot be both answered and not (remove "
                                  f"it here or there)")
        elif norm in seen:
            checker.add(line, "", f"question {index + 1}: {text!r} is already at line {seen[norm]}")
        else:
            seen[norm] = line
            kept.append(text)
    return kept


def _load_regression(data: Any, checker: _Checker, entry_ids: set[str] | None) -> list[Case]:
    """Read the regression questions; entry_ids None means entries.yaml is unreadable, so skip those checks."""
    if data is None:
        return []
    items = _top(data, checker, "questions")
    if not isinstance(items, list):
        return []
    return _load_cases(items, checker, entry_ids, "question", "a regression question")


def _load_cases(items: Any, checker: _Checker, entry_ids: set[str] | None, label: str, what: str) -> list[Case]:
    """Read a list of messages, each with the reply type (and entry) it must get."""
    cases: list[Case] = []
    for index, node in enumerate(items):
        line = items.at(index)
        values = checker.record(node, line, f"{label} {index + 1}", _CASE_SPEC, what)
        if not values or "message" not in values or "type" not in values:
            continue
        if values["type"] not in REPLY_TYPES:
            checker.add(node.at("type"), "", f"type: {values['type']!r} is not one of {', '.join(REPLY_TYPES)}")
            continue
        entry = values.get("entry")
        if entry is not None and entry_ids is not None and entry not in entry_ids:
            checker.add(node.at("entry"), "", f"entry: no entry has the id {entry!r}{did_you_mean(entry, entry_ids)}")
            continue
        if values["type"] == "answer" and entry is None:
            checker.add(node.line, "", "entry: an expected answer must name its entry")
            continue
        cases.append(Case(values["message"], values["type"], entry, line))
    return cases


_THRESHOLD_SPEC = {"fallback_below": ("number", False), "clarify_margin": ("number", False),
                   "calibration": ("map", False)}


def _load_settings(data: Any, checker: _Checker) -> Thresholds:
    """Read settings.yaml's `retrieval:` block; defaults for what it leaves out (or when there is no file)."""
    if data is None:
        return Thresholds()
    if not isinstance(data, dict):
        checker.add(getattr(data, "line", 1), "", "the file must be a mapping that starts with 'retrieval:'")
        return Thresholds()
    for key in data:
        if key != "retrieval":
            checker.add(data.at(key), "", f"unknown key {key!r}; expected: retrieval")
    block = data.get("retrieval")
    if block is None:
        return Thresholds()
    values = checker.record(block, data.at("retrieval"), "", _THRESHOLD_SPEC, "retrieval") or {}
    if "calibration" in values:
        values["calibration"] = _calibration(values["calibration"], checker)
    for key, value in list(values.items()):
        if key != "calibration" and not 0.0 <= value <= 1.0:
            checker.add(block.at(key), "", f"{key}: {value} is not between 0 and 1 (a confidence)")
            del values[key]
    return Thresholds(**values, line=data.at("retrieval"))


# A knowledge base's own calibration (settings.yaml, `retrieval: calibration:`; fitted by `python run.py eval --tune`
# on its regression questions and any patient questions it is given): a logistic model over these inputs of the
# first entry, whose probability replaces the shared confidence (bot/retrieval.py CONFIDENCE) for that knowledge
# base. The shared one is fitted on other data and does not see what tells this knowledge base's near misses from
# its real questions.
KB_CALIBRATION_INPUTS = (
    "confidence_logit",  # the shared confidence's logit
    "margin",            # how far the first entry's ranking logit is ahead of the second's (capped)
    "unheld_rarity",     # the rarest of the query's content words that the first entry does not hold (0-1; 1: unknown)
    "content_words",     # how many content words the query has, chatter aside (capped)
    "classifier", "semantic", "semantic_entry",  # the first entry's scores on those channels (FEATURES)
    "domain",            # the query's likeness to the knowledge base as a whole (FEATURES)
    # How much nearer the query is to a question the knowledge base does not answer (outside.yaml) than to the
    # first entry's best phrasing, by meaning and by characters (0 without outside questions):
    "outside_semantic_lead", "outside_chars_lead",
    # and how near it is to that outside question at all, by the same two (0 without outside questions, and for a
    # query that is one of the entry's own phrasings)
    "outside_semantic", "outside_chars",
)


def _calibration(block: Any, checker: _Checker) -> tuple[tuple[str, float], ...]:
    """Read `calibration:`: a number for each input of the knowledge base's confidence model, and its bias."""
    names = KB_CALIBRATION_INPUTS + ("bias",)
    pairs = []
    for key in block:
        value = block[key]
        if key not in names:
            checker.add(block.at(key), "", f"calibration: unknown input {key!r}{did_you_mean(str(key), names)}; "
                                           f"expected some of: {', '.join(names)} (rerun `python run.py eval --tune`)")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            checker.add(block.at(key), "", f"calibration: {key}: expected a number, found {_kind(value)}")
        else:
            pairs.append((str(key), float(value)))
    return tuple(pairs)


_DIALOGUE_SPEC = {"turns": ("list", True)}


def _load_dialogues(data: Any, checker: _Checker, entry_ids: set[str] | None) -> list[Dialogue]:
    """Read the multi-turn regression file: dialogues of MIN_TURNS or more turns, each turn a checked message."""
    dialogues: list[Dialogue] = []
    items = _top_list(data, checker, "dialogues", "dialogues")
    if items is None:
        return dialogues
    for index, node in enumerate(items):
        line = items.at(index)
        values = checker.record(node, line, f"dialogue {index + 1}", _DIALOGUE_SPEC, "a dialogue")
        if not values or "turns" not in values:
            continue
        turns = values["turns"]
        if len(turns) < MIN_TURNS:
            checker.add(node.at("turns"), f"dialogue {index + 1}",
                        f"turns: a dialogue needs at least {MIN_TURNS} turns, found {len(turns)} "
                        f"(a single question belongs in regression.yaml)")
            continue
        cases = _load_cases(turns, checker, entry_ids, "turn", "a turn of a dialogue")
        if len(cases) == len(turns):
            dialogues.append(Dialogue(tuple(cases), line))
    return dialogues


def load_knowledge(directory: str | Path) -> Knowledge:
    """Load and validate the knowledge base in a directory; raise KnowledgeError listing every problem."""
    directory = Path(directory)
    problems: list[Problem] = []
    if not directory.is_dir():
        raise KnowledgeError([Problem(str(directory), 0, "", "no such knowledge directory")])
    data: dict[str, Any] = {}
    digest = hashlib.sha256()
    checkers: dict[str, _Checker] = {}
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        path = directory / name
        shown = f"{directory.name}/{name}"
        checkers[name] = _Checker(shown, problems)
        if not path.exists():
            if name in REQUIRED_FILES:
                problems.append(Problem(shown, 0, "", "the file is missing"))
            data[name] = None
            continue
        data[name] = read_yaml(path, shown, problems)
        try:
            digest.update(name.encode() + b"\0" + path.read_bytes())
        except OSError:
            pass
    sources = _load_sources(data["sources.yaml"], checkers["sources.yaml"])
    shipped_policy = _Checker("bot/defaults/policy.yaml", problems)
    policy = compile_policy([(read_yaml(DEFAULT_POLICY, shipped_policy.shown, problems), shipped_policy),
                             (data["policy.yaml"], checkers["policy.yaml"])])
    before = len(problems)
    entries, declared = _load_entries(data["entries.yaml"], checkers["entries.yaml"], sources, policy)
    synonyms = _load_synonyms(data["synonyms.yaml"], checkers["synonyms.yaml"])
    # Until entries.yaml loads cleanly, expected entries may look unknown only because of its problems: those are
    # reported first, and regression.yaml's references to entries wait.
    entries_clean = data["entries.yaml"] is not None and not any(
        p.file == checkers["entries.yaml"].shown for p in problems[before:])
    entry_ids = declared if entries_clean else None
    regression = _load_regression(data["regression.yaml"], checkers["regression.yaml"], entry_ids)
    thresholds = _load_settings(data["settings.yaml"], checkers["settings.yaml"])
    outside = _load_outside(data["outside.yaml"], checkers["outside.yaml"], entries)
    dialogues = _load_dialogues(data["conversations.yaml"], checkers["conversations.yaml"], entry_ids)
    triage = data["triage.yaml"] if isinstance(data["triage.yaml"], dict) else None
    if data["triage.yaml"] is not None and triage is None:
        checkers["triage.yaml"].add(1, "", "the file must be a mapping of categories (emergency:, crisis:, ...)")
    locales = data["locales.yaml"] if isinstance(data["locales.yaml"], dict) else None
    if data["locales.yaml"] is not None and locales is None:
        checkers["locales.yaml"].add(1, "", "the file must be a mapping with profiles: and messages:")
    if problems:
        raise KnowledgeError(problems)
    return Knowledge(directory=directory, sources=sources, entries=tuple(entries), synonyms=tuple(synonyms),
                     triage=triage or {}, locales=locales or {}, regression=tuple(regression),
                     version=digest.hexdigest()[:12],
                     loaded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     files={name: f"{directory.name}/{name}" for name in REQUIRED_FILES + OPTIONAL_FILES},
                     thresholds=thresholds, dialogues=tuple(dialogues), policy=policy, outside=tuple(outside))


def checker_for(knowledge: Knowledge, name: str, problems: list[Problem]) -> _Checker:
    """Return a problem collector for one of the knowledge base's files (used by later validation stages)."""
    return _Checker(knowledge.files.get(name, name), problems)


def make_checker(shown: str, problems: list[Problem]) -> _Checker:
    """Return a problem collector for a file outside the knowledge directory (the default lexicon)."""
    return _Checker(shown, problems)
