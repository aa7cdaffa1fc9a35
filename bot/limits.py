"""Limits on what a client may send: message shape and length, and messages per minute."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Any, Callable

MAX_CONVERSATION_ID = 100
MAX_CLIENTS_TRACKED = 50_000


class BadMessage(ValueError):
    """A message the bot cannot take; the text says what to send instead."""


def check_message(data: Any, max_chars: int) -> tuple[str, str | None]:
    """Return (message, conversation id) from a request body, or raise BadMessage saying what is wrong."""
    if not isinstance(data, dict):
        raise BadMessage('send a JSON object like {"message": "your question"}')
    message = data.get("message")
    if message is None:
        raise BadMessage('"message" is missing')
    if not isinstance(message, str):
        raise BadMessage('"message" must be text')
    if not message.strip():
        raise BadMessage('"message" is empty: type a question')
    if len(message) > max_chars:
        raise BadMessage(f'"message" is too long: {len(message):,} characters; the limit is {max_chars:,}')
    if "\x00" in message:
        raise BadMessage('"message" holds binary data')
    conversation = data.get("session", data.get("conversation"))
    if conversation is not None and (not isinstance(conversation, str) or len(conversation) > MAX_CONVERSATION_ID):
        raise BadMessage(f'"session" must be text of at most {MAX_CONVERSATION_ID} characters')
    return message, conversation or None


def locale_of(data: Any) -> str | None:
    """Return the locale profile a client asked for ("en-US"), or None; unknown names fall back to the default."""
    locale = data.get("locale") if isinstance(data, dict) else None
    return locale if isinstance(locale, str) and len(locale) <= 20 else None


class RateLimiter:
    """A sliding one-minute window of messages per client key; memory bounded by the clients it tracks."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_CLIENTS_TRACKED):
        self.per_minute = per_minute
        self.clock = clock
        self.max_clients = max_clients
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one message from key; False when it is over the limit."""
        now = self.clock()
        with self._lock:
            times = self._seen.get(key)
            if times is None:
                times = self._seen[key] = deque()
            self._seen.move_to_end(key)
            while times and now - times[0] >= 60.0:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            while len(self._seen) > self.max_clients:
                self._seen.popitem(last=False)
            return True

    def retry_after(self, key: str) -> int:
        """Seconds until key may send again."""
        with self._lock:
            times = self._seen.get(key)
            if not times:
                return 0
            return max(1, int(60.0 - (self.clock() - times[0])) + 1)
