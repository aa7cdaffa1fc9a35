"""The staff report: unanswered questions grouped with a suggested home, answers per entry, thumbs up and down."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.engine import Engine
from bot.privacy import strip_controls
from bot.records import Records, Unanswered, Usage
from bot.retrieval import STOP_WORDS
from bot.text import normalize

# Two unanswered questions whose character n-gram cosine reaches this are one group.
GROUP_SIMILARITY = 0.4
# A group whose best entry scores at least this share of the fallback threshold is close enough to be
# offered as a new alternate of that entry; below it, staff are told a new entry is needed.
ALTERNATE_SHARE = 0.5
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); such cells get a leading "'".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Group:
    questions: tuple[str, ...]
    count: int
    entry_id: str | None
    suggestion: str


def group_unanswered(rows: list[Unanswered], engine: Engine) -> list[Group]:
    """Group similar unanswered questions, most asked first, each with a suggested home."""
    if not rows:
        return []
    texts = [" ".join(w for w in normalize(r.text).split() if w not in STOP_WORDS) or r.text for r in rows]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(texts)
    similarity = (matrix @ matrix.T).toarray()
    order = np.argsort([-r.count for r in rows], kind="stable")
    taken: set[int] = set()
    groups = []
    for i in order:
        if i in taken:
            continue
        members = [j for j in order if j not in taken and similarity[i, j] >= GROUP_SIMILARITY]
        taken.update(members)
        hits = engine.index.search(rows[i].text, limit=1)
        if hits and hits[0].score >= engine.knowledge.thresholds.fallback_below * ALTERNATE_SHARE:
            entry = engine.knowledge.entry(hits[0].entry_id)
            suggestion = f"add as an alternate of {entry.id} ({entry.question})"
            entry_id = entry.id
        else:
            suggestion, entry_id = "needs a new entry (or is off topic)", None
        groups.append(Group(tuple(rows[j].text for j in members), sum(rows[j].count for j in members),
                            entry_id, suggestion))
    return sorted(groups, key=lambda g: -g.count)


def report_text(groups: list[Group], usage: list[Usage]) -> str:
    """Return the report as plain text for the terminal."""
    lines = [f"Unanswered questions: {sum(g.count for g in groups)} in {len(groups)} group(s)"]
    for number, group in enumerate(groups, 1):
        lines.append(f"\n{number}. asked {group.count} time(s): {group.suggestion}")
        lines += [f"     - {strip_controls(q)}" for q in group.questions[:10]]
        if len(group.questions) > 10:
            lines.append(f"     ... and {len(group.questions) - 10} more")
    lines.append("\nAnswers and feedback per entry:")
    lines.append(f"  {'entry':<40} {'answers':>8} {'up':>5} {'down':>5}")
    lines += [f"  {u.entry_id:<40} {u.answers:>8} {u.up:>5} {u.down:>5}" for u in usage]
    if not usage:
        lines.append("  (nothing yet)")
    return "\n".join(lines)


def inert_cell(value: object) -> object:
    """Return a CSV cell that a spreadsheet shows as text: no control characters, no formula."""
    if not isinstance(value, str):
        return value
    value = strip_controls(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def report_csv(groups: list[Group], usage: list[Usage]) -> str:
    """Return the report as CSV: one row per group, then one per entry."""
    out = io.StringIO()
    writer = csv.writer(out)
    rows = [["kind", "count", "entry_id", "suggestion", "questions", "up", "down"]]
    for group in groups:
        rows.append(["unanswered", group.count, group.entry_id or "", group.suggestion,
                     " | ".join(group.questions), "", ""])
    for u in usage:
        rows.append(["usage", u.answers, u.entry_id, "", "", u.up, u.down])
    writer.writerows([inert_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def build_report(records: Records, engine: Engine, *, as_csv: bool = False) -> str:
    """Return the staff report from the records, as text or CSV."""
    groups = group_unanswered(records.unanswered(), engine)
    usage = records.usage()
    return report_csv(groups, usage) if as_csv else report_text(groups, usage)
