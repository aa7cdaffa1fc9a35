"""Every reply the bot gives, built in one place and in one shape (the public reply object)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.conversations import Conversations
from bot.knowledge import Entry, Knowledge
from bot.locales import Profile
from bot.retrieval import Hit, Index
from bot.safety import Lexicon, Verdict, triage
from bot.text import normalize

log = logging.getLogger(__name__)
MAX_SUGGESTIONS = 3
# Replies already decided, by the message's normalised text: patients tap the same suggested questions and ask the
# same few things in the same words, and a responder's knowledge never changes (a reload builds a new one).
REPLY_CACHE = 4_096


@dataclass(frozen=True)
class Citation:
    source: str
    title: str
    section: str
    quote: str
    url: str


@dataclass(frozen=True)
class Reply:
    """The reply object of the public contract."""

    type: str
    text: str
    disclaimer: str
    citations: tuple[Citation, ...] = ()
    confidence: float = 0.0
    entry_id: str | None = None
    suggestions: tuple[str, ...] = ()
    trigger: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the reply as the JSON object clinics and widgets read."""
        # Spelt out rather than dataclasses.asdict(), whose deep copy was a fifth of a reply's cost.
        return {"type": self.type, "text": self.text, "disclaimer": self.disclaimer,
                "citations": [{"source": c.source, "title": c.title, "section": c.section, "quote": c.quote,
                               "url": c.url} for c in self.citations],
                "confidence": round(self.confidence, 3), "entry_id": self.entry_id,
                "suggestions": list(self.suggestions)}


class Responder:
    """Turn one message into one reply: triage first, then retrieval, then the reply's words."""

    def __init__(self, knowledge: Knowledge, index: Index, lexicon: Lexicon, profile: Profile,
                 conversations: Conversations | None = None, *, cache_size: int = REPLY_CACHE):
        self.cache_size = cache_size
        self._decided: dict[str, tuple[Verdict, Reply]] = {}
        self.knowledge = knowledge
        self.index = index
        self.lexicon = lexicon
        self.profile = profile
        self.conversations = conversations or Conversations()
        self.entries = {e.id: e for e in knowledge.entries}
        self.fallback_below = knowledge.thresholds.fallback_below
        self.clarify_margin = knowledge.thresholds.clarify_margin
        self.starters = tuple(e.question for e in knowledge.entries[:MAX_SUGGESTIONS])

    def welcome(self) -> dict[str, Any]:
        """Return the first message of a chat: what the helper is and is not, and the emergency number."""
        return {"text": self.profile.say("welcome"), "disclaimer": self.profile.say("disclaimer"),
                "suggestions": list(self.starters), "emergency_number": self.profile.emergency_number,
                "offline": self.profile.say("offline")}

    def reply(self, message: str, *, conversation: str | None = None) -> Reply:
        """Answer one message, in the safety order of docs/safety.md."""
        # Triage and retrieval read only the message's normalised form, so "What are living drugs?" and "what
        # are living drugs" are one entry.
        # (Acronyms written in capitals stay apart from the everyday word: the index's own matching form.)
        key = getattr(self.index, "matching_form", normalize)(message)
        decided = self._decided.get(key)
        if decided is None:
            decided, lasting = self._decide(message, key)
            if lasting and self.cache_size:
                if len(self._decided) >= self.cache_size:  # bounded: a stream of unique messages cannot grow it
                    self._decided.clear()
                self._decided[key] = decided
        verdict, reply = decided
        # What a conversation changes (an urgent reply earlier) is applied after the cache, never kept in it.
        if verdict.urgent:
            self.conversations.remember(conversation, urgent=True)
            return reply
        if self.conversations.get(conversation).urgent:
            reply = _prefixed(reply, self.profile.say("reminder"))
        if reply.entry_id:
            self.conversations.remember(conversation, entry_id=reply.entry_id)
        return reply

    def _decide(self, message: str, norm: str) -> tuple[tuple[Verdict, Reply], bool]:
        """Return (verdict, reply) for a message (norm: its normalised text), and whether it may be reused (not
        when retrieval failed)."""
        verdict = triage(message, self.lexicon)
        if verdict.urgent:
            return (verdict, self._urgent(verdict)), True
        if verdict.category == "smalltalk":
            return (verdict, Reply("smalltalk", self.profile.smalltalk_for(norm.split()), "",
                                   confidence=1.0, suggestions=self.starters, trigger=verdict.trigger)), True
        try:
            hits, lasting = self.index.search(message, limit=MAX_SUGGESTIONS + 1, cutoff=0.0), True
        except Exception:  # noqa: BLE001 - a broken retriever must never break the chat
            log.exception("retrieval failed; answering with the fallback")
            hits, lasting = [], False
        reply = self._advice(hits, verdict) if verdict.category == "advice" else self._retrieved(hits)
        if verdict.mentions:
            # A question that names a warning sign gets the call-now line whatever retrieval made of it: the
            # knowledge base may not cover the sign at all (a fallback), and the person may be living it now.
            reply = _prefixed(reply, self.profile.say("mention"))
        return (verdict, reply), lasting

    def _urgent(self, verdict: Verdict) -> Reply:
        return Reply("urgent", self.profile.say(verdict.category), self.profile.say("disclaimer"),
                     confidence=1.0, trigger=verdict.trigger)

    def _retrieved(self, hits: list[Hit]) -> Reply:
        disclaimer = self.profile.say("disclaimer")
        if not hits or hits[0].score < self.fallback_below:
            return Reply("fallback", self.profile.say("fallback"), disclaimer,
                         confidence=hits[0].score if hits else 0.0, suggestions=self.starters)
        top = hits[0]
        close = [h for h in hits[1:]
                 if h.score >= self.fallback_below and top.score - h.score < self.clarify_margin]
        if close:
            options = [top] + close
            return Reply("clarify", self.profile.say("clarify"), disclaimer, confidence=top.score,
                         suggestions=tuple(self.entries[h.entry_id].question for h in options))
        entry = self.entries[top.entry_id]
        return Reply("answer", entry.answer, disclaimer, self._citations(entry), top.score, entry.id,
                     self._related(entry))

    def _advice(self, hits: list[Hit], verdict: Verdict) -> Reply:
        text = self.profile.say("advice")
        disclaimer = self.profile.say("disclaimer")
        # A reply to someone who typed their own numbers adds nothing that could read as a verdict on them.
        if hits and hits[0].score >= self.fallback_below and not verdict.number_given:
            entry = self.entries[hits[0].entry_id]
            return Reply("advice", f"{text}\n\n{self.profile.say('advice_general')} {entry.answer}", disclaimer,
                         self._citations(entry), hits[0].score, entry.id, self._related(entry), verdict.trigger)
        return Reply("advice", text, disclaimer, confidence=1.0, suggestions=self.starters, trigger=verdict.trigger)

    def _citations(self, entry: Entry) -> tuple[Citation, ...]:
        cites = []
        for quote in entry.quotes:
            source = self.knowledge.sources[quote.source]
            cites.append(Citation(source.id, source.title, quote.section, quote.text, source.url))
        return tuple(cites)

    def _related(self, entry: Entry) -> tuple[str, ...]:
        related = [self.entries[r].question for r in entry.related if r in self.entries]
        return tuple(related[:MAX_SUGGESTIONS])


def _prefixed(reply: Reply, line: str) -> Reply:
    return Reply(reply.type, f"{line}\n\n{reply.text}", reply.disclaimer, reply.citations, reply.confidence,
                 reply.entry_id, reply.suggestions, reply.trigger)
