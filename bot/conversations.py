"""What the bot remembers about one conversation between messages, keyed by its conversation id."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Callable

from bot.shared import Breaker, redis_client

MAX_CONVERSATIONS = 10_000
# A conversation is forgotten this long after its last remembered reply (a chat tab left open overnight).
CONVERSATION_SECONDS = 24 * 3600
REDIS_PREFIX = "faqbot:conversation:"


@dataclass(frozen=True)
class ConversationState:
    """One conversation's memory: whether an urgent reply was given, and which entries were answered."""

    urgent: bool = False
    last_entry: str | None = None
    answered: frozenset[str] = frozenset()


NO_STATE = ConversationState()


class Conversations:
    """Conversation memory held in this process: bounded, the least recently used forgotten first."""

    def __init__(self, limit: int = MAX_CONVERSATIONS, *, ttl: float = CONVERSATION_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.ttl = ttl
        self.clock = clock
        self._states: OrderedDict[str, tuple[ConversationState, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conversation: str | None) -> ConversationState:
        """Return what is remembered about a conversation (an empty state for none or an unknown id)."""
        if not conversation:
            return NO_STATE
        with self._lock:
            state, expires = self._states.get(conversation, (NO_STATE, 0.0))
            if state is not NO_STATE and expires <= self.clock():
                del self._states[conversation]
                return NO_STATE
            return state

    def remember(self, conversation: str | None, *, urgent: bool = False, entry_id: str | None = None) -> None:
        """Note an urgent reply and/or an answered entry in a conversation; nothing without an id."""
        if not conversation or not (urgent or entry_id):
            return
        with self._lock:
            state, expires = self._states.pop(conversation, (NO_STATE, 0.0))
            if expires <= self.clock():
                state = NO_STATE
            self._states[conversation] = (_added(state, urgent, entry_id), self.clock() + self.ttl)
            while len(self._states) > self.limit:
                self._states.popitem(last=False)

    def forget(self, conversation: str) -> None:
        """Drop everything remembered about a conversation."""
        with self._lock:
            self._states.pop(conversation, None)

    def peek(self, conversation: str | None) -> ConversationState:
        """Return what this process itself remembers about a conversation (here: all there is)."""
        return self.get(conversation)

    def settle(self, conversation: str | None, assumed: ConversationState, *, urgent: bool = False,
               entry_id: str | None = None) -> ConversationState | None:
        """Remember a reply's facts (as remember()) when the reply was decided on what the conversation holds;
        return None then. Nothing else can change this store between peek() and here but this process's own
        chats, as with get() and remember()."""
        self.remember(conversation, urgent=urgent, entry_id=entry_id)
        return None

    def problem(self) -> str | None:
        """Say what is wrong with the store (for /api/health); memory never fails."""
        return None


def _state(fields: dict[bytes, bytes]) -> ConversationState:
    """Return the state a conversation's Redis hash holds."""
    if not fields:
        return NO_STATE
    last = fields.get(b"last")
    answered = fields.get(b"answered")
    return ConversationState(fields.get(b"urgent") == b"1", last.decode() if last else None,
                             frozenset(answered.decode().split("\n")) if answered else frozenset())


def _added(state: ConversationState, urgent: bool, entry_id: str | None) -> ConversationState:
    if urgent:
        state = replace(state, urgent=True)
    if entry_id:
        state = replace(state, last_entry=entry_id, answered=state.answered | {entry_id})
    return state


# One hash per conversation, changed in one round trip: `urgent`, `last` (the entry answered last) and `answered`
# (the entries answered, one per line).
_REMEMBER = """
if ARGV[1] == '1' then redis.call('hset', KEYS[1], 'urgent', '1') end
if ARGV[2] ~= '' then
    redis.call('hset', KEYS[1], 'last', ARGV[2])
    local answered = redis.call('hget', KEYS[1], 'answered') or ''
    if not string.find('\\n' .. answered .. '\\n', '\\n' .. ARGV[2] .. '\\n', 1, true) then
        if answered == '' then answered = ARGV[2] else answered = answered .. '\\n' .. ARGV[2] end
        redis.call('hset', KEYS[1], 'answered', answered)
    end
end
redis.call('expire', KEYS[1], ARGV[3])
"""
# remember() only if the conversation still holds what the reply was decided on (ARGV[4]: urgent given, '1' or '';
# ARGV[5]: the last entry, or ''): what a reply reads of it is whether an urgent reply came and the last entry.
# Otherwise nothing is written and the hash is returned, for the reply to be decided again. So a reply decided on
# this process's own memory reads and writes its conversation in one round trip.
_SETTLE = """
local held = redis.call('hmget', KEYS[1], 'urgent', 'last')
if (held[1] == '1' and ARGV[4] ~= '1') or (held[2] and held[2] ~= ARGV[5]) then
    return redis.call('hgetall', KEYS[1])
end
if ARGV[1] == '' and ARGV[2] == '' then return 0 end
""" + _REMEMBER + """
return 0
"""


class RedisConversations:
    """Conversation memory in Redis, shared by every process, each conversation kept for `ttl` seconds.

    Every fact is also kept in this process's own memory: while Redis cannot be reached the process answers from
    that (an urgent reply given here is still remembered here), and what it learnt meanwhile is merged in when
    reading.
    """

    def __init__(self, url: str, *, ttl: float = CONVERSATION_SECONDS, local: Conversations | None = None,
                 client=None):
        self.ttl = max(1, int(ttl))
        self.local = local or Conversations(ttl=ttl)
        self.redis = client or redis_client(url)
        self._remember = self.redis.register_script(_REMEMBER)
        self._settle = self.redis.register_script(_SETTLE)
        self.breaker = Breaker("conversation memory")

    def get(self, conversation: str | None) -> ConversationState:
        """Return what any process remembers about a conversation."""
        if not conversation:
            return NO_STATE
        local = self.local.get(conversation)
        shared = self.breaker.run(lambda: self._read(conversation), lambda: NO_STATE)
        if shared is NO_STATE:
            return local
        if local is NO_STATE:
            return shared
        return ConversationState(shared.urgent or local.urgent, shared.last_entry or local.last_entry,
                                 shared.answered | local.answered)

    def _read(self, conversation: str) -> ConversationState:
        return _state(self.redis.hgetall(REDIS_PREFIX + conversation))

    def peek(self, conversation: str | None) -> ConversationState:
        """Return what this process remembers about a conversation, without asking Redis: what settle() checks
        a reply against (with sticky sockets, each conversation's messages come to one process)."""
        return self.local.get(conversation)

    def settle(self, conversation: str | None, assumed: ConversationState, *, urgent: bool = False,
               entry_id: str | None = None) -> ConversationState | None:
        """Remember a reply's facts, for every process, if the reply was decided on what the conversation holds
        (`assumed`, from peek(): whether an urgent reply came, and the last entry); return None then. Otherwise
        write nothing and return what the conversation holds (as get() would), to decide the reply again."""
        if not conversation:
            return None
        args = ["1" if urgent else "", entry_id or "", self.ttl, "1" if assumed.urgent else "",
                assumed.last_entry or ""]
        # While Redis cannot be reached the reply stands on this process's memory, as with get().
        held = self.breaker.run(lambda: self._settle(keys=[REDIS_PREFIX + conversation], args=args), lambda: 0)
        if not isinstance(held, list):
            self.local.remember(conversation, urgent=urgent, entry_id=entry_id)
            return None
        shared = _state(dict(zip(held[::2], held[1::2])))
        # This process now knows what another one remembered, so the conversation's next message is settled in
        # one round trip again. What it learnt while Redis was away counts too, as in get().
        self.local.remember(conversation, urgent=shared.urgent, entry_id=shared.last_entry)
        return ConversationState(shared.urgent or assumed.urgent, shared.last_entry or assumed.last_entry,
                                 shared.answered | assumed.answered)

    def remember(self, conversation: str | None, *, urgent: bool = False, entry_id: str | None = None) -> None:
        """Note an urgent reply and/or an answered entry, for every process."""
        if not conversation or not (urgent or entry_id):
            return
        self.local.remember(conversation, urgent=urgent, entry_id=entry_id)
        args = ["1" if urgent else "", entry_id or "", self.ttl]
        self.breaker.run(lambda: self._remember(keys=[REDIS_PREFIX + conversation], args=args), lambda: None)

    def forget(self, conversation: str) -> None:
        """Drop everything remembered about a conversation, everywhere."""
        self.local.forget(conversation)
        self.breaker.run(lambda: self.redis.delete(REDIS_PREFIX + conversation), lambda: None)

    def problem(self) -> str | None:
        """Say what is wrong while Redis cannot be reached (for /api/health), or None."""
        return self.breaker.problem()


def conversations_for(message_queue: str, *, ttl: float = CONVERSATION_SECONDS):
    """Return the conversation store for a deployment: Redis when the processes share a queue, else memory."""
    if message_queue.startswith(("redis://", "rediss://")):
        return RedisConversations(message_queue, ttl=ttl)
    return Conversations(ttl=ttl)
