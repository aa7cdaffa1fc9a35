"""Patient questions kept as development data for a knowledge base: JSON Lines, one question a line, either
{"kind": "in_scope", "text", "quote"} (the quote: the source's own words that answer it) or {"kind": "off_topic",
"text"}; and labels (YAML: a list of {passage, entries}) saying which entries answer each quoted passage."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml


class DevDataError(ValueError):
    """A development file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class DevQuestion:
    """One patient question: its words, whether the knowledge base should answer it, and (for an in-scope one
    whose quote a label covers) the entries whose answer is right."""

    text: str
    in_scope: bool
    quote: str = ""
    entries: tuple[str, ...] | None = None  # None: no label covers the quote (right entry unknown)
    file: str = ""
    number: int = 0  # its place among the file's questions


def folded(text: str) -> str:
    """Whitespace collapsed and case folded: how passages and quotes are compared."""
    return " ".join(text.split()).casefold()


def read_cases(path: Path) -> list[dict]:
    """Read a JSON Lines file of questions; raise DevDataError naming the line that is wrong."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DevDataError(f"{path}: cannot read the file: {exc}") from exc
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DevDataError(f"{path}:{number}: not a JSON object ({exc.msg})") from exc
        if not isinstance(case, dict) or case.get("kind") not in ("in_scope", "off_topic") or \
                not isinstance(case.get("text"), str) or not case["text"].strip() or \
                (case["kind"] == "in_scope" and not isinstance(case.get("quote"), str)) or \
                (case["kind"] == "in_scope" and not case["quote"].strip()):
            raise DevDataError(f"{path}:{number}: expected kind in_scope (with text and quote) or off_topic (text)")
        cases.append(case)
    return cases


def read_labels(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Read a labels file: a list of {passage, entries}; passages folded."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DevDataError(f"{path}: cannot read the labels: {exc}") from exc
    if not isinstance(data, list):
        raise DevDataError(f"{path}: expected a list of passages, each with its entries")
    labels = []
    for number, item in enumerate(data, 1):
        if not isinstance(item, dict) or not isinstance(item.get("passage"), str) or \
                not isinstance(item.get("entries"), list) or not item["entries"]:
            raise DevDataError(f"{path}: item {number}: expected passage (text) and entries (a list of entry ids)")
        labels.append((folded(item["passage"]), tuple(str(e) for e in item["entries"])))
    return labels


def labelled_entries(quote: str, labels: Iterable[tuple[str, tuple[str, ...]]]) -> tuple[str, ...] | None:
    """The entries of the longest passage that the quote contains or is contained in; None when none matches."""
    quote = folded(quote)
    matching = [(len(p), entries) for p, entries in labels if p in quote or quote in p]
    return max(matching, key=lambda m: m[0])[1] if matching else None


def dev_questions(paths: Iterable[Path], labels: Path | None = None) -> tuple[DevQuestion, ...]:
    """Read development files (and their labels) into questions."""
    passages = read_labels(labels) if labels else []
    questions = []
    for path in paths:
        for number, case in enumerate(read_cases(path), 1):
            inside = case["kind"] == "in_scope"
            quote = case.get("quote") or ""
            questions.append(DevQuestion(case["text"], inside, quote,
                                         labelled_entries(quote, passages) if inside and passages else None,
                                         str(path), number))
    return tuple(questions)
