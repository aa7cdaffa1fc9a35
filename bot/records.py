"""What faqbot keeps for staff: unanswered and low-confidence questions (scrubbed), answers per entry and per day,
thumbs up and down with the (scrubbed) question that was voted on."""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.privacy import scrub, strip_controls

UNANSWERED_TYPES = ("fallback", "clarify")
# An answer given with a confidence near the fallback threshold is kept beside the unanswered questions.
LOW_CONFIDENCE = "low-confidence"
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
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id TEXT NOT NULL,
    vote TEXT NOT NULL,             -- up or down
    at TEXT NOT NULL,
    question TEXT,                  -- the question voted on, with personal details removed
    knowledge_version TEXT,         -- the knowledge version that answered
    answer TEXT                     -- the answer it got, as the knowledge base said it then
);
CREATE TABLE IF NOT EXISTS daily (day TEXT NOT NULL, type TEXT NOT NULL, count INTEGER NOT NULL,
                                  PRIMARY KEY (day, type));
"""
# Columns added to a table after its first release: a store made by an older faqbot gains them on open.
_ADDED_COLUMNS = {"unanswered": (("knowledge_version", "TEXT"),  # the knowledge base that last failed to answer it
                                 ("entry_id", "TEXT"))}           # the entry a low-confidence answer gave


@dataclass(frozen=True)
class Unanswered:
    text: str
    type: str
    count: int
    first_seen: str
    last_seen: str
    knowledge_version: str | None = None
    entry_id: str | None = None  # the entry a low-confidence answer gave


@dataclass(frozen=True)
class Voted:
    """One thumbs up or down, with the question voted on (scrubbed) and the answer it got."""

    entry_id: str
    vote: str
    question: str | None = None
    knowledge_version: str | None = None
    at: str = ""
    answer: str | None = None


@dataclass(frozen=True)
class Day:
    day: str
    type: str
    count: int


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
            for table, columns in _ADDED_COLUMNS.items():
                have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns:
                    if name not in have:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        self.purge()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _write(self, *statements: tuple[str, tuple]) -> None:
        """Run statements in one transaction."""
        with self._lock, self._db:
            for sql, params in statements:
                self._db.execute(sql, params)

    def close(self) -> None:
        """Close the store's connection."""
        with self._lock:
            self._db.close()

    def record(self, message: str, reply_type: str, entry_id: str | None, *, knowledge_version: str | None = None,
               low_confidence: bool = False) -> None:
        """Keep what staff need from one reply: the day's count by type, the scrubbed question if unanswered
        (or answered with low confidence), the entry if answered."""
        now = _now()
        statements = [("INSERT INTO daily (day, type, count) VALUES (?, ?, 1) "
                       "ON CONFLICT(day, type) DO UPDATE SET count = count + 1", (now[:10], reply_type))]
        if reply_type in UNANSWERED_TYPES or low_confidence:
            text = scrub(" ".join(message.split()))[:MAX_KEPT_CHARS]
            kind = reply_type if reply_type in UNANSWERED_TYPES else LOW_CONFIDENCE
            statements.append((
                "INSERT INTO unanswered (text, type, count, first_seen, last_seen, raw, knowledge_version, entry_id) "
                "VALUES (?, ?, 1, ?, ?, ?, ?, ?) "
                "ON CONFLICT(text) DO UPDATE SET count = count + 1, last_seen = excluded.last_seen, "
                "type = excluded.type, knowledge_version = excluded.knowledge_version, entry_id = excluded.entry_id",
                (text, kind, now, now, strip_controls(message)[:MAX_KEPT_CHARS] if self.keep_raw else None, knowledge_version,
                 entry_id if kind == LOW_CONFIDENCE else None)))
        if entry_id and reply_type in ("answer", "advice"):
            statements.append(("INSERT INTO usage (entry_id, answers) VALUES (?, 1) "
                               "ON CONFLICT(entry_id) DO UPDATE SET answers = answers + 1", (entry_id,)))
        self._write(*statements)
        if time.monotonic() - self._last_purge > PURGE_EVERY_SECONDS:
            self.purge()

    def vote(self, entry_id: str, vote: str, *, question: str | None = None, knowledge_version: str | None = None,
             answer: str | None = None) -> None:
        """Count a thumbs up or down on an entry's answer, with the question voted on (personal details removed)
        and the answer it got; nothing else about the person is kept."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        up, down = (1, 0) if vote == "up" else (0, 1)
        kept = scrub(" ".join(question.split()))[:MAX_KEPT_CHARS] if question else None
        self._write(("INSERT INTO feedback (entry_id, up, down) VALUES (?, ?, ?) ON CONFLICT(entry_id) DO UPDATE "
                     "SET up = up + excluded.up, down = down + excluded.down", (entry_id, up, down)),
                    ("INSERT INTO votes (entry_id, vote, at, question, knowledge_version, answer) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (entry_id, vote, _now(), kept, knowledge_version, answer[:MAX_KEPT_CHARS] if answer else None)))

    def purge(self) -> int:
        """Delete unanswered questions not seen, and votes not cast, within the retention period; return how many
        unanswered questions went."""
        cutoff = (datetime.now(timezone.utc) - timedelta(days=self.retention_days)).isoformat(timespec="seconds")
        with self._lock, self._db:
            removed = self._db.execute("DELETE FROM unanswered WHERE last_seen < ?", (cutoff,)).rowcount
            self._db.execute("DELETE FROM votes WHERE at < ?", (cutoff,))
        self._last_purge = time.monotonic()
        return removed

    def unanswered(self) -> list[Unanswered]:
        """Return the unanswered and low-confidence questions, most asked first."""
        with self._lock:
            rows = self._db.execute("SELECT text, type, count, first_seen, last_seen, knowledge_version, entry_id "
                                    "FROM unanswered ORDER BY count DESC, last_seen DESC, text").fetchall()
        return [Unanswered(*row) for row in rows]

    def votes(self) -> list[Voted]:
        """Return the single votes still kept, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT entry_id, vote, question, knowledge_version, at, answer FROM votes "
                                    "ORDER BY id").fetchall()
        return [Voted(*row) for row in rows]

    def daily(self) -> list[Day]:
        """Return how many messages got each reply type, day by day, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT day, type, count FROM daily ORDER BY day, type").fetchall()
        return [Day(*row) for row in rows]

    def usage(self) -> list[Usage]:
        """Return answers and votes per entry, most answered first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ids.entry_id, COALESCE(u.answers, 0), COALESCE(f.up, 0), COALESCE(f.down, 0) FROM "
                "(SELECT entry_id FROM usage UNION SELECT entry_id FROM feedback) ids "
                "LEFT JOIN usage u ON u.entry_id = ids.entry_id LEFT JOIN feedback f ON f.entry_id = ids.entry_id "
                "ORDER BY 2 DESC, 1").fetchall()
        return [Usage(*row) for row in rows]
