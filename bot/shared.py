"""State shared by every process through Redis, and what each process does while Redis cannot be reached."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# Short enough that a reply never waits noticeably on a Redis that went away (loopback or one LAN hop away).
REDIS_TIMEOUT_SECONDS = 0.25
# After a failure, this process answers from its own memory for this long before it tries Redis again.
RETRY_AFTER_SECONDS = 2.0


def redis_options() -> dict:
    """Return the connection options of every Redis client on the answer path (ours and the rate limit's)."""
    import inspect

    import redis
    options = {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
    # redis-py 7 and later look their own version up among the installed packages and send CLIENT SETINFO on every
    # new connection (0.25 ms of CPU and a round trip each, measured); the pools open new ones as load grows or a
    # call times out. Older versions neither do it nor know the option.
    if "driver_info" in inspect.signature(redis.connection.AbstractConnection.__init__).parameters:
        options["driver_info"] = None
    return options


def redis_client(url: str):
    """Return a redis-py client with timeouts short enough for the answer path."""
    import redis
    return redis.Redis.from_url(url, health_check_interval=30, **redis_options())


class Breaker:
    """Run actions against a shared store; on failure use a fallback, and skip the store for a while.

    `name` says what the store is for in health reasons ("conversation memory").
    """

    def __init__(self, name: str, *, retry_after: float = RETRY_AFTER_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.retry_after = retry_after
        self.clock = clock
        self._retry_at = 0.0
        self._down_since: str | None = None
        self._error = ""
        self._lock = threading.Lock()

    def run(self, action: Callable[[], T], fallback: Callable[[], T]) -> T:
        """Return action(), or fallback() when the store failed just now or recently."""
        if self._retry_at and self.clock() < self._retry_at:
            return fallback()
        try:
            result = action()
        except Exception as exc:  # noqa: BLE001 - any store failure must fall back, never reach the patient
            with self._lock:
                if self._down_since is None:
                    self._down_since = datetime.now(timezone.utc).isoformat(timespec="seconds")
                    log.warning("%s: Redis cannot be reached (%s); this process carries on with its own memory",
                                self.name, exc)
                self._error = f"{type(exc).__name__}: {exc}"
                self._retry_at = self.clock() + self.retry_after
            return fallback()
        if self._down_since is not None:
            with self._lock:
                if self._down_since is not None:
                    log.warning("%s: Redis is back", self.name)
                self._down_since, self._retry_at, self._error = None, 0.0, ""
        return result

    def problem(self) -> str | None:
        """Say what is wrong while the store is down (for /api/health), or None."""
        if self._down_since is None:
            return None
        return (f"{self.name}: Redis unreachable since {self._down_since} ({self._error}); "
                f"each process uses its own memory meanwhile")
