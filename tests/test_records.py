"""Staff records keep no personal details, purge old rows, and count answers and votes, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import OperationalError

from bot.cli import main
from bot.privacy import scrub
from bot.records import Asked, Records, unanswered_table, votes_table
from conftest import PROJECT, app_for
from live import PostgresServer, live_server, need_postgres, wait_written
from test_serving import Chat, post

PLANTED = {
    "email": "jane.doe@example.co.uk",
    "phone": "07700 900123",
    "intl phone": "+44 113 496 0000",
    "nhs number": "943 476 5919",
    "nhs number unspaced": "9434765919",
    "date of birth": "12/03/1980",
    "written date": "3rd March 1975",
    "postcode": "LS1 3EX",
    "name": "Jane Smith",
}


@pytest.mark.parametrize("kind, detail", list(PLANTED.items()))
def test_scrub_removes(kind, detail):
    text = f"my name is {detail} what about the weather" if kind == "name" else f"about {detail} weather?"
    assert detail not in scrub(text)
    assert "weather" in scrub(text), "the question itself is kept"


@pytest.mark.parametrize("text", ["temp of 38.6", "11 patients in 28 days", "is CAR-T safe", "what is ALL"])
def test_scrub_keeps_ordinary_questions(text):
    assert scrub(text) == text


def test_planted_personal_details_reach_no_file(tmp_path, engine):
    app = app_for(tmp_path, engine)
    client = app.test_client()
    socket = app.extensions["socketio"].test_client(app)
    # Off-topic messages (so they are recorded as unanswered) carrying every kind of detail. Messages with
    # a person word and a number ("my number is ...") are personal-advice replies and are not recorded at all.
    messages = [
        f"my name is {PLANTED['name']}, email {PLANTED['email']}, what is the best pizza in town",
        f"phone {PLANTED['phone']} or {PLANTED['intl phone']} about flights to spain",
        f"nhs number {PLANTED['nhs number']} and {PLANTED['nhs number unspaced']}, football scores?",
        f"born {PLANTED['date of birth']} ({PLANTED['written date']}), postcode {PLANTED['postcode']}, best recipes",
    ]
    socket.emit("ask", {"message": "how many patients went into remission"})
    for message in messages:
        assert client.post("/api/ask", json={"message": message}).get_json()["type"] == "fallback"
        socket.emit("ask", {"message": message})
        # The question sent with a thumbs down is kept too, scrubbed the same way.
        socket.emit("feedback", {"entry_id": "remission-within-28-days", "vote": "down", "message": message})
    socket.disconnect()
    assert app.extensions["faqbot"].recorder.flush()
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert files, "the unanswered questions were recorded somewhere"
    kept = Records(tmp_path / "data", retention_days=30).unanswered()
    assert len(kept) == len(messages) and all(r.count == 2 for r in kept)
    assert len([v for v in Records(tmp_path / "data", retention_days=30).votes() if v.question]) == len(messages)
    for path in files:
        content = path.read_bytes()
        for kind, detail in PLANTED.items():
            assert detail.encode() not in content, f"{kind} found in {path.name}"
            assert detail.replace(" ", "").encode() not in content.replace(b" ", b""), f"{kind} in {path.name}"




# ---------- one store, two databases ----------

@pytest.fixture(scope="module")
def postgres():
    need_postgres()
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """Settings naming a fresh staff database: SQLite in the data directory, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return {"FAQBOT_DATA_DIR": str(tmp_path / "data")}
    server = request.getfixturevalue("postgres")
    url = server.create_database("t" + uuid.uuid4().hex[:12])
    return {"FAQBOT_DATA_DIR": str(tmp_path / "data"), "FAQBOT_DATABASE_URL": url}


@pytest.fixture
def records_of():
    """Return a function opening the records of a database; every one is closed after the test."""
    opened = []

    def open_records(database: dict, **options) -> Records:
        records = Records(database["FAQBOT_DATA_DIR"], url=database.get("FAQBOT_DATABASE_URL", ""),
                          retention_days=options.pop("retention_days", 30), **options)
        opened.append(records)
        return records
    yield open_records
    for records in opened:
        records.close()


def test_raw_messages_only_when_turned_on(database, records_of):
    quiet = records_of(database)
    quiet.record("my email is x@y.org", "fallback", None)
    loud = records_of(database, keep_raw=True)
    loud.record("my address is x@y.org", "fallback", None)
    with loud.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT text, raw FROM unanswered")).fetchall())
    assert rows == {"my email is [email]": None, "my address is [email]": "my address is x@y.org"}


def test_retention_purges_old_rows(database, records_of):
    records = records_of(database, retention_days=7)
    records.record("old question", "fallback", None)
    records.record("new question", "clarify", None)
    records.vote("the-study", "down", question="old question")
    old = (datetime.now(timezone.utc) - timedelta(days=8)).isoformat(timespec="seconds")
    with records.engine.begin() as conn:
        conn.execute(update(unanswered_table).where(unanswered_table.c.text == "old question").values(last_seen=old))
        conn.execute(update(votes_table).values(at=old))
    assert records.purge() == 1
    assert [r.text for r in records.unanswered()] == ["new question"]
    assert records.votes() == [], "a single vote (with its question) goes with the retention period"
    assert [(u.entry_id, u.down) for u in records.usage()] == [("the-study", 1)], "the totals stay"


def test_a_question_keeps_first_and_last_seen_and_its_knowledge_version(database, records_of):
    records = records_of(database)
    records.write([Asked("weather  tomorrow", "fallback", None, "v1", at="2026-03-01T09:00:00+00:00")])
    records.write([Asked("weather tomorrow", "clarify", None, "v2", at="2026-03-02T10:00:00+00:00"),
                   Asked("weather tomorrow", "clarify", None, "v2", at="2026-03-02T11:00:00+00:00")])
    (row,) = records.unanswered()
    assert (row.text, row.type, row.count, row.knowledge_version) == ("weather tomorrow", "clarify", 3, "v2")
    assert (row.first_seen, row.last_seen) == ("2026-03-01T09:00:00+00:00", "2026-03-02T11:00:00+00:00")


def test_a_vote_keeps_its_question_scrubbed(database, records_of):
    records = records_of(database)
    records.vote("the-study", "down", question="why did nobody call 07700 900123", knowledge_version="v9")
    (vote,) = records.votes()
    assert (vote.entry_id, vote.vote, vote.knowledge_version) == ("the-study", "down", "v9")
    assert vote.question == "why did nobody call [number]"
    with pytest.raises(ValueError):
        records.vote("the-study", "sideways")


def test_answers_and_votes_are_counted_only_for_an_answered_entry_of_the_conversation(tmp_path, engine):
    app = app_for(tmp_path, engine)
    client = app.test_client()
    reply = client.post("/api/ask", json={"message": "how many patients went into remission",
                                          "session": "chat-1"}).get_json()
    entry = reply["entry_id"]
    assert client.post("/api/feedback", json={"entry_id": entry, "vote": "up", "session": "chat-1"}).status_code == 200
    for stranger in ({"entry_id": entry, "vote": "down"}, {"entry_id": entry, "vote": "down", "session": "chat-2"},
                     {"entry_id": "the-study", "vote": "down", "session": "chat-1"}):
        response = client.post("/api/feedback", json=stranger)
        assert response.status_code == 400 and "answered in this conversation" in response.get_json()["error"]
    socket = app.extensions["socketio"].test_client(app)
    socket.get_received()
    socket.emit("ask", {"message": "how many patients went into remission"})
    socket.get_received()
    socket.emit("feedback", {"entry_id": entry, "vote": "down"})  # the socket's own conversation
    assert socket.get_received() == []
    socket.emit("feedback", {"entry_id": "nope", "vote": "up"})
    assert socket.get_received()[0]["name"] == "error"
    for bad in ({"entry_id": entry, "vote": "sideways", "session": "chat-1"}, ["x"]):
        assert client.post("/api/feedback", json=bad).status_code == 400
    bot = app.extensions["faqbot"]
    assert bot.recorder.flush()
    (usage,) = [u for u in bot.records.usage() if u.entry_id == entry]
    assert (usage.answers, usage.up, usage.down) == (2, 1, 1)
    assert [(v.vote, v.knowledge_version) for v in bot.records.votes()] == [
        ("up", bot.service.engine.knowledge.version), ("down", bot.service.engine.knowledge.version)]


def test_an_older_store_gains_the_new_columns(tmp_path):
    with sqlite3.connect(tmp_path / "faqbot.sqlite3") as db:
        db.execute("CREATE TABLE unanswered (text TEXT PRIMARY KEY, type TEXT NOT NULL, count INTEGER NOT NULL, "
                   "first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, raw TEXT)")
        db.execute("INSERT INTO unanswered VALUES ('kept from before', 'fallback', 4, '2026-01-01T00:00:00+00:00', "
                   "'2099-01-01T00:00:00+00:00', NULL)")
    records = Records(tmp_path, retention_days=30)
    records.record("asked now", "answer", "the-study", knowledge_version="v2", low_confidence=True)
    kept = {r.text: r for r in records.unanswered()}
    assert kept["kept from before"].count == 4 and kept["kept from before"].knowledge_version is None
    assert (kept["asked now"].type, kept["asked now"].knowledge_version, kept["asked now"].entry_id) == \
        ("low-confidence", "v2", "the-study")


def test_each_reply_counts_for_its_day_and_a_group_keeps_its_latest_version(tmp_path):
    records = Records(tmp_path, retention_days=30)
    records.record("what is the weather", "fallback", None, knowledge_version="v1")
    records.record("what is the weather", "clarify", None, knowledge_version="v2")
    records.record("a question", "answer", "the-study", knowledge_version="v2")
    records.record("i cannot breathe", "urgent", None, knowledge_version="v2")
    (row,) = records.unanswered()
    assert (row.count, row.type, row.knowledge_version, row.entry_id) == (2, "clarify", "v2", None)
    assert row.first_seen <= row.last_seen
    today = datetime.now(timezone.utc).date().isoformat()
    assert {(d.day, d.type, d.count) for d in records.daily()} == {
        (today, "fallback", 1), (today, "clarify", 1), (today, "answer", 1), (today, "urgent", 1)}
    assert not any(d.type == "urgent" for d in records.unanswered()), "urgent messages are never kept as text"


def test_a_vote_keeps_the_scrubbed_question_and_the_answer_it_got(tmp_path, engine):
    app = app_for(tmp_path, engine)
    client = app.test_client()
    reply = client.post("/api/ask", json={"message": "how many patients went into remission",
                                          "session": "c"}).get_json()
    question = f"how many patients went into remission? my email is {PLANTED['email']}"
    assert client.post("/api/feedback", json={"entry_id": reply["entry_id"], "vote": "down", "session": "c",
                                              "message": question}).status_code == 200
    socket = app.extensions["socketio"].test_client(app)
    socket.emit("ask", {"message": "how many patients went into remission"})
    socket.emit("feedback", {"entry_id": reply["entry_id"], "vote": "up"})  # older chats send no question
    socket.disconnect()
    bot = app.extensions["faqbot"]
    assert bot.recorder.flush()
    down, up = bot.records.votes()
    assert (down.vote, up.vote) == ("down", "up")
    assert PLANTED["email"] not in down.question and down.question.startswith("how many patients went")
    assert down.answer == bot.service.engine.knowledge.entry(reply["entry_id"]).answer
    assert down.knowledge_version == bot.service.engine.knowledge.version
    assert up.question is None
    for bad in (5, ["x"], "x" * 1001):
        body = {"entry_id": reply["entry_id"], "vote": "down", "session": "c", "message": bad}
        assert "message" in client.post("/api/feedback", json=body).get_json()["error"]


def test_old_votes_are_purged_with_the_questions(tmp_path):
    records = Records(tmp_path, retention_days=7)
    records.vote("the-study", "down", question="old one")
    records.vote("the-study", "down", question="new one")
    old = (datetime.now(timezone.utc) - timedelta(days=8)).isoformat(timespec="seconds")
    with sqlite3.connect(records.path) as db:
        db.execute("UPDATE votes SET at = ? WHERE question = 'old one'", (old,))
    records.purge()
    assert [v.question for v in records.votes()] == ["new one"]
    assert records.usage()[0].down == 2, "the counts stay"


def test_feedback_draws_on_the_message_budget(tmp_path, engine):
    app = app_for(tmp_path, engine, rate_per_minute=4)
    client = app.test_client()
    entry = client.post("/api/ask", json={"message": "how many patients went into remission",
                                          "session": "c"}).get_json()["entry_id"]
    codes = [client.post("/api/feedback", json={"entry_id": entry, "vote": "down", "session": "c"}).status_code
             for _ in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]
    socket = app.extensions["socketio"].test_client(app)  # another address, so a budget of its own
    socket.get_received()
    socket.emit("ask", {"message": "how many patients went into remission", "conversation": "s"})
    socket.get_received()
    answers = []
    for _ in range(4):
        socket.emit("feedback", {"entry_id": entry, "vote": "up", "conversation": "s"})
        answers.append([m["args"][0]["error"] for m in socket.get_received()])
    assert answers[:3] == [[], [], []] and "too many" in answers[3][0]
    bot = app.extensions["faqbot"]
    assert bot.recorder.flush()
    assert [(u.entry_id, u.up, u.down) for u in bot.records.usage()] == [(entry, 3, 3)]


def run_report(database: dict, monkeypatch, capsys, *extra: str) -> str:
    """Run `report` in process, as an operator would with these settings."""
    for name, value in database.items():
        monkeypatch.setenv(name, value)
    assert main(["report", *extra]) == 0
    return capsys.readouterr().out


def test_report_groups_and_suggests(database, records_of, monkeypatch, capsys):
    records = records_of(database)
    for message in ["weather tomorrow", "weather tomorrow?", "whats the weather tomorrow",
                    "what is acute leukaemia"]:  # just under the threshold, near one entry's words (content moves
        # the band: "who chooses the donor" left it when "stranger" became a donor word)
        records.record(message, "fallback", None, knowledge_version="abc")
    records.record("x", "answer", "the-study")
    text_report = run_report(database, monkeypatch, capsys)
    assert "asked 3 time(s), not answered;" in text_report and "knowledge version abc" in text_report
    assert "suggestion: new entry" in text_report
    assert "suggestion: add as an alternate of which-cancer-was-treated" in text_report
    assert "the-study" in text_report
    lines = run_report(database, monkeypatch, capsys, "--csv").strip().splitlines()
    assert lines[0].startswith("kind,count,entry_id,suggestion,questions,up,down,status,first_seen")
    assert any(line.startswith("unanswered,3,,new entry,") for line in lines)
    assert any(line.startswith("usage,1,the-study") for line in lines)


def test_one_report_from_two_processes_writing_to_one_database(database, monkeypatch, capsys):
    env = {**database, "FAQBOT_LIVE_RELOAD": "false"}
    with ExitStack() as stack:
        urls = [stack.enter_context(live_server(env=env)) for _ in range(2)]
        for n in range(6):
            for url in urls:
                status, _ = post(url + "/api/ask", f'{{"message": "best pizza in town number {n % 3}"}}'.encode())
                assert status == 200
            status, _ = post(urls[n % 2] + "/api/ask", b'{"message": "how many patients went into remission"}')
            assert status == 200
        chat = Chat(urls[1])
        stack.callback(chat.close)
        assert chat.ask("what about the football tonight")["reply"]["type"] == "fallback"
        for url in urls:
            wait_written(url)
    report = run_report(database, monkeypatch, capsys, "--csv")
    counts = sorted(int(line.split(",")[1]) for line in report.splitlines() if line.startswith("unanswered,"))
    assert sum(counts) == 13, report
    assert any(line.startswith("usage,6,remission-within-28-days") for line in report.splitlines()), report


# ---------- SQLite: a mode whose I/O errors cannot kill the process ----------

def test_sqlite_uses_the_rollback_journal_without_memory_mapping(tmp_path):
    records = Records(tmp_path, retention_days=30)
    records.record("weather", "fallback", None)
    with records.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "delete"
        assert conn.execute(text("PRAGMA mmap_size")).scalar() == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faqbot.sqlite3"], "no -wal or -shm file"


def test_an_older_wal_database_is_moved_to_the_rollback_journal_and_gains_new_columns(tmp_path):
    with sqlite3.connect(tmp_path / "faqbot.sqlite3") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript("""
            CREATE TABLE unanswered (text TEXT PRIMARY KEY, type TEXT NOT NULL, count INTEGER NOT NULL,
                                     first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, raw TEXT);
            CREATE TABLE usage (entry_id TEXT PRIMARY KEY, answers INTEGER NOT NULL);
            CREATE TABLE feedback (entry_id TEXT PRIMARY KEY, up INTEGER NOT NULL, down INTEGER NOT NULL);
            INSERT INTO unanswered VALUES ('weather', 'fallback', 4, '2026-01-01T00:00:00+00:00',
                                           '2099-01-01T00:00:00+00:00', NULL);
        """)
    db.close()
    records = Records(tmp_path, retention_days=30)
    records.record("weather", "fallback", None, knowledge_version="v3")
    (row,) = records.unanswered()
    assert (row.count, row.knowledge_version) == (5, "v3")
    with records.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "delete"


# ---------- the writer: a real thread, off the answer path ----------

def test_the_writer_is_a_real_os_thread_under_gevent(tmp_path):
    script = textwrap.dedent(f"""
        from gevent import monkey
        monkey.patch_all()
        import threading, time
        import gevent
        from bot.records import Records, Recorder
        original_sleep = monkey.get_original("time", "sleep")
        records = Records({str(tmp_path)!r}, retention_days=30)
        seen = {{}}
        real_write = records.write
        def slow_write(batch):
            seen["thread"] = threading.get_native_id()
            original_sleep(1.0)  # blocks its own OS thread only, if it has one
            real_write(batch)
        records.write = slow_write
        recorder = Recorder(records)
        recorder.start()
        recorder.record("weather", "fallback", None)
        ticks, stop = 0, time.monotonic() + 0.8
        while time.monotonic() < stop:
            gevent.sleep(0.01)
            ticks += 1
        assert recorder.flush(5)
        print(ticks, seen["thread"] != threading.get_native_id(), len(records.unanswered()))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert result.returncode == 0, result.stderr
    ticks, other_thread, kept = result.stdout.split()
    assert other_thread == "True" and kept == "1"
    assert int(ticks) > 40, "the event loop kept running while the writer was blocked"


def test_the_writer_gathers_records_that_come_one_by_one_into_one_transaction(tmp_path):
    from bot.records import LINGER_SECONDS, Recorder
    records = Records(tmp_path, retention_days=30)
    batches = []
    real_write = records.write

    def counted(batch):
        batches.append(len(batch))
        real_write(batch)
    records.write = counted
    recorder = Recorder(records)
    recorder.start()
    for n in range(10):  # one every 10 ms, as a busy bot's replies come: each alone used to be a transaction
        recorder.record(f"best pizza in town {n}", "fallback", None)
        time.sleep(LINGER_SECONDS / 25)
    assert recorder.flush(5)
    assert sum(batches) == 10 and len(batches) <= 2, batches
    assert len(records.unanswered()) == 10
    recorder.close()


def test_a_full_queue_counts_the_loss_and_health_says_degraded(tmp_path, engine):
    app = app_for(tmp_path, engine, log_queue=3)
    bot = app.extensions["faqbot"]
    blocked = bot.records.write

    def failing(batch):  # what SQLAlchemy raises when SQLite finds the disk full
        raise OperationalError("INSERT INTO unanswered ...", {}, sqlite3.OperationalError("database or disk is full"))
    bot.records.write = failing
    client = app.test_client()
    for n in range(8):
        assert client.post("/api/ask", json={"message": f"best pizza in town {n}"}).get_json()["type"] == "fallback"
    deadline = time.monotonic() + 10
    while True:  # until the writer has tried the full disk
        health = client.get("/api/health")
        assert health.status_code == 200
        body = health.get_json()
        if any("cannot write" in r and "disk is full" in r for r in body.get("reasons", [])):
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.02)
    assert body["status"] == "degraded"
    assert any("record(s) lost" in r for r in body["reasons"]), body
    assert body["records"]["lost"] >= 4 and body["records"]["waiting"] <= 4
    bot.records.write = blocked
    assert bot.recorder.flush()
    assert 1 <= len(bot.records.unanswered()) <= 4, "what was held in memory is written once the store is back"
    assert all("cannot write" not in r for r in client.get("/api/health").get_json()["reasons"])


@pytest.mark.parametrize("kind, text, detail", [
    ("date with month name and dashes", "born 14-Mar-1961, what about the weather", "1961"),
    ("date with month name and dots", "born 14.March.1961 about the weather", "1961"),
    ("name after I'm", "I'm Jane Smith and I want the weather", "Jane"),
    ("name after I am", "I am Peter O'Neill, what about the weather", "O'Neill"),
    ("name after this is", "this is Dr Ravi Patel asking about the weather", "Patel"),
    ("three-word name", "my name is Mary Anne Jones-Smith and the weather", "Jones-Smith"),
    ("hospital number", "MRN A1234567 what about the weather", "A1234567"),
    ("hospital number in words", "hospital number RX 998877 weather", "998877"),
    ("letter-and-digit number alone", "my number is AB1234567 weather", "AB1234567"),
    ("street address", "I live at 12 Oak Tree Road, what about the weather", "Oak Tree Road"),
    ("street address with a letter", "flat 3, 221b Baker Street weather", "Baker Street"),
])
def test_scrub_removes_what_probing_found(kind, text, detail):
    scrubbed = scrub(text)
    assert detail not in scrubbed, scrubbed
    assert "weather" in scrubbed, "the question itself is kept"


@pytest.mark.parametrize("text", ["I'm worried about side effects", "I am scared of the treatment",
                                  "this is my third question", "I'm 45 and have ALL", "is it given on day 14",
                                  "this is CAR-T, right?", "I have 2 questions for my dr", "I walk 2 miles up a hill",
                                  "what happens on Mar 3rd of the trial", "how many patients went into remission"])
def test_scrub_keeps_questions_that_only_look_personal(text):
    if text == "what happens on Mar 3rd of the trial":
        assert "trial" in scrub(text)
    else:
        assert scrub(text) == text


CONTROL = "\x1b[31m\x1b]0;owned\x07\x08\x00\x9b2J\u202e\u2066"


def test_control_and_escape_characters_are_never_stored(tmp_path):
    records = Records(tmp_path, retention_days=30, keep_raw=True)
    records.record(f"weather {CONTROL}tomorrow", "fallback", None)
    (row,) = records.unanswered()
    assert not any(ch in row.text for ch in "\x1b\x07\x08\x00\x9b\u202e\u2066"), repr(row.text)
    assert "weather" in row.text and "tomorrow" in row.text
    with sqlite3.connect(records.path) as db:
        raw = db.execute("SELECT raw FROM unanswered").fetchone()[0]
    assert "\x1b" not in raw and "\x07" not in raw and "\u202e" not in raw


def test_report_prints_no_control_characters_even_from_old_rows(tmp_path, engine):
    from bot.report import build_report
    records = Records(tmp_path, retention_days=30)
    records.record("weather tomorrow", "fallback", None)
    with sqlite3.connect(records.path) as db:  # a row written before the scrubber stripped controls
        db.execute("UPDATE unanswered SET text = ?", (f"weather {CONTROL} tomorrow",))
    for as_csv in (False, True):
        printed = build_report(records, engine, as_csv=as_csv)
        assert not any(ch in printed for ch in "\x1b\x07\x08\x00\x9b\u202e\u2066"), repr(printed)


def test_report_csv_neutralises_formula_cells(tmp_path, engine):
    import csv
    import io
    from bot.report import build_report
    records = Records(tmp_path, retention_days=30)
    for formula in ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
                    "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]:
        records.record(formula, "fallback", None)
    rows = list(csv.reader(io.StringIO(build_report(records, engine, as_csv=True))))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert any("HYPERLINK" in c for c in cells), "the question is still there, made inert"


def writers() -> int:
    return sum(thread.name == "faqbot-records" for thread in threading.enumerate())


def test_closing_a_bot_writes_what_it_holds_and_stops_its_writer(tmp_path, engine):
    bot = app_for(tmp_path, engine).extensions["faqbot"]
    bot.answer("what are living drugs")
    running = writers()
    bot.close()
    deadline = time.monotonic() + 5
    while writers() >= running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writers() == running - 1
    assert bot.recorder.counts() == {"written": 1, "waiting": 0, "lost": 0}
    assert not bot.recorder.record("after closing", "answer", None)  # refused and counted, never raised
