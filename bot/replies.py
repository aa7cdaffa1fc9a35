"""Every reply the bot gives, built in one place and in one shape (the public reply object)."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any

from bot import followups
from bot.conversations import ConversationState, Conversations
from bot.knowledge import Entry, Knowledge
from bot.locales import Profile
from bot.retrieval import Hit, Index
from bot.safety import Lexicon, Verdict, triage
from bot.text import collapse_space, normalize

log = logging.getLogger(__name__)
MAX_SUGGESTIONS = 3
# "Tell me more" quotes at most this many further passages of the source.
MAX_FURTHER = 3
# A follow-up's own hit below this share of the fallback threshold does not count as found.
OWN_SHARE = 0.1
# How many of its own hits a follow-up keeps for the last entry's words to re-rank.
FOLLOW_UP_HITS = 8
_PARAGRAPHS = re.compile(r"\n\s*\n")
# Replies already decided, by the message's normalised text: patients tap the same suggested questions and ask the
# same few things in the same words, and a responder's knowledge never changes (a reload builds a new one).
REPLY_CACHE = 4_096


@dataclass(frozen=True)
class Thresholds:
    """The retrieval thresholds replies are decided by, and the weight of a conversation's last entry."""

    fallback: float
    clarify: float
    # A follow-up's score: its own, plus this share of its score with the last entry's question added; the sum
    # must reach the fallback threshold like any other answer's. On the calibrated confidence (bot/retrieval.py)
    # 0.3 no longer lifted "how many got it" after deep remission (0.45 + 0.3 x 1.0 under the shipped 0.84); half
    # does, and "what about the weather today" after an answer still stays far under (0 + 0.5 x 0.72).
    context: float = 0.5


def thresholds_for(knowledge: Knowledge) -> Thresholds:
    """Return the thresholds in force for a knowledge base: its own (settings.yaml), or the defaults."""
    return Thresholds(knowledge.thresholds.fallback_below, knowledge.thresholds.clarify_margin)


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
    # What kind of reply within its type: "contact" (the way to a person), "more" (further on the last answer).
    kind: str = ""
    trigger: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the reply as the JSON object clinics and widgets read."""
        # Spelt out rather than dataclasses.asdict(), whose deep copy was a fifth of a reply's cost.
        return {"type": self.type, "text": self.text, "disclaimer": self.disclaimer,
                "citations": [{"source": c.source, "title": c.title, "section": c.section, "quote": c.quote,
                               "url": c.url} for c in self.citations],
                "confidence": round(self.confidence, 3), "entry_id": self.entry_id,
                "suggestions": list(self.suggestions), "kind": self.kind}


class Responder:
    """Turn one message into one reply: triage first, then retrieval, then the reply's words."""

    def __init__(self, knowledge: Knowledge, index: Index, lexicon: Lexicon, profile: Profile,
                 conversations: Conversations | None = None, *, cache_size: int = REPLY_CACHE):
        self.cache_size = cache_size
        # (verdict, reply, whether any last entry would give the same reply) by the message's matching form.
        self._decided: dict[str, tuple[Verdict, Reply, bool]] = {}
        self.knowledge = knowledge
        self.index = index
        self.lexicon = lexicon
        self.profile = profile
        self.conversations = conversations or Conversations()
        self.entries = {e.id: e for e in knowledge.entries}
        self.starters = tuple(e.question for e in knowledge.entries[:MAX_SUGGESTIONS])
        self.thresholds = thresholds_for(knowledge)
        self.more_chip = profile.say("more_chip")
        # The chip's own words ask for more, whatever words the clinic gave it.
        self._more_words = frozenset({normalize(self.more_chip)})
        self._further: dict[str, tuple[Citation, ...]] = {}

    def welcome(self) -> dict[str, Any]:
        """Return the first message of a chat: what the helper is and is not, the emergency number, and the way
        to a person (shown by the chat's "Contact the clinic" control without asking the server)."""
        return {"text": self.profile.say("welcome"), "disclaimer": self.profile.say("disclaimer"),
                "suggestions": list(self.starters), "emergency_number": self.profile.emergency_number,
                "offline": self.profile.say("offline"), "contact": self.profile.contact(),
                "contacts": self.profile.contacts.to_dict()}

    def reply(self, message: str, *, conversation: str | None = None) -> Reply:
        """Answer one message, in the safety order of docs/safety.md."""
        # Triage and retrieval read only the message's normalised form, so "What are living drugs?" and "what
        # are living drugs" are one entry.
        key = normalize(message)
        # Acronyms written in capitals stay apart from the everyday word: the cache keys on the index's own form.
        form = getattr(self.index, "matching_form", normalize)(message)
        # Decided on what this process remembers of the conversation, then settled with the shared memory in one
        # round trip (its facts written there); decided again only when another process changed what this reply
        # reads of it.
        state = self.conversations.peek(conversation)
        context = self._context(state, key)
        verdict, reply = self._cached_decision(message, key, form, context)
        held = self.conversations.settle(conversation, state, urgent=verdict.urgent, entry_id=_answered(verdict, reply))
        if held is not None:
            state = held
            held_context = self._context(held, key)
            if held_context != context:
                verdict, reply = self._cached_decision(message, key, form, held_context)
            self.conversations.remember(conversation, urgent=verdict.urgent, entry_id=_answered(verdict, reply))
        # What a conversation changes (an urgent reply earlier) is applied after the cache, never kept in it.
        if state.urgent and not verdict.urgent:
            reply = _prefixed(reply, self.profile.say("reminder"))
        return reply

    def _context(self, state: ConversationState, key: str) -> str | None:
        """Return the last entry a message (key: its normalised text) may lean on in a conversation, or None."""
        context = state.last_entry if state.last_entry in self.entries else None
        if context and not followups.leans(key, self._more_words):
            return None
        return context

    def _cached_decision(self, message: str, key: str, form: str, context: str | None) -> tuple[Verdict, Reply]:
        """Return the verdict and reply for a message after a last entry (or none), from the cache when decided
        before."""
        # A reply is remembered under the words alone when no last entry could change it (most replies: urgent,
        # smalltalk, advice, and an answer the words found on their own), else under the words and that entry. Keyed
        # by (words, entry) alone, almost every message of a conversation (any short one leans) missed: the
        # knowledge base's entries times its messages outgrew the cache, which then kept emptying itself.
        if not form:
            # Emoji alone normalise to nothing and are read by their names ("🤮" is a sign, "😊" smalltalk): such
            # messages share no words to remember a reply under.
            decided, _ = self._decide(message, key, context)
            return decided[0], decided[1]
        decided = self._decided.get(f"{form}\n{context}") if context else None
        if decided is None:
            shared = self._decided.get(form)
            if shared is not None and (context is None or shared[2]):
                decided = shared
        if decided is None:
            decided, lasting = self._decide(message, key, context)
            if lasting and self.cache_size:
                if len(self._decided) >= self.cache_size:  # bounded: a stream of unique messages cannot grow it
                    self._decided.clear()
                self._decided[form if context is None or decided[2] else f"{form}\n{context}"] = decided
        return decided[0], decided[1]

    def _decide(self, message: str, norm: str,
                context: str | None = None) -> tuple[tuple[Verdict, Reply, bool], bool]:
        """Return (verdict, reply, whether the reply is the same after any last entry) for a message (norm: its
        normalised text; context: the last entry it may lean on), and whether it may be reused (not when
        retrieval failed)."""
        # Triage reads the new message alone: a follow-up never inherits a verdict, nor hides a new sign.
        verdict = triage(message, self.lexicon)
        if verdict.urgent:
            return (verdict, self._urgent(verdict), True), True
        if verdict.category == "smalltalk":
            return (verdict, Reply("smalltalk", self.profile.smalltalk_for(norm.split()), "",
                                   confidence=1.0, suggestions=self.starters, trigger=verdict.trigger), True), True
        if verdict.category == "contact":
            reply = Reply("smalltalk", self.profile.contact(), "", confidence=1.0, suggestions=self.starters,
                          kind="contact", trigger=verdict.trigger)
            return (verdict, self._mentioned(reply, verdict), True), True
        # "Tell me more", "why?": read against whatever entry was answered last.
        about_last = verdict.category != "advice" and (
            followups.asks_more(norm, self._more_words) or followups.about_it(norm))
        if context and about_last:
            return (verdict, self._mentioned(self._more(self.entries[context]), verdict), False), True
        # A follow-up's own hits reach further down: context may lift one of them, never add one.
        hits, lasting = self._search(message, FOLLOW_UP_HITS if context else MAX_SUGGESTIONS + 1)
        if verdict.category == "advice":
            return (verdict, self._mentioned(self._advice(hits, verdict), verdict), True), lasting
        reply = self._retrieved(hits)
        # An answer its own words found stands after any last entry (only the first hits decide it).
        any_context = reply.type == "answer" and not about_last
        if context and reply.type != "answer":
            # Only where its own words leave it unsure does a follow-up lean on the last entry's words.
            near, near_lasting = self._search(f"{message} {self.entries[context].question}", FOLLOW_UP_HITS)
            lasting = lasting and near_lasting
            reply = self._retrieved(self._blend(hits, near))
        return (verdict, self._mentioned(reply, verdict), any_context), lasting

    def _search(self, query: str, limit: int = MAX_SUGGESTIONS + 1) -> tuple[list[Hit], bool]:
        """Return the hits for a query, and False when retrieval failed (then no hits)."""
        try:
            return self.index.search(query, limit=limit, cutoff=0.0), True
        except Exception:  # noqa: BLE001 - a broken retriever must never break the chat
            log.exception("retrieval failed; answering with the fallback")
            return [], False

    def _blend(self, own: list[Hit], near: list[Hit]) -> list[Hit]:
        """Return a follow-up's hits: each entry its own words found, scored on its own plus a share of its score
        next to the last entry's words (an entry its own words did not find stays out, whatever the context)."""
        # An entry its own words barely found (under a tenth of the fallback threshold) is not found: the last
        # entry's words alone must never lift it to an answer ("what about the football" after an answer).
        own = [h for h in own if h.score >= OWN_SHARE * self.thresholds.fallback]
        scores = {h.entry_id: h.score for h in own}
        for hit in near:
            if hit.entry_id in scores:
                scores[hit.entry_id] += self.thresholds.context * hit.score
        ranked = sorted(own, key=lambda h: -scores[h.entry_id])
        return [Hit(h.entry_id, min(1.0, scores[h.entry_id]), h.matched) for h in ranked[:MAX_SUGGESTIONS + 1]]

    def _mentioned(self, reply: Reply, verdict: Verdict) -> Reply:
        """Put the call-now line ahead of a reply to a message that names a warning sign."""
        if verdict.mentions:
            # A question that names a warning sign gets the call-now line whatever retrieval made of it: the
            # knowledge base may not cover the sign at all (a fallback), and the person may be living it now.
            return _prefixed(reply, self.profile.say("mention"))
        return reply

    def _urgent(self, verdict: Verdict) -> Reply:
        text = self.profile.say(verdict.category)
        if verdict.category == "crisis" and verdict.mentions:
            # "cant see the point anymore, been feeling sick for days": a crisis that also names a sign gets the
            # care team's number after the crisis lines.
            text += "\n" + self.profile.say("mention")
        return Reply("urgent", text, self.profile.say("disclaimer"), confidence=1.0, trigger=verdict.trigger)

    def _retrieved(self, hits: list[Hit]) -> Reply:
        disclaimer = self.profile.say("disclaimer")
        fallback, margin = self.thresholds.fallback, self.thresholds.clarify
        hits = hits[:MAX_SUGGESTIONS + 1]
        if not hits or hits[0].score < fallback:
            return Reply("fallback", self.profile.say("fallback"), disclaimer,
                         confidence=hits[0].score if hits else 0.0, suggestions=self.starters)
        top = hits[0]
        close = [h for h in hits[1:] if h.score >= fallback and top.score - h.score < margin]
        if close:
            options = [top] + close
            return Reply("clarify", self.profile.say("clarify"), disclaimer, confidence=top.score,
                         suggestions=tuple(self.entries[h.entry_id].question for h in options))
        entry = self.entries[top.entry_id]
        suggestions = self._related(entry)
        if self.further(entry):
            suggestions += (self.more_chip,)
        return Reply("answer", entry.answer, disclaimer, self._citations(entry), top.score, entry.id, suggestions)

    def _more(self, entry: Entry) -> Reply:
        """Answer "tell me more" about an entry: the source's further words around its quotes, and its related
        questions; or say that is all, with the entry's own quotes."""
        disclaimer = self.profile.say("disclaimer")
        further = self.further(entry)
        suggestions = self._related(entry) or self.starters
        if further:
            return Reply("answer", self.profile.say("more"), disclaimer, further, 1.0, entry.id, suggestions,
                         kind="more")
        return Reply("answer", self.profile.say("no_more"), disclaimer, self._citations(entry), 1.0, entry.id,
                     suggestions, kind="more")

    def further(self, entry: Entry) -> tuple[Citation, ...]:
        """Return the passages of the source around an entry's quotes that its answer does not quote: each
        quote's whole paragraph, or the paragraph after it when the quote is a paragraph of its own."""
        found = self._further.get(entry.id)
        if found is not None:
            return found
        shown = {quote.text for quote in entry.quotes}
        picked: list[Citation] = []
        for quote in entry.quotes:
            source = self.knowledge.sources[quote.source]
            section = source.section(quote.section)
            paragraphs = _passages(section.text if section else "")
            for at, paragraph in enumerate(paragraphs):
                if quote.text not in paragraph:
                    continue
                if paragraph == quote.text:
                    # The next passage says more; a lead-in ("Key findings included:") says nothing on its own.
                    after = [p for p in paragraphs[at + 1:] if not p.endswith(":")]
                    paragraph = after[0] if after else ""
                if paragraph and paragraph not in shown and all(c.quote != paragraph for c in picked):
                    picked.append(Citation(source.id, source.title, quote.section, paragraph, source.url))
                break
        found = self._further[entry.id] = tuple(picked[:MAX_FURTHER])
        return found

    def _advice(self, hits: list[Hit], verdict: Verdict) -> Reply:
        text = self.profile.say("advice")
        disclaimer = self.profile.say("disclaimer")
        # A reply to someone who typed their own numbers adds nothing that could read as a verdict on them.
        if hits and hits[0].score >= self.thresholds.fallback and not verdict.number_given:
            entry = self.entries[hits[0].entry_id]
            return Reply("advice", f"{text}\n\n{self.profile.say('advice_general')} {entry.answer}", disclaimer,
                         self._citations(entry), hits[0].score, entry.id, self._related(entry),
                         trigger=verdict.trigger)
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


def _passages(text: str) -> list[str]:
    """Split a section into its paragraphs, each item of a bulleted list a passage of its own."""
    passages = []
    for block in _PARAGRAPHS.split(text):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and all(line[:2] in ("- ", "* ") for line in lines):
            passages += [collapse_space(line[2:]) for line in lines]
        elif lines:
            passages.append(collapse_space(block))
    return passages


def _answered(verdict: Verdict, reply: Reply) -> str | None:
    """Return the entry a reply answered, for the conversation to remember (none after an urgent reply)."""
    return None if verdict.urgent else reply.entry_id


def _prefixed(reply: Reply, line: str) -> Reply:
    return replace(reply, text=f"{line}\n\n{reply.text}")
