"""What faqbot keeps for staff: unanswered and low-confidence questions (scrubbed), answers per entry and replies
per day, thumbs up and down with the (scrubbed) question voted on and the answer it got.

One database for every process and machine, through SQLAlchemy Core: SQLite under the data directory by default,
PostgreSQL when FAQBOT_DATABASE_URL names one. Replies never wait on it: `Recorder` takes what a reply leaves for
staff into a bounded queue that one writer thread drains.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Sequence, Union

from sqlalchemy import (Column, Integer, MetaData, String, Table, Text, create_engine, desc, event, func, inspect,
                        select, text, union)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from bot.privacy import scrub, strip_controls

log = logging.getLogger(__name__)

UNANSWERED_TYPES = ("fallback", "clarify")
# An answer given with a confidence near the fallback threshold is kept beside the unanswered questions.
LOW_CONFIDENCE = "low-confidence"
ANSWERED_TYPES = ("answer", "advice")
VOTES = ("up", "down")
PURGE_EVERY_SECONDS = 3600
MAX_KEPT_CHARS = 500
SQLITE_FILE = "faqbot.sqlite3"
# A writer that finds the SQLite file locked gives up after this and tries again later, rather than waiting.
SQLITE_BUSY_SECONDS = 0.1
POSTGRES_CONNECT_SECONDS = 3
# Records held in memory while the database is slow or down; past this, new ones are counted as lost.
QUEUE_CAPACITY = 10_000
BATCH = 1_000
# The writer gathers what arrives this long after a batch's first record before writing it: a transaction (a
# connection, its pragmas, the statements, the commit) costs the writer thread 1.4-3.3 ms of CPU whatever its size,
# and that thread holds the same interpreter lock the chats need, so one per record cost more than answering
# (bench/LOAD.md, the shared path, third round). A record reaches the database at most this much later (`flush`
# does not wait for it).
LINGER_SECONDS = 0.25
LINGER_STEP_SECONDS = 0.025
# /api/health stays "degraded" this long after the last record was lost.
RECENT_LOSS_SECONDS = 60.0
MAX_RETRY_WAIT = 1.0

metadata = MetaData()
unanswered_table = Table(
    "unanswered", metadata,
    Column("text", String(MAX_KEPT_CHARS), primary_key=True),  # the message with personal details removed
    Column("type", String(16), nullable=False),  # fallback or clarify, as last replied
    Column("count", Integer, nullable=False),
    Column("first_seen", String(32), nullable=False),  # UTC, ISO 8601 to the second: sorts as text
    Column("last_seen", String(32), nullable=False),
    Column("knowledge_version", String(64)),  # the knowledge base that last could not answer it
    Column("raw", Text),  # the message as typed: only when FAQBOT_KEEP_RAW_MESSAGES is on
    Column("entry_id", String(200)),  # the entry a low-confidence answer gave
)
usage_table = Table(
    "usage", metadata,
    Column("entry_id", String(200), primary_key=True),
    Column("answers", Integer, nullable=False),
)
feedback_table = Table(
    "feedback", metadata,
    Column("entry_id", String(200), primary_key=True),
    Column("up", Integer, nullable=False),
    Column("down", Integer, nullable=False),
)
# One row per vote, purged with the retention period (the totals above stay): what the voter had asked, scrubbed,
# when the caller knows it, and which knowledge base answered.
votes_table = Table(
    "votes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", String(200), nullable=False),
    Column("vote", String(4), nullable=False),
    Column("at", String(32), nullable=False),
    Column("question", String(MAX_KEPT_CHARS)),
    Column("knowledge_version", String(64)),
    Column("answer", Text),  # the answer it got, as the knowledge base said it then
)
# How many replies of each type went out each day (the console's chart of questions over time).
daily_table = Table(
    "daily", metadata,
    Column("day", String(10), primary_key=True),  # UTC, YYYY-MM-DD
    Column("type", String(16), primary_key=True),
    Column("count", Integer, nullable=False),
)
# Columns added since the first schema, added to an older database when it is opened.
_ADDED_COLUMNS = {"unanswered": {"knowledge_version": "VARCHAR(64)", "entry_id": "VARCHAR(200)"},
                  "votes": {"answer": "TEXT"}}


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


@dataclass(frozen=True)
class Asked:
    """What one reply leaves for staff."""

    message: str
    reply_type: str
    entry_id: str | None
    knowledge_version: str | None = None
    at: str = field(default_factory=lambda: _now())
    low_confidence: bool = False  # an answer near the fallback threshold: kept beside the unanswered questions


@dataclass(frozen=True)
class Voted:
    """One thumbs up or down, with the question voted on (scrubbed) and the answer it got."""

    entry_id: str
    vote: str
    question: str | None = None
    knowledge_version: str | None = None
    at: str = field(default_factory=lambda: _now())
    answer: str | None = None


Event = Union[Asked, Voted]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _kept(message: str) -> str:
    return scrub(" ".join(message.split()))[:MAX_KEPT_CHARS]


def database_url(data_dir: Path | str | None, url: str = "") -> str:
    """Return the SQLAlchemy URL of the staff database: `url` when given (PostgreSQL through psycopg 3), else
    SQLite in the data directory."""
    if url:
        if url.startswith(("postgres://", "postgresql://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    if data_dir is None:
        raise ValueError("give the data directory or a database URL")
    return f"sqlite:///{Path(data_dir) / SQLITE_FILE}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # The rollback journal (DELETE) with no memory mapping: WAL's memory-mapped -shm file turns an I/O error (a
    # file made unwritable, a full disk) into SIGBUS, which kills the whole server.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA mmap_size=0")
        mode = cursor.execute("PRAGMA journal_mode=DELETE").fetchone()
        if mode and str(mode[0]).lower() != "delete":
            log.warning("the staff log stays in journal mode %s (another process holds it)", mode[0])
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Records:
    """The staff database: personal details are removed before anything is written.

    Reads and the synchronous `record` / `vote` are for the command line and tests; the server writes through
    a `Recorder`.
    """

    def __init__(self, data_dir: Path | str | None = None, *, url: str = "", retention_days: int,
                 keep_raw: bool = False):
        self.url = database_url(data_dir, url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        self.path = Path(parsed.database) if self.dialect == "sqlite" and parsed.database else None
        self.retention_days = retention_days
        self.keep_raw = keep_raw
        self._prepared = False
        self._prepare_lock = threading.Lock()
        if self.dialect == "sqlite":
            # A connection per batch rather than one held open: a file made unwritable, replaced or moved is seen
            # at the next write, no open file keeps a read-only remount away, and no pool is shared between threads.
            self.engine = create_engine(self.url, poolclass=NullPool,
                                        connect_args={"timeout": SQLITE_BUSY_SECONDS})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=2,
                                        connect_args={"connect_timeout": POSTGRES_CONNECT_SECONDS})

    def where(self) -> str:
        """Say where the records are kept, without any password."""
        return str(self.path) if self.path else make_url(self.url).render_as_string(hide_password=True)

    def prepare(self) -> None:
        """Create the data directory and the tables if missing; raise OSError or a database error if it cannot."""
        if self._prepared:
            return
        with self._prepare_lock:
            if self._prepared:
                return
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.engine.begin() as conn:
                metadata.create_all(conn)
                have = inspect(conn)
                for table, columns in _ADDED_COLUMNS.items():
                    present = {c["name"] for c in have.get_columns(table)}
                    for name, kind in columns.items():
                        if name not in present:
                            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))
            self._prepared = True

    def close(self) -> None:
        """Close the database connections."""
        self.engine.dispose()

    def reset_connections(self) -> None:
        """Drop pooled connections after a failure, so the next write opens a fresh one."""
        self.engine.dispose()

    def _insert(self, table: Table):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def write(self, events: Sequence[Event]) -> None:
        """Write a batch of events in one transaction (counts added up first); raise if the database fails."""
        questions: dict[str, dict[str, Any]] = {}
        answers: dict[str, int] = {}
        tallies: dict[str, list[int]] = {}
        votes: list[dict[str, Any]] = []
        days: dict[tuple[str, str], int] = {}
        for item in events:
            if isinstance(item, Asked):
                day = (item.at[:10], item.reply_type)
                days[day] = days.get(day, 0) + 1
                if item.reply_type in UNANSWERED_TYPES or item.low_confidence:
                    kind = item.reply_type if item.reply_type in UNANSWERED_TYPES else LOW_CONFIDENCE
                    entry = item.entry_id if kind == LOW_CONFIDENCE else None
                    kept = _kept(item.message)
                    row = questions.get(kept) if kept else None
                    if kept and row is None:
                        questions[kept] = {"text": kept, "type": kind, "count": 1,
                                           "first_seen": item.at, "last_seen": item.at,
                                           "knowledge_version": item.knowledge_version,
                                           "raw": strip_controls(item.message)[:MAX_KEPT_CHARS] if self.keep_raw else None,
                                           "entry_id": entry}
                    elif kept:
                        row.update(count=row["count"] + 1, type=kind, last_seen=max(row["last_seen"], item.at),
                                   knowledge_version=item.knowledge_version, entry_id=entry)
                if item.entry_id and item.reply_type in ANSWERED_TYPES:
                    answers[item.entry_id] = answers.get(item.entry_id, 0) + 1
            elif isinstance(item, Voted):
                if item.vote not in VOTES:
                    raise ValueError(f"vote must be one of {VOTES}")
                tally = tallies.setdefault(item.entry_id, [0, 0])
                tally[0 if item.vote == "up" else 1] += 1
                votes.append({"entry_id": item.entry_id, "vote": item.vote, "at": item.at,
                              "question": _kept(item.question) if item.question else None,
                              "knowledge_version": item.knowledge_version,
                              "answer": item.answer[:MAX_KEPT_CHARS] if item.answer else None})
        if not (questions or answers or tallies or days):
            return
        self.prepare()
        # One statement per table for the whole batch; keys in one order in every process, so that two writers
        # on PostgreSQL cannot deadlock on each other's rows.
        with self.engine.begin() as conn:
            if questions:
                stmt = self._insert(unanswered_table)
                conn.execute(stmt.on_conflict_do_update(index_elements=[unanswered_table.c.text], set_={
                    "count": unanswered_table.c.count + stmt.excluded.count, "type": stmt.excluded.type,
                    "last_seen": stmt.excluded.last_seen, "knowledge_version": stmt.excluded.knowledge_version,
                    "entry_id": stmt.excluded.entry_id}),
                    [questions[kept] for kept in sorted(questions)])
            if answers:
                stmt = self._insert(usage_table)
                conn.execute(stmt.on_conflict_do_update(index_elements=[usage_table.c.entry_id], set_={
                    "answers": usage_table.c.answers + stmt.excluded.answers}),
                    [{"entry_id": entry, "answers": answers[entry]} for entry in sorted(answers)])
            if tallies:
                stmt = self._insert(feedback_table)
                conn.execute(stmt.on_conflict_do_update(index_elements=[feedback_table.c.entry_id], set_={
                    "up": feedback_table.c.up + stmt.excluded.up,
                    "down": feedback_table.c.down + stmt.excluded.down}),
                    [{"entry_id": entry, "up": up, "down": down} for entry, (up, down) in sorted(tallies.items())])
            if votes:
                conn.execute(votes_table.insert(), votes)
            if days:
                stmt = self._insert(daily_table)
                conn.execute(stmt.on_conflict_do_update(index_elements=[daily_table.c.day, daily_table.c.type], set_={
                    "count": daily_table.c.count + stmt.excluded.count}),
                    [{"day": day, "type": kind, "count": days[(day, kind)]} for day, kind in sorted(days)])

    def record(self, message: str, reply_type: str, entry_id: str | None, *,
               knowledge_version: str | None = None, low_confidence: bool = False) -> None:
        """Keep what staff need from one reply, now: the day's count by type, the scrubbed question if unanswered
        (or answered with low confidence), the entry if answered."""
        self.write([Asked(message, reply_type, entry_id, knowledge_version, low_confidence=low_confidence)])

    def vote(self, entry_id: str, vote: str, *, question: str | None = None,
             knowledge_version: str | None = None, answer: str | None = None) -> None:
        """Count a thumbs up or down on an entry's answer, now, with the question voted on (scrubbed) and the
        answer it got; nothing else about the person is kept."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        self.write([Voted(entry_id, vote, question, knowledge_version, answer=answer)])

    def purge(self) -> int:
        """Delete unanswered questions and single votes older than the retention period; return how many
        questions went."""
        self.prepare()
        cutoff = (datetime.now(timezone.utc) - timedelta(days=self.retention_days)).isoformat(timespec="seconds")
        with self.engine.begin() as conn:
            removed = conn.execute(unanswered_table.delete().where(unanswered_table.c.last_seen < cutoff)).rowcount
            conn.execute(votes_table.delete().where(votes_table.c.at < cutoff))
        return removed

    def unanswered(self) -> list[Unanswered]:
        """Return the unanswered questions, most asked first."""
        self.prepare()
        t = unanswered_table.c
        query = select(t.text, t.type, t.count, t.first_seen, t.last_seen, t.knowledge_version, t.entry_id).order_by(
            desc(t.count), desc(t.last_seen), t.text)
        with self.engine.connect() as conn:
            return [Unanswered(*row) for row in conn.execute(query)]

    def usage(self) -> list[Usage]:
        """Return answers and votes per entry, most answered first."""
        self.prepare()
        ids = union(select(usage_table.c.entry_id), select(feedback_table.c.entry_id)).subquery()
        answers = func.coalesce(usage_table.c.answers, 0).label("answers")
        query = (select(ids.c.entry_id, answers, func.coalesce(feedback_table.c.up, 0),
                        func.coalesce(feedback_table.c.down, 0))
                 .select_from(ids.outerjoin(usage_table, usage_table.c.entry_id == ids.c.entry_id)
                              .outerjoin(feedback_table, feedback_table.c.entry_id == ids.c.entry_id))
                 .order_by(desc(answers), ids.c.entry_id))
        with self.engine.connect() as conn:
            return [Usage(*row) for row in conn.execute(query)]

    def votes(self) -> list[Voted]:
        """Return the single votes still kept, oldest first."""
        self.prepare()
        v = votes_table.c
        query = select(v.entry_id, v.vote, v.question, v.knowledge_version, v.at, v.answer).order_by(v.id)
        with self.engine.connect() as conn:
            return [Voted(*row) for row in conn.execute(query)]

    def daily(self) -> list[Day]:
        """Return how many messages got each reply type, day by day, oldest first."""
        self.prepare()
        d = daily_table.c
        with self.engine.connect() as conn:
            return [Day(*row) for row in conn.execute(select(d.day, d.type, d.count).order_by(d.day, d.type))]


def start_thread(target: Callable[[], None], name: str) -> None:
    """Run target on a real OS thread, also in a process gevent has monkey-patched (where threading.Thread would
    be a greenlet, and a blocking database call would stop every chat)."""
    from gevent import monkey
    if monkey.is_module_patched("threading"):
        monkey.get_original("_thread", "start_new_thread")(target, ())
    else:
        threading.Thread(target=target, name=name, daemon=True).start()


def _original(module: str, name: str):
    from gevent import monkey
    return monkey.get_original(module, name)


def _transient(exc: BaseException) -> bool:
    """True for failures that may pass (a lock, a full or read-only disk, a lost connection)."""
    return isinstance(exc, (OperationalError, OSError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


class Recorder:
    """The staff log off the answer path: a bounded queue, drained in batches by one writer thread.

    `record` and `vote` never block and never raise. The writer retries a failing database with a growing pause
    (at most a second) and keeps what it holds; what does not fit in the queue meanwhile is counted as lost, and
    `problems()` says so for /api/health.
    """

    def __init__(self, records: Records, *, capacity: int = QUEUE_CAPACITY,
                 clock: Callable[[], float] = time.monotonic):
        self.records = records
        self.capacity = capacity
        self.clock = clock
        # The C queue and the unpatched sleep: they block only the writer's own OS thread.
        self._queue = _original("queue", "SimpleQueue")()
        self._empty = _original("queue", "Empty")
        self._sleep = _original("time", "sleep")
        # Each counter is written by one thread only: submitted and refused by the answering side, the rest by
        # the writer.
        self._submitted = 0
        self._refused = 0
        self._written = 0
        self._dropped = 0
        self._last_loss = float("-inf")
        self._last_loss_logged = float("-inf")
        self._failing: tuple[str, str] | None = None  # (since, error) while the database cannot be written
        self._next_purge = 0.0
        self._started = False
        self._closing = False
        self._hurry = False  # set by flush and close: write what is gathered now

    def start(self) -> None:
        """Start the writer thread (once)."""
        if not self._started:
            self._started = True
            start_thread(self._run, "faqbot-records")

    @property
    def held(self) -> int:
        """Records taken but not yet written or lost."""
        return self._submitted - self._refused - self._written - self._dropped

    @property
    def lost(self) -> int:
        return self._refused + self._dropped

    def record(self, message: str, reply_type: str, entry_id: str | None, *,
               knowledge_version: str | None = None, low_confidence: bool = False) -> bool:
        """Queue what staff need from one reply (every reply counts for its day); False (and counted) when it
        could not be kept."""
        return self._put(Asked(message, reply_type, entry_id, knowledge_version, low_confidence=low_confidence))

    def vote(self, entry_id: str, vote: str, *, question: str | None = None,
             knowledge_version: str | None = None, answer: str | None = None) -> bool:
        """Queue a thumbs up or down; False (and counted) when it could not be kept."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        return self._put(Voted(entry_id, vote, question, knowledge_version, answer=answer))

    def _put(self, item: Event) -> bool:
        self._submitted += 1
        if self.held > self.capacity or self._closing:
            self._refused += 1
            self._lost_now()
            return False
        self._queue.put(item)
        return True

    def _lost_now(self) -> None:
        now = self.clock()
        self._last_loss = now
        if now - self._last_loss_logged >= RECENT_LOSS_SECONDS:
            self._last_loss_logged = now
            log.warning("staff log: %d record(s) lost so far (%s)", self.lost,
                        self._failing[1] if self._failing else "the queue is full")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is written or counted lost; False on timeout (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        if self.held > 0:
            self._hurry = True  # the writer writes what it gathered without waiting out the linger
        while self.held > 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (for at most `timeout` seconds), then stop the writer."""
        self.flush(timeout)
        self._closing = True
        self._hurry = True
        self._queue.put(None)

    def problems(self) -> list[str]:
        """Say what is wrong with the staff log (for /api/health): empty when all is well."""
        found = []
        failing = self._failing
        if failing:
            found.append(f"staff log: cannot write to {self.records.where()} since {failing[0]} ({failing[1]}); "
                         f"{self.held} record(s) waiting in memory")
        if self.clock() - self._last_loss < RECENT_LOSS_SECONDS:
            found.append(f"staff log: {self.lost} record(s) lost since the bot started")
        return found

    def counts(self) -> dict[str, int]:
        """Return how many records were written, are waiting, and were lost."""
        return {"written": self._written, "waiting": self.held, "lost": self.lost}

    # ---------- the writer thread ----------

    def _run(self) -> None:
        try:
            self._attempt(self.records.prepare, opening=True)
            while not self._closing:
                batch = self._take()
                if batch:
                    self._write(batch)
                if self.clock() >= self._next_purge and not self._failing:
                    self._purge()
        except BaseException:  # noqa: BLE001 - the thread's end must be logged, whatever ended it
            log.exception("the staff log writer stopped")
            raise

    def _take(self) -> list[Event]:
        try:
            first = self._queue.get(timeout=PURGE_EVERY_SECONDS / 60)
        except self._empty:
            return []
        # Gather by sleeping, not by waiting on the queue: a record put while this thread waits on the queue wakes
        # it, and every such wake-up takes the interpreter lock from the chats.
        until = time.monotonic() + LINGER_SECONDS
        while first is not None and not self._hurry and time.monotonic() < until:
            self._sleep(LINGER_STEP_SECONDS)
        self._hurry = False
        batch = [first]
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except self._empty:
                break
        if None in batch:
            self._closing = True
        return [item for item in batch if item is not None]

    def _attempt(self, action: Callable[[], Any], *, opening: bool = False) -> bool:
        """Run action until it succeeds, pausing between failures; False for a failure that will not pass."""
        wait = 0.05
        while True:
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - storage failures are counted and reported, never raised
                if not _transient(exc):
                    log.exception("staff log: a write failed and cannot be retried")
                    return False
                if self._failing is None:
                    what = "cannot be opened" if opening else "cannot be written"
                    log.warning("staff log at %s %s (%s): the bot goes on answering; records wait in memory "
                                "(at most %d) and /api/health says degraded", self.records.where(), what,
                                _short(exc), self.capacity)
                self._failing = (self._failing[0] if self._failing else _now(), _short(exc))
                self.records.reset_connections()
                if self._closing:
                    return False
                self._sleep(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT)
                continue
            if self._failing is not None:
                log.warning("staff log at %s is writable again", self.records.where())
                self._failing = None
            return True

    def _write(self, batch: list[Event]) -> None:
        if self._attempt(lambda: self.records.write(batch)):
            self._written += len(batch)
        else:
            self._dropped += len(batch)
            self._lost_now()

    def _purge(self) -> None:
        self._next_purge = self.clock() + PURGE_EVERY_SECONDS
        try:
            removed = self.records.purge()
        except Exception as exc:  # noqa: BLE001 - a failed purge is tried again at the next one
            log.warning("staff log: the retention purge failed (%s)", _short(exc))
            return
        if removed:
            log.info("staff log: %d unanswered question(s) past the retention period removed", removed)


def _short(exc: BaseException) -> str:
    """One line for a database error: SQLAlchemy's own text carries the whole statement."""
    original = getattr(exc, "orig", None) or exc
    return f"{type(original).__name__}: {str(original).splitlines()[0] if str(original) else ''}"[:300]

