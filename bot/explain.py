"""Why a message got its reply: triage's verdict, the entry chosen and the runner-up, and what matched in each."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from bot.replies import MAX_SUGGESTIONS
from bot.retrieval import Hit, Index
from bot.safety import triage


@dataclass(frozen=True)
class Match:
    """One ranked entry and what made it match, channel by channel."""

    entry_id: str
    score: float
    phrasing: str
    phrasing_words: tuple[str, ...]
    entry_words: tuple[str, ...]
    channels: Mapping[str, float] = field(default_factory=dict)  # each retrieval channel's score, when known


@dataclass(frozen=True)
class Why:
    """Everything `ask --why` shows about one message."""

    message: str
    reply_type: str
    entry_id: str | None
    triage_category: str | None
    triage_trigger: str
    mentions: tuple[str, ...]
    query_words: tuple[str, ...]
    matches: tuple[Match, ...]
    fallback_below: float
    clarify_margin: float

    def lines(self) -> list[str]:
        """Return the explanation as plain text lines for a terminal or the staff console."""
        out = [f"reply: {self.reply_type}" + (f" (entry {self.entry_id})" if self.entry_id else "")]
        if self.triage_category:
            out.append(f"triage: {self.triage_category}, because of {self.triage_trigger!r}")
        else:
            out.append("triage: nothing fired (no emergency, crisis, warning sign, advice or smalltalk phrase)")
        if self.mentions:
            out.append(f"triage: warning signs named: {', '.join(self.mentions)}")
        if self.reply_type == "urgent" or self.reply_type == "smalltalk":
            out.append(f"retrieval: not used for the reply ({self.reply_type} is decided by triage first); "
                       "what it would have found:")
        out.append(f"words looked up: {', '.join(self.query_words) or '(none the search uses)'}")
        if not self.matches:
            out.append("retrieval: no entry shares anything with the message")
        for rank, match in zip(("chosen", "runner-up"), self.matches):
            out.append(f"{rank}: {match.entry_id}, confidence {match.score:.3f}")
            out.append(f"  best phrasing: {match.phrasing!r}")
            out.append(f"  words matched in that phrasing: {', '.join(match.phrasing_words) or 'none'}")
            out.append(f"  words matched in the entry's question and answer: {', '.join(match.entry_words) or 'none'}")
            if match.channels:
                out.append("  channels: " + ", ".join(f"{name} {value:.3f}" for name, value in match.channels.items()))
        if self.matches:
            top = self.matches[0].score
            side = "above" if top >= self.fallback_below else "below: the fallback is given"
            out.append(f"confidence {top:.3f} against the fallback threshold {self.fallback_below:g}: {side}")
            if len(self.matches) > 1 and top >= self.fallback_below > self.matches[1].score:
                out.append(f"the runner-up ({self.matches[1].score:.3f}) is below the fallback threshold: the chosen "
                           "entry wins clearly")
            if len(self.matches) > 1 and min(top, self.matches[1].score) >= self.fallback_below:
                gap = top - self.matches[1].score
                verdict = ("the chosen entry wins clearly" if gap >= self.clarify_margin
                           else "too close: the patient is asked which one they mean")
                out.append(f"lead over the runner-up {gap:.4f} against the clarify margin "
                           f"{self.clarify_margin:g}: {verdict}")
        return out


def _shared(index: Index, query_words: list[str], text: str) -> tuple[str, ...]:
    """Return the query's (mapped) content words that a text holds, in the query's order."""
    held = set(index.forms(text)[1].split())
    return tuple(dict.fromkeys(w.replace("_", " ") for w in query_words if w in held))


def _match(engine, query_words: list[str], hit: Hit) -> Match:
    entry = engine.knowledge.entry(hit.entry_id)
    whole = f"{entry.question} {entry.answer}" if entry else ""
    return Match(hit.entry_id, hit.score, hit.matched, _shared(engine.index, query_words, hit.matched),
                 _shared(engine.index, query_words, whole))


def thresholds(engine) -> tuple[float, float]:
    """Return the fallback threshold and clarify margin in force: the knowledge base's own when it sets them."""
    thresholds = getattr(engine.knowledge, "thresholds", None)
    if thresholds is not None:
        return thresholds.fallback_below, thresholds.clarify_margin
    from bot import retrieval
    return retrieval.FALLBACK_BELOW, retrieval.CLARIFY_MARGIN


def _ranked(engine, message: str, query_words: list[str]) -> tuple[Match, ...]:
    """Return the two best entries and what matched in each: from the index's own explanation when it gives one
    (each channel's score), else from its search."""
    index = engine.index
    if hasattr(index, "explain"):
        return tuple(Match(r["entry_id"], r["confidence"], r["matched_phrasing"],
                           _shared(index, query_words, r["matched_phrasing"]),
                           tuple(w.replace("_", " ") for w in r.get("shared_words", ())), r.get("channels", {}))
                     for r in index.explain(message, limit=2))
    return tuple(_match(engine, query_words, h) for h in index.search(message, limit=MAX_SUGGESTIONS + 1)[:2])


def explain(engine, message: str) -> Why:
    """Explain the reply the engine gives a message (what `run.py ask --why` prints)."""
    reply = engine.responder.reply(message)
    verdict = triage(message, engine.lexicon)
    query_words = engine.index.forms(message)[1].split()
    return Why(message, reply.type, reply.entry_id, verdict.category, verdict.trigger, verdict.mentions,
               tuple(w.replace("_", " ") for w in query_words), _ranked(engine, message, query_words),
               *thresholds(engine))
