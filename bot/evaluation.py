"""Run a knowledge base's own regression questions and measure each reply type against its bar."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.conversations import Conversations
from bot.devquestions import DevQuestion
from bot.engine import Engine, documents
from bot.knowledge import Problem, Thresholds
from bot.replies import Responder
from bot.retrieval import STOP_WORDS, Index
from bot.text import normalize

log = logging.getLogger(__name__)
# Where the server keeps what each knowledge base's regression questions got in the version it serves, so that
# `run.py check` can show a nurse what an edit would change before the server sees it (no git needed).
BASELINE_FILE = "last-good-regression.json"

# The bar of the answering core: share of each expected type that must come out right.
BARS = {"answer": 0.95, "fallback": 0.95, "urgent": 1.0, "advice": 0.90, "smalltalk": 0.90, "clarify": 0.0}
LABELS = {"answer": "in scope, right entry first", "fallback": "off topic → fallback", "urgent": "urgent → urgent",
          "advice": "personal advice → advice", "smalltalk": "smalltalk → smalltalk", "clarify": "clarify"}


@dataclass(frozen=True)
class Miss:
    message: str
    line: int
    expected: str
    got: str
    expected_entry: str | None = None
    got_entry: str | None = None


@dataclass(frozen=True)
class Score:
    type: str
    total: int
    right: int

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 1.0

    @property
    def passes(self) -> bool:
        return self.share >= BARS[self.type]


@dataclass(frozen=True)
class Outcome:
    """What one regression question got."""

    message: str
    line: int
    expected: str
    got: str
    right: bool
    entry: str | None = None

    @property
    def key(self) -> str:
        """Name the question the same way across versions: its words and what it expects."""
        return f"{normalize(self.message)} => {self.expected}"


@dataclass(frozen=True)
class Evaluation:
    scores: tuple[Score, ...]
    misses: tuple[Miss, ...]
    outcomes: tuple[Outcome, ...] = ()

    def baseline(self) -> dict:
        """Return what a later version is compared with: each question's reply, and the types below their bar."""
        return {"outcomes": {o.key: o.got for o in self.outcomes},
                "below_bar": [s.type for s in self.scores if not s.passes]}

    @property
    def passes(self) -> bool:
        return all(s.passes for s in self.scores)

    def table(self) -> str:
        """Return the per-type table and the misses as plain text."""
        lines = [f"{'type':<32} {'right':>7} {'share':>7} {'bar':>6}  result"]
        for s in self.scores:
            lines.append(f"{LABELS[s.type]:<32} {s.right:>3}/{s.total:<3} {s.share:>7.1%} {BARS[s.type]:>6.0%}  "
                         f"{'ok' if s.passes else 'BELOW BAR'}")
        if self.misses:
            lines.append("")
            lines.append(f"misses ({len(self.misses)}):")
            lines += [f"  line {m.line}: {m.message!r}: expected {m.expected}, got {m.got}" for m in self.misses]
        return "\n".join(lines)


def _describe(reply_type: str, entry: str | None) -> str:
    return f"{reply_type} {entry}" if entry else reply_type


def evaluate(engine: Engine, responder: Responder | None = None) -> Evaluation:
    """Answer every regression question afresh and compare with what it expects."""
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    misses = []
    outcomes = []
    responder = responder or engine.responder
    for case in engine.knowledge.regression:
        reply = responder.reply(case.message)
        ok = _right(case, reply)
        outcomes.append(Outcome(case.message, case.line, _describe(case.type, case.entry),
                                _describe(reply.type, reply.entry_id if reply.type != "fallback" else None),
                                ok, case.entry))
        total[case.type] = total.get(case.type, 0) + 1
        right[case.type] = right.get(case.type, 0) + ok
        if not ok:
            misses.append(Miss(case.message, case.line, _describe(case.type, case.entry),
                               _describe(reply.type, reply.entry_id), case.entry, reply.entry_id))
    scores = tuple(Score(t, total[t], right[t]) for t in BARS if t in total)
    return Evaluation(scores, tuple(misses), tuple(outcomes))


def regressions(before: Mapping | None, after: Evaluation, file: str) -> list[Problem]:
    """Return what an edit breaks, as problems at regression.yaml lines: each question that now gets a wrong
    reply it did not get before (or a new question answered wrongly), and each reply type newly below its bar.

    before is the baseline() of the version in force; None compares with the bars alone."""
    problems = []
    old = (before or {}).get("outcomes", {})
    for outcome in after.outcomes:
        if outcome.right or before is None:
            continue
        was = old.get(outcome.key)
        if was == outcome.got:
            continue  # already wrong in the version in force, in the same way: not this edit's doing
        then = f"the version in force gives {was}" if was else "a new question"
        problems.append(Problem(file, outcome.line, outcome.entry or "",
                                f"regression: {outcome.message!r} expects {outcome.expected}, "
                                f"now gets {outcome.got} ({then})"))
    already_below = set((before or {}).get("below_bar", ()))
    for score in after.scores:
        if not score.passes and score.type not in already_below:
            line = next((o.line for o in after.outcomes if not o.right and o.expected.split()[0] == score.type), 0)
            problems.append(Problem(file, line, "", f"regression: {LABELS[score.type]} is {score.share:.1%}, "
                                                 f"below its bar of {BARS[score.type]:.0%}"))
    return problems


def _baseline_key(directory: Path) -> str:
    return str(Path(directory).resolve())


def save_baseline(data_dir: Path, directory: Path, version: str, evaluation: Evaluation) -> None:
    """Keep the version in force's regression replies in the data directory; a failing disk only logs."""
    path = Path(data_dir) / BASELINE_FILE
    try:
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(kept, dict):
                kept = {}
        except (OSError, ValueError):
            kept = {}
        kept[_baseline_key(directory)] = {"version": version, **evaluation.baseline()}
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(kept, ensure_ascii=False, indent=1), encoding="utf-8")
        temp.replace(path)
    except OSError as exc:
        log.warning("could not keep the regression baseline in %s: %s", path, exc)


def load_baseline(data_dir: Path, directory: Path) -> dict | None:
    """Return the kept baseline of a knowledge directory (with its version), or None when none is kept."""
    try:
        kept = json.loads((Path(data_dir) / BASELINE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = kept.get(_baseline_key(directory)) if isinstance(kept, dict) else None
    return found if isinstance(found, dict) and isinstance(found.get("outcomes"), dict) else None


# The bar of conversations.yaml: share of all turns, of every type, that must come out right.
TURNS_BAR = 0.90


@dataclass(frozen=True)
class Dialogues:
    """The multi-turn evaluation: turns right out of all turns, and the turns that missed."""

    total: int
    right: int
    misses: tuple[Miss, ...]

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 1.0

    @property
    def passes(self) -> bool:
        return self.share >= TURNS_BAR

    def table(self) -> str:
        """Return the per-turn figure and the misses as plain text."""
        lines = [f"{'conversations, per turn':<32} {self.right:>3}/{self.total:<3} {self.share:>7.1%} "
                 f"{TURNS_BAR:>6.0%}  {'ok' if self.passes else 'BELOW BAR'}"]
        if self.misses:
            lines.append("")
            lines.append(f"conversation misses ({len(self.misses)}):")
            lines += [f"  line {m.line}: {m.message!r}: expected {m.expected}, got {m.got}" for m in self.misses]
        return "\n".join(lines)


def _right(case, reply) -> bool:
    return reply.type == case.type and (case.entry is None or case.type != "answer" or reply.entry_id == case.entry)


def evaluate_dialogues(engine: Engine) -> Dialogues | None:
    """Play every dialogue of conversations.yaml in a conversation of its own; None when the file has none."""
    dialogues = engine.knowledge.dialogues
    if not dialogues:
        return None
    # A responder of its own: the dialogues' conversations never mix with a running bot's.
    base = engine.responder
    responder = Responder(base.knowledge, base.index, base.lexicon, base.profile, Conversations(),
                          cache_size=base.cache_size)
    total = right = 0
    misses = []
    for number, dialogue in enumerate(dialogues):
        conversation = f"dialogue-{number}"
        for case in dialogue.turns:
            reply = responder.reply(case.message, conversation=conversation)
            ok = _right(case, reply)
            total += 1
            right += ok
            if not ok:
                misses.append(Miss(case.message, case.line, _describe(case.type, case.entry),
                                   _describe(reply.type, reply.entry_id), case.entry, reply.entry_id))
    return Dialogues(total, right, tuple(misses))


def confusions(evaluation: Evaluation) -> list[Miss]:
    """Return the regression questions answered with another entry than the one they expect."""
    return [m for m in evaluation.misses
            if m.expected_entry and m.got_entry and m.expected_entry != m.got_entry]


# An alternate is flagged when its nearest phrasing of another entry is at least this similar (character
# n-grams of the meaningful words) and clearly closer than anything in its own entry.
MISPLACED_SIMILARITY = 0.5
MISPLACED_MARGIN = 0.1


def misplaced_alternates(engine: Engine) -> list[tuple[str, str, str, str]]:
    """Return (entry, alternate, other entry, its phrasing) where an alternate sits closer to another entry and
    does not get its own entry's answer: two entries that overlap where it matters, not words they share."""
    rows = [(e.id, p) for e in engine.knowledge.entries for p in (e.question,) + e.alternates]
    if len(rows) < 2:
        return []
    texts = [" ".join(w for w in normalize(p).split() if w not in STOP_WORDS) or normalize(p) for _, p in rows]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(texts)
    similarity = (matrix @ matrix.T).toarray()
    found = []
    for i, (owner, phrasing) in enumerate(rows):
        similarity[i, i] = -1.0
        own = max((similarity[i, j] for j, (o, _) in enumerate(rows) if o == owner and j != i), default=0.0)
        j = int(similarity[i].argmax())
        if rows[j][0] != owner and similarity[i, j] >= MISPLACED_SIMILARITY and similarity[i, j] > own + MISPLACED_MARGIN:
            reply = engine.responder.reply(phrasing)
            if reply.type != "answer" or reply.entry_id != owner:
                found.append((owner, phrasing, rows[j][0], rows[j][1]))
    return found


class _Remembered:
    """An index that answers each query once (tuning asks the same questions at every threshold)."""

    def __init__(self, index):
        self.index = index
        self.known: dict[tuple, list] = {}

    def __getattr__(self, name: str):  # everything else a responder reads is the index's own
        return getattr(self.index, name)

    def search(self, query: str, **options):
        key = (query, tuple(sorted(options.items())))
        if key not in self.known:
            self.known[key] = self.index.search(query, **options)
        return self.known[key]


# The thresholds tried: confidences are probabilities, so hundredths are fine enough.
FALLBACK_GRID = tuple(round(0.01 * n, 2) for n in range(1, 100))
MARGIN_GRID = tuple(round(0.01 * n, 2) for n in range(0, 21))
# A knowledge base's own calibration is fitted only with at least this many questions of each side (in scope, off
# topic) to learn from: fewer, and the shared confidence stands.
CALIBRATION_MIN_QUESTIONS = 20
CALIBRATION_C = 1.0  # the logistic model's regularisation (scikit-learn's C)


@dataclass(frozen=True)
class DevFigures:
    """What development questions got: in scope answered with a right entry, off topic not answered."""

    in_scope: int
    right: int
    off_topic: int
    declined: int

    def groups(self) -> list[tuple[str, int, int]]:
        """(bar type, right, total) of each side that has questions."""
        return [(t, right, total) for t, right, total in (("answer", self.right, self.in_scope),
                                                          ("fallback", self.declined, self.off_topic)) if total]

    def table(self) -> str:
        lines = [f"{'development questions':<32} {'right':>9} {'share':>7}"]
        for kind, right, total in self.groups():
            label = "in scope, right entry" if kind == "answer" else "off topic, not answered"
            lines.append(f"{label:<32} {right:>4}/{total:<4} {right / total:>7.1%}")
        return "\n".join(lines)


def evaluate_dev(responder: Responder, questions: Sequence[DevQuestion]) -> DevFigures:
    """Answer development questions: an in-scope one whose entries are labelled is right when answered from one
    of them; an off-topic one when it gets no answer."""
    in_scope = right = off_topic = declined = 0
    for question in questions:
        reply = responder.reply(question.text)
        if question.in_scope:
            if question.entries is not None:
                in_scope += 1
                right += reply.type == "answer" and reply.entry_id in question.entries
        else:
            off_topic += 1
            declined += reply.type != "answer"
    return DevFigures(in_scope, right, off_topic, declined)


def fit_calibration(engine: Engine, dev: Sequence[DevQuestion] = ()) -> tuple[tuple[str, float], ...]:
    """Fit the knowledge base's own confidence model (bot/knowledge.py KB_CALIBRATION_INPUTS) on its regression
    questions that reach retrieval (answer: in scope; fallback: off topic) and on development questions; empty
    when either side has fewer than CALIBRATION_MIN_QUESTIONS."""
    from sklearn.linear_model import LogisticRegression

    from bot.knowledge import KB_CALIBRATION_INPUTS
    from bot.safety import triage
    asked = [(c.message, c.type == "answer") for c in engine.knowledge.regression if c.type in ("answer", "fallback")]
    asked += [(q.text, q.in_scope) for q in dev]
    rows, labels = [], []
    for text, inside in asked:
        verdict = triage(text, engine.lexicon)
        if verdict.urgent or verdict.category in ("smalltalk", "contact"):
            continue  # decided before retrieval: its confidence never matters
        inputs = engine.index.calibration_inputs(text)
        if inputs is not None:  # nothing matched: the fallback whatever the model
            rows.append(inputs)
            labels.append(inside)
    if min(sum(labels), len(labels) - sum(labels)) < CALIBRATION_MIN_QUESTIONS:
        return ()
    model = LogisticRegression(C=CALIBRATION_C, max_iter=5000).fit(np.asarray(rows), np.asarray(labels))
    return tuple((name, round(float(w), 4)) for name, w in zip(KB_CALIBRATION_INPUTS, model.coef_[0])) + \
        (("bias", round(float(model.intercept_[0]), 4)),)


def tune(engine: Engine, dev: Sequence[DevQuestion] = ()) -> tuple[Thresholds, Evaluation]:
    """Pick a knowledge base's calibration and thresholds on its own regression questions and any development
    questions. First the calibration (fit_calibration); then the fallback threshold that meets the most bars
    (the answer and fallback bars of the regression questions, and the same bars on the development questions'
    two sides), then gets the most of them right (their shares added, so a smaller group weighs as much), the
    middle of the best run of such thresholds; then the widest clarify margin that costs no answer case."""
    calibration = fit_calibration(engine, dev)
    index = engine.index
    if calibration:
        index = Index(documents(engine.knowledge), engine.knowledge.synonyms, embedder=engine.index.embedder,
                      calibration=dict(calibration), outside=engine.knowledge.outside)
    index = _Remembered(index)

    def responder(thresholds: Thresholds) -> Responder:
        knowledge = replace(engine.knowledge, thresholds=thresholds)
        return Responder(knowledge, index, engine.lexicon, engine.profile, cache_size=0)

    def run(thresholds: Thresholds) -> Evaluation:
        return evaluate(engine, responder(thresholds))

    def merit(thresholds: Thresholds) -> tuple[int, float]:
        groups = [(s.type, s.right, s.total) for s in run(thresholds).scores if s.type in ("answer", "fallback")]
        if dev:
            groups += evaluate_dev(responder(thresholds), dev).groups()
        return (sum(right / total >= BARS[kind] for kind, right, total in groups),
                round(sum(right / total for _, right, total in groups), 9))

    scored = [(merit(Thresholds(t, 0.0, calibration=calibration)), t) for t in FALLBACK_GRID]
    best = max(m for m, _ in scored)
    run_of_best, longest = [], []
    for m, t in scored:  # the longest run of consecutive best thresholds: its middle has the most room
        run_of_best = run_of_best + [t] if m == best else []
        if len(run_of_best) > len(longest):
            longest = run_of_best
    fallback = longest[len(longest) // 2]
    answered = _answered(run(Thresholds(fallback, 0.0, calibration=calibration)))
    margin = max(m for m in MARGIN_GRID
                 if _answered(run(Thresholds(fallback, m, calibration=calibration))) >= answered)
    chosen = Thresholds(fallback, margin, calibration=calibration)
    return chosen, run(chosen)


def _answered(evaluation: Evaluation) -> int:
    return sum(s.right for s in evaluation.scores if s.type == "answer")


SETTINGS_HEADER = """\
# Reply thresholds of this knowledge base, chosen by `python run.py eval --tune` on regression.yaml (and on any
# patient questions given with --dev).
# Confidences are calibrated: the chance that a question is one this knowledge base answers (0 to 1).
# fallback_below: a question whose best entry scores under this gets the fallback with suggestions.
# clarify_margin: when the second entry scores this close to the first, the patient is asked which one.
"""


CALIBRATION_HEADER = """\
  # This knowledge base's own confidence: a logistic model over these inputs of the first entry (bot/knowledge.py
  # KB_CALIBRATION_INPUTS), fitted by `eval --tune` on the same questions. Delete the block for the shared one.
  calibration:
"""


def write_settings(directory: Path, thresholds: Thresholds) -> Path:
    """Write settings.yaml with these thresholds and calibration (the file holds nothing else)."""
    path = Path(directory) / "settings.yaml"
    text = (f"{SETTINGS_HEADER}retrieval:\n  fallback_below: {thresholds.fallback_below}\n"
            f"  clarify_margin: {thresholds.clarify_margin}\n")
    if thresholds.calibration:
        text += CALIBRATION_HEADER + "".join(f"    {name}: {weight}\n" for name, weight in thresholds.calibration)
    partial = path.with_suffix(".yaml.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path
