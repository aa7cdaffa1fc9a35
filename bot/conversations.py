"""What the bot remembers about one conversation between messages, keyed by its conversation id."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

MAX_CONVERSATIONS = 10_000


@dataclass(frozen=True)
class ConversationState:
    """One conversation's memory: whether an urgent reply was given, and which entries were answered."""

    urgent: bool = False
    last_entry: str | None = None
    answered: frozenset[str] = frozenset()


NO_STATE = ConversationState()


class Conversations:
    """Conversation memory held in this process: bounded, the least recently used forgotten first."""

    def __init__(self, limit: int = MAX_CONVERSATIONS):
        self.limit = limit
        self._states: OrderedDict[str, ConversationState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conversation: str | None) -> ConversationState:
        """Return what is remembered about a conversation (an empty state for none or an unknown id)."""
        if not conversation:
            return NO_STATE
        with self._lock:
            return self._states.get(conversation, NO_STATE)

    def remember(self, conversation: str | None, *, urgent: bool = False, entry_id: str | None = None) -> None:
        """Note an urgent reply and/or an answered entry in a conversation; nothing without an id."""
        if not conversation or not (urgent or entry_id):
            return
        with self._lock:
            state = self._states.pop(conversation, NO_STATE)
            if urgent:
                state = replace(state, urgent=True)
            if entry_id:
                state = replace(state, last_entry=entry_id, answered=state.answered | {entry_id})
            self._states[conversation] = state
            while len(self._states) > self.limit:
                self._states.popitem(last=False)

    def forget(self, conversation: str) -> None:
        """Drop everything remembered about a conversation."""
        with self._lock:
            self._states.pop(conversation, None)
