"""Staff records keep no personal details, purge old rows, and count answers and votes."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from bot import create_app
from bot.privacy import scrub
from bot.records import Records
from conftest import KNOWLEDGE, settings_for

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


def test_planted_personal_details_reach_no_file(tmp_path):
    app = create_app(settings_for(tmp_path, knowledge=KNOWLEDGE))
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
    for message in messages:
        assert client.post("/api/ask", json={"message": message}).get_json()["type"] == "fallback"
        socket.emit("ask", {"message": message})
        # The question sent with a thumbs down is kept too, scrubbed the same way.
        socket.emit("feedback", {"entry_id": "the-study", "vote": "down", "message": message})
    socket.disconnect()
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


def test_raw_messages_only_when_turned_on(tmp_path):
    quiet = Records(tmp_path / "a", retention_days=30)
    quiet.record("my email is x@y.org", "fallback", None)
    loud = Records(tmp_path / "b", retention_days=30, keep_raw=True)
    loud.record("my email is x@y.org", "fallback", None)
    assert b"x@y.org" not in b"".join(p.read_bytes() for p in (tmp_path / "a").iterdir())
    with sqlite3.connect(loud.path) as db:
        assert db.execute("SELECT raw FROM unanswered").fetchone()[0] == "my email is x@y.org"


def test_retention_purges_old_rows(tmp_path):
    records = Records(tmp_path, retention_days=7)
    records.record("old question", "fallback", None)
    records.record("new question", "clarify", None)
    old = (datetime.now(timezone.utc) - timedelta(days=8)).isoformat(timespec="seconds")
    with sqlite3.connect(records.path) as db:
        db.execute("UPDATE unanswered SET last_seen = ? WHERE text = 'old question'", (old,))
    assert records.purge() == 1
    assert [r.text for r in records.unanswered()] == ["new question"]


def test_answers_and_votes_are_counted(tmp_path):
    app = create_app(settings_for(tmp_path, knowledge=KNOWLEDGE))
    client = app.test_client()
    reply = client.post("/api/ask", json={"message": "how many patients went into remission"}).get_json()
    entry = reply["entry_id"]
    assert client.post("/api/feedback", json={"entry_id": entry, "vote": "up"}).status_code == 200
    socket = app.extensions["socketio"].test_client(app)
    socket.get_received()
    socket.emit("feedback", {"entry_id": entry, "vote": "down"})
    assert socket.get_received() == []
    socket.emit("feedback", {"entry_id": "nope", "vote": "up"})
    assert socket.get_received()[0]["name"] == "error"
    for bad in ({"entry_id": entry, "vote": "sideways"}, {"entry_id": "no-such-entry", "vote": "up"}, ["x"]):
        assert client.post("/api/feedback", json=bad).status_code == 400
    (usage,) = [u for u in app.extensions["faqbot"].records.usage() if u.entry_id == entry]
    assert (usage.answers, usage.up, usage.down) == (1, 1, 1)


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


def test_a_vote_keeps_the_scrubbed_question_and_the_answer_it_got(tmp_path):
    app = create_app(settings_for(tmp_path, knowledge=KNOWLEDGE))
    client = app.test_client()
    reply = client.post("/api/ask", json={"message": "how many patients went into remission"}).get_json()
    question = f"how many patients went into remission? my email is {PLANTED['email']}"
    assert client.post("/api/feedback", json={"entry_id": reply["entry_id"], "vote": "down",
                                              "message": question}).status_code == 200
    socket = app.extensions["socketio"].test_client(app)
    socket.emit("feedback", {"entry_id": reply["entry_id"], "vote": "up"})  # older chats send no question
    socket.disconnect()
    bot = app.extensions["faqbot"]
    down, up = bot.records.votes()
    assert (down.vote, up.vote) == ("down", "up")
    assert PLANTED["email"] not in down.question and down.question.startswith("how many patients went")
    assert down.answer == bot.service.engine.knowledge.entry(reply["entry_id"]).answer
    assert down.knowledge_version == bot.service.engine.knowledge.version
    assert up.question is None
    for bad in (5, ["x"], "x" * 1001):
        body = {"entry_id": reply["entry_id"], "vote": "down", "message": bad}
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
