"""Run a knowledge base's own regression questions and measure each reply type against its bar."""
from __future__ import annotations

from dataclasses import dataclass

from sklearn.feature_extraction.text import TfidfVectorizer

from bot.conversations import Conversations
from bot.engine import Engine
from bot.replies import Responder
from bot.retrieval import STOP_WORDS
from bot.text import normalize

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
class Evaluation:
    scores: tuple[Score, ...]
    misses: tuple[Miss, ...]

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


def evaluate(engine: Engine) -> Evaluation:
    """Answer every regression question afresh and compare with what it expects."""
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    misses = []
    for case in engine.knowledge.regression:
        reply = engine.responder.reply(case.message)
        ok = _right(case, reply)
        total[case.type] = total.get(case.type, 0) + 1
        right[case.type] = right.get(case.type, 0) + ok
        if not ok:
            misses.append(Miss(case.message, case.line, _describe(case.type, case.entry),
                               _describe(reply.type, reply.entry_id), case.entry, reply.entry_id))
    scores = tuple(Score(t, total[t], right[t]) for t in BARS if t in total)
    return Evaluation(scores, tuple(misses))


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
    """Return (entry, alternate, other entry, its phrasing) where an alternate sits closer to another entry."""
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
            found.append((owner, phrasing, rows[j][0], rows[j][1]))
    return found
