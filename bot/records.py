"""What faqbot keeps for staff: unanswered questions (scrubbed), answers per entry, thumbs up and down."""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.privacy import scrub, strip_controls

UNANSWERED_TYPES = ("fallback", "clarify")
VOTES = ("up", "down")
PURGE_EVERY_SECONDS = 3600
MAX_KEPT_CHARS = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS unanswered (
    text TEXT PRIMARY KEY,          -- the message with personal details removed
    type TEXT NOT NULL,             -- fallback or clarify
    count INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    raw TEXT                        -- the message as typed: only when FAQBOT_KEEP_RAW_MESSAGES is on
);
CREATE TABLE IF NOT EXISTS usage (entry_id TEXT PRIMARY KEY, answers INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (entry_id TEXT PRIMARY KEY, up INTEGER NOT NULL, down INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Unanswered:
    text: str
    type: str
    count: int
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class Usage:
    entry_id: str
    answers: int
    up: int
    down: int


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Records:
    """A small SQLite store under the data directory; personal details are removed before anything is written."""

    def __init__(self, data_dir: Path, *, retention_days: int, keep_raw: bool = False):
        self.path = Path(data_dir) / "faqbot.sqlite3"
        self.retention_days = retention_days
        self.keep_raw = keep_raw
        self._lock = threading.Lock()
        self._last_purge = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection for the store's life: opening one per message cost about 1 ms of a reply's CPU.
        self._db = self._connect()
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)
        self.purge()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _write(self, sql: str, params: tuple) -> None:
        with self._lock, self._db:
            self._db.execute(sql, params)

    def close(self) -> None:
        """Close the store's connection."""
        with self._lock:
            self._db.close()

    def record(self, message: str, reply_type: str, entry_id: str | None) -> None:
        """Keep what staff need from one reply: the scrubbed question if unanswered, the entry if answered."""
        if reply_type in UNANSWERED_TYPES:
            text = scrub(" ".join(message.split()))[:MAX_KEPT_CHARS]
            now = _now()
            self._write(
                "INSERT INTO unanswered (text, type, count, first_seen, last_seen, raw) VALUES (?, ?, 1, ?, ?, ?) "
                "ON CONFLICT(text) DO UPDATE SET count = count + 1, last_seen = excluded.last_seen, "
                "type = excluded.type",
                (text, reply_type, now, now, strip_controls(message)[:MAX_KEPT_CHARS] if self.keep_raw else None))
        elif entry_id and reply_type in ("answer", "advice"):
            self._write("INSERT INTO usage (entry_id, answers) VALUES (?, 1) "
                        "ON CONFLICT(entry_id) DO UPDATE SET answers = answers + 1", (entry_id,))
        if time.monotonic() - self._last_purge > PURGE_EVERY_SECONDS:
            self.purge()

    def vote(self, entry_id: str, vote: str) -> None:
        """Count a thumbs up or down on an entry's answer; nothing else about the person is kept."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        up, down = (1, 0) if vote == "up" else (0, 1)
        self._write("INSERT INTO feedback (entry_id, up, down) VALUES (?, ?, ?) ON CONFLICT(entry_id) DO UPDATE "
                    "SET up = up + excluded.up, down = down + excluded.down", (entry_id, up, down))

    def purge(self) -> int:
        """Delete unanswered questions not seen within the retention period; return how many went."""
        cutoff = (datetime.now(timezone.utc) - timedelta(days=self.retention_days)).isoformat(timespec="seconds")
        with self._lock, self._db:
            removed = self._db.execute("DELETE FROM unanswered WHERE last_seen < ?", (cutoff,)).rowcount
        self._last_purge = time.monotonic()
        return removed

    def unanswered(self) -> list[Unanswered]:
        """Return the unanswered questions, most asked first."""
        with self._lock:
            rows = self._db.execute("SELECT text, type, count, first_seen, last_seen FROM unanswered "
                              "ORDER BY count DESC, last_seen DESC").fetchall()
        return [Unanswered(*row) for row in rows]

    def usage(self) -> list[Usage]:
        """Return answers and votes per entry, most answered first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ids.entry_id, COALESCE(u.answers, 0), COALESCE(f.up, 0), COALESCE(f.down, 0) FROM "
                "(SELECT entry_id FROM usage UNION SELECT entry_id FROM feedback) ids "
                "LEFT JOIN usage u ON u.entry_id = ids.entry_id LEFT JOIN feedback f ON f.entry_id = ids.entry_id "
                "ORDER BY 2 DESC, 1").fetchall()
        return [Usage(*row) for row in rows]
