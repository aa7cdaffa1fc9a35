"""Limits on what a client may send: message shape and length, and messages per minute."""
from __future__ import annotations

import time
from typing import Any, Callable, TypeVar

from bot.shared import Breaker, redis_options

MAX_CONVERSATION_ID = 100
T = TypeVar("T")


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


def conversation_of(data: Any) -> str | None:
    """Return the conversation id a request names ("session" or "conversation"), or None when it names none."""
    conversation = data.get("session", data.get("conversation")) if isinstance(data, dict) else None
    if isinstance(conversation, str) and 0 < len(conversation) <= MAX_CONVERSATION_ID:
        return conversation
    return None


def locale_of(data: Any) -> str | None:
    """Return the locale profile a client asked for ("en-US"), or None; unknown names fall back to the default."""
    locale = data.get("locale") if isinstance(data, dict) else None
    return locale if isinstance(locale, str) and len(locale) <= 20 else None


class RateLimiter:
    """Messages per client key in a sliding one-minute window, through the `limits` library.

    With a Redis URL the window is kept in Redis, so every process (and both channels, HTTP and Socket.IO)
    draws on one budget per client; while Redis cannot be reached each process counts in its own memory.
    The window is a sliding-window counter (this minute's count plus the last minute's, weighted by how much of
    it the window still covers): two numbers per client, where a moving window keeps every message's time and
    its memory store scans them all every 10 ms under traffic (bench/LOAD.md, the shared path).
    """

    def __init__(self, per_minute: int, *, storage_url: str = ""):
        from limits import RateLimitItemPerMinute
        from limits.storage import MemoryStorage, storage_from_string
        from limits.strategies import SlidingWindowCounterRateLimiter
        self.per_minute = per_minute
        self.item = RateLimitItemPerMinute(per_minute, namespace="faqbot")
        self.local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.shared = None
        self.breaker = Breaker("rate limits")
        if storage_url:
            storage = storage_from_string(storage_url, **redis_options())
            self.shared = SlidingWindowCounterRateLimiter(storage)

    def _run(self, call: Callable[[Any], T]) -> T:
        if self.shared is None:
            return call(self.local)
        return self.breaker.run(lambda: call(self.shared), lambda: call(self.local))

    def allow(self, key: str) -> bool:
        """Count one message from key; False when it is over the limit."""
        return self._run(lambda limiter: limiter.hit(self.item, key))

    def retry_after(self, key: str) -> int:
        """Seconds until key may send again."""
        reset = self._run(lambda limiter: limiter.get_window_stats(self.item, key).reset_time)
        return max(1, int(reset - time.time()) + 1)

    def problem(self) -> str | None:
        """Say what is wrong while the shared budget cannot be reached (for /api/health), or None."""
        return self.breaker.problem()
