"""Staff records keep no personal details, purge old rows, and count answers and votes."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from bot.cli import main
from bot.privacy import scrub
from bot.records import Records
from conftest import app_for

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
    for message in messages:
        assert client.post("/api/ask", json={"message": message}).get_json()["type"] == "fallback"
        socket.emit("ask", {"message": message})
    socket.disconnect()
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert files, "the unanswered questions were recorded somewhere"
    kept = Records(tmp_path / "data", retention_days=30).unanswered()
    assert len(kept) == len(messages) and all(r.count == 2 for r in kept)
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


def test_answers_and_votes_are_counted(tmp_path, engine):
    app = app_for(tmp_path, engine)
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


def test_report_groups_and_suggests(tmp_path, monkeypatch, capsys):
    records = Records(tmp_path, retention_days=30)
    for message in ["weather tomorrow", "weather tomorrow?", "whats the weather tomorrow",
                    "how much does car t cost in the uk"]:
        records.record(message, "fallback", None)
    records.record("x", "answer", "the-study")
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path))
    assert main(["report"]) == 0
    text = capsys.readouterr().out
    assert "asked 3 time(s): needs a new entry" in text
    assert "add as an alternate of" in text
    assert "the-study" in text
    assert main(["report", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "kind,count,entry_id,suggestion,questions,up,down"
    assert any(line.startswith("unanswered,3,") for line in lines)
    assert any(line.startswith("usage,1,the-study") for line in lines)


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
