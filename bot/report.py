"""The staff report: what patients asked that went unanswered or was answered with low confidence, grouped, each
with what to do; thumbs down with the question and the answer it got; answers per entry and per day."""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.privacy import strip_controls
from bot.records import LOW_CONFIDENCE, Day, Records, Unanswered, Usage, Voted
from bot.retrieval import STOP_WORDS
from bot.text import normalize

# Two questions whose character n-gram cosine reaches this are one group.
GROUP_SIMILARITY = 0.4
# An answer in this lowest share of the range from the knowledge base's fallback threshold up to certainty is
# "low confidence": it went out, but staff should see it beside the unanswered questions.
LOW_CONFIDENCE_SHARE = 0.25
# A suggested home must be clear: the entry scores at least this share of the fallback threshold, leads the
# runner-up by the clarify margin, is the best entry for every question of the group, and holds at least this
# share of the question's words, each word weighted by how rare it is among the entries (a word every entry has,
# or a stem like "doe" of "does", says little; a word of one entry, or of none, like "hurt", says most).
# Otherwise staff are told a new entry is needed.
ALTERNATE_SHARE = 0.5
SHARED_WORDS = 0.5
# One word in common ("what time is it" and an entry that says "at the time") is not clear.
MIN_WORDS = 2
NEW_ENTRY = "new entry"
SHOWN_QUESTIONS = 10
# The report reads the most asked questions and newest thumbs down up to these counts (grouping compares every
# pair of questions); the rest are counted, not shown.
MAX_QUESTIONS = 1_000
MAX_THUMBS_DOWN = 200
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); such cells get a leading "'".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def thresholds(engine) -> tuple[float, float]:
    """Return the fallback threshold and clarify margin the engine answers with (its knowledge base's own)."""
    return engine.responder.thresholds.fallback, engine.responder.thresholds.clarify


def low_confidence(engine, reply_type: str, confidence: float) -> bool:
    """Say whether an answer went out with a confidence near the fallback threshold."""
    fallback_below = thresholds(engine)[0]
    return reply_type == "answer" and confidence < fallback_below + LOW_CONFIDENCE_SHARE * (1.0 - fallback_below)


@dataclass(frozen=True)
class Group:
    """Similar questions asked by patients, with when, under which knowledge version, and what to do."""

    questions: tuple[str, ...]
    count: int
    kinds: tuple[str, ...]          # fallback, clarify, low-confidence
    first_seen: str
    last_seen: str
    version: str                    # the knowledge version that last failed to answer it well
    entry_id: str | None            # the suggested home, when clear
    suggestion: str
    done: str = ""                  # why the group needs nothing more, when the current knowledge base covers it
    candidates: tuple[tuple[str, float], ...] = ()  # the best entries for its first question, with their scores
    answered_with: tuple[str, ...] = ()  # the entries its low-confidence answers gave

    def to_dict(self) -> dict[str, Any]:
        """Return the group as JSON for the staff console."""
        return {"questions": list(self.questions), "count": self.count, "kinds": list(self.kinds),
                "first_seen": self.first_seen, "last_seen": self.last_seen, "version": self.version,
                "entry_id": self.entry_id, "suggestion": self.suggestion, "done": self.done,
                "candidates": [{"entry_id": e, "score": round(s, 3)} for e, s in self.candidates],
                "answered_with": list(self.answered_with)}


@dataclass(frozen=True)
class Report:
    """The whole report, built from the records against the knowledge base in force."""

    version: str
    groups: tuple[Group, ...]
    thumbs_down: tuple[Voted, ...]  # newest first
    usage: tuple[Usage, ...]
    daily: tuple[Day, ...] = field(default=())
    left_out: int = 0               # questions beyond MAX_QUESTIONS, not grouped

    @property
    def open_groups(self) -> list[Group]:
        return [g for g in self.groups if not g.done]

    @property
    def done_groups(self) -> list[Group]:
        return [g for g in self.groups if g.done]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON for the staff console."""
        return {"version": self.version, "groups": [g.to_dict() for g in self.groups],
                "thumbs_down": [{"at": v.at, "entry_id": v.entry_id, "question": v.question or "",
                                 "answer": v.answer or "", "version": v.knowledge_version or ""}
                                for v in self.thumbs_down],
                "usage": [{"entry_id": u.entry_id, "answers": u.answers, "up": u.up, "down": u.down}
                          for u in self.usage],
                "daily": [{"day": d.day, "type": d.type, "count": d.count} for d in self.daily],
                "left_out": self.left_out}


class Words:
    """The content words of questions and entries, as retrieval maps them onto the knowledge base's words."""

    def __init__(self, engine):
        self.engine = engine
        self._entries: dict[str, set[str]] = {}
        self._weights: dict[str, float] | None = None

    def of(self, text: str) -> list[str]:
        # As typed (not mapped onto the knowledge base's words): a typo fix may turn "hurt" into "hunt".
        return self.engine.index.forms(text)[0].split()

    def of_entry(self, entry_id: str) -> set[str]:
        if entry_id not in self._entries:
            entry = self.engine.knowledge.entry(entry_id)
            texts = (entry.question, *entry.alternates, entry.answer) if entry else ()
            self._entries[entry_id] = {w for t in texts for w in self.of(t)}
        return self._entries[entry_id]

    def weight(self, word: str) -> float:
        """Return a word's inverse entry frequency (smoothed as scikit-learn's idf); a word of no entry weighs as
        much as a word of one (unknown filler such as "exactly" must not outweigh the words that matched)."""
        if self._weights is None:
            counts: dict[str, int] = {}
            for entry in self.engine.knowledge.entries:
                for w in self.of_entry(entry.id):
                    counts[w] = counts.get(w, 0) + 1
            total = len(self.engine.knowledge.entries)
            self._weights = {w: math.log((1 + total) / (1 + n)) + 1 for w, n in counts.items()}
            self._weights[""] = math.log((1 + total) / 2) + 1
        return self._weights.get(word, self._weights[""])


def clear_home(questions: list[str], engine, words: Words) -> tuple[str | None, tuple[tuple[str, float], ...]]:
    """Return the entry the questions clearly belong to (or None), and the first question's best entries."""
    fallback_below, margin = thresholds(engine)
    tops = []
    candidates: tuple[tuple[str, float], ...] = ()
    for number, question in enumerate(questions):
        hits = engine.index.search(question, limit=2)
        if number == 0:
            candidates = tuple((h.entry_id, h.score) for h in hits)
        if not hits:
            return None, candidates
        top = hits[0]
        lead = top.score - (hits[1].score if len(hits) > 1 else 0.0)
        asked = words.of(question)
        held = words.of_entry(top.entry_id)
        shared = sum(words.weight(w) for w in asked if w in held)
        if (top.score < ALTERNATE_SHARE * fallback_below or lead < margin or len(asked) < MIN_WORDS
                or shared < SHARED_WORDS * sum(words.weight(w) for w in asked)):
            return None, candidates
        tops.append(top.entry_id)
    return (tops[0] if len(set(tops)) == 1 else None), candidates


def phrasings(engine) -> dict[str, str]:
    """Return how each entry is asked (its question and alternates, normalised), mapped to what covers it."""
    known: dict[str, str] = {}
    for entry in engine.knowledge.entries:
        for alternate in entry.alternates:
            known.setdefault(normalize(alternate), f"added as an alternate of {entry.id}")
        known[normalize(entry.question)] = f"is the question of {entry.id}"
    return known


def covered(question: str, engine, known: dict[str, str] | None = None) -> str:
    """Say how the current knowledge base covers a question ("" when it does not yet)."""
    known = phrasings(engine) if known is None else known
    if normalize(question) in known:
        return known[normalize(question)]
    reply = engine.responder.reply(question)
    if reply.type == "answer" and not low_confidence(engine, reply.type, reply.confidence):
        return f"now answered by {reply.entry_id}"
    return ""


def group_questions(rows: list[Unanswered], engine) -> list[Group]:
    """Group similar questions: open groups most asked first, then those the knowledge base now covers."""
    if not rows:
        return []
    texts = [" ".join(w for w in normalize(r.text).split() if w not in STOP_WORDS) or r.text for r in rows]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(texts)
    similarity = (matrix @ matrix.T).toarray()
    order = np.argsort([-r.count for r in rows], kind="stable")
    words = Words(engine)
    known = phrasings(engine)
    taken: set[int] = set()
    groups = []
    for i in order:
        if i in taken:
            continue
        chosen = [j for j in order if j not in taken and similarity[i, j] >= GROUP_SIMILARITY]
        taken.update(chosen)
        members = [rows[j] for j in chosen]
        questions = [m.text for m in members]
        entry_id, candidates = clear_home(questions, engine, words)
        if entry_id:
            entry = engine.knowledge.entry(entry_id)
            suggestion = f"add as an alternate of {entry.id} ({entry.question})"
        else:
            suggestion = NEW_ENTRY
        reasons = [covered(q, engine, known) for q in questions]
        latest = max(members, key=lambda m: m.last_seen)
        groups.append(Group(
            questions=tuple(questions), count=sum(m.count for m in members),
            kinds=tuple(dict.fromkeys(m.type for m in members)),
            first_seen=min(m.first_seen for m in members), last_seen=latest.last_seen,
            version=latest.knowledge_version or "",
            entry_id=entry_id, suggestion=suggestion, done=reasons[0] if all(reasons) else "",
            candidates=candidates, answered_with=tuple(dict.fromkeys(m.entry_id for m in members if m.entry_id))))
    return sorted(groups, key=lambda g: (bool(g.done), -g.count))


def build(records: Records, engine) -> Report:
    """Build the report from the records against the knowledge base in force."""
    rows = records.unanswered()
    thumbs_down = [v for v in reversed(records.votes()) if v.vote == "down"]
    return Report(engine.knowledge.version, tuple(group_questions(rows[:MAX_QUESTIONS], engine)),
                  tuple(thumbs_down[:MAX_THUMBS_DOWN]), tuple(records.usage()), tuple(records.daily()),
                  left_out=max(0, len(rows) - MAX_QUESTIONS))


def _day(stamp: str) -> str:
    return stamp[:10]


def _kinds(group: Group) -> str:
    names = {"fallback": "not answered", "clarify": "asked which entry was meant",
             LOW_CONFIDENCE: "answered with low confidence" + (f" by {', '.join(group.answered_with)}"
                                                                if group.answered_with else "")}
    return ", ".join(names.get(k, k) for k in group.kinds)


def report_text(report: Report) -> str:
    """Return the report as plain text for the terminal."""
    open_groups, done = report.open_groups, report.done_groups
    lines = [f"Questions to act on: {sum(g.count for g in open_groups)} in {len(open_groups)} group(s) "
             f"(knowledge version now {report.version})"]
    for number, group in enumerate(open_groups, 1):
        lines.append(f"\n{number}. asked {group.count} time(s), {_kinds(group)}; first seen {_day(group.first_seen)},"
                     f" last seen {_day(group.last_seen)}, knowledge version {group.version or 'unknown'}")
        lines.append(f"   suggestion: {group.suggestion}")
        lines += [f"     - {strip_controls(q)}" for q in group.questions[:SHOWN_QUESTIONS]]
        if len(group.questions) > SHOWN_QUESTIONS:
            lines.append(f"     ... and {len(group.questions) - SHOWN_QUESTIONS} more")
    if not open_groups:
        lines.append("  (nothing to do)")
    if report.left_out:
        lines.append(f"\n(and {report.left_out} question(s) asked less often, not grouped here)")
    lines.append(f"\nAlready covered (done): {len(done)} group(s)")
    for group in done:
        lines.append(f"  - done: {strip_controls(group.questions[0])!r} {group.done} (asked {group.count} time(s), "
                     f"last seen {_day(group.last_seen)})")
    lines.append(f"\nThumbs down: {len(report.thumbs_down)}")
    for vote in report.thumbs_down:
        lines.append(f"  {_day(vote.at)} {vote.entry_id} (knowledge version {vote.knowledge_version or 'unknown'})")
        lines.append(f"     asked:  {strip_controls(vote.question or '(the question was not sent)')}")
        lines.append(f"     answer: {strip_controls(vote.answer or '(not kept)')}")
    lines.append("\nAnswers and feedback per entry:")
    lines.append(f"  {'entry':<40} {'answers':>8} {'up':>5} {'down':>5}")
    lines += [f"  {u.entry_id:<40} {u.answers:>8} {u.up:>5} {u.down:>5}" for u in report.usage]
    if not report.usage:
        lines.append("  (nothing yet)")
    return "\n".join(lines)


CSV_COLUMNS = ("kind", "count", "entry_id", "suggestion", "questions", "up", "down", "status", "first_seen",
               "last_seen", "version", "answer", "reply_types", "answered_with")


def inert_cell(value: object) -> object:
    """Return a CSV cell that a spreadsheet shows as text: no control characters, no formula."""
    if not isinstance(value, str):
        return value
    value = strip_controls(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def report_csv(report: Report) -> str:
    """Return the report as CSV: one row per group, per thumbs down and per entry."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = []
    for g in report.groups:
        rows.append({"kind": "unanswered", "reply_types": " ".join(g.kinds), "answered_with": " ".join(g.answered_with),
                     "count": g.count, "entry_id": g.entry_id or "",
                     "suggestion": g.suggestion, "questions": " | ".join(g.questions),
                     "status": f"done: {g.done}" if g.done else "open", "first_seen": g.first_seen,
                     "last_seen": g.last_seen, "version": g.version})
    for v in report.thumbs_down:
        rows.append({"kind": "thumbs-down", "count": 1, "entry_id": v.entry_id, "questions": v.question or "",
                     "down": 1, "last_seen": v.at, "version": v.knowledge_version or "", "answer": v.answer or ""})
    for u in report.usage:
        rows.append({"kind": "usage", "count": u.answers, "entry_id": u.entry_id, "up": u.up, "down": u.down})
    for row in rows:
        writer.writerow([inert_cell(row.get(column, "")) for column in CSV_COLUMNS])
    return out.getvalue()


def build_report(records: Records, engine, *, as_csv: bool = False) -> str:
    """Return the staff report from the records, as text or CSV."""
    report = build(records, engine)
    return report_csv(report) if as_csv else report_text(report)
