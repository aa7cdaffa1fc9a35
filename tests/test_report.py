"""The staff report groups what went unanswered with when and under which version, suggests a home only when it
is clear, marks what the knowledge base now covers as done, and shows thumbs down with the question asked."""
from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from bot.records import Records
from bot.report import NEW_ENTRY, build, low_confidence, report_csv, report_text, thresholds


@pytest.fixture
def records(tmp_path):
    return Records(tmp_path, retention_days=30)


def group_of(report, question):
    (group,) = [g for g in report.groups if question in g.questions]
    return group


def test_groups_carry_first_and_last_seen_and_the_knowledge_version(records, engine):
    for message, version in [("weather tomorrow", "v1"), ("weather tomorrow?", "v1"),
                             ("whats the weather tomorrow", "v2"), ("how to make pancakes", "v2")]:
        records.record(message, "fallback", None, knowledge_version=version)
    with sqlite3.connect(records.path) as db:  # asked on three days
        for day, text in [("01", "weather tomorrow"), ("02", "weather tomorrow?"), ("03", "whats the weather tomorrow")]:
            db.execute("UPDATE unanswered SET first_seen = ?, last_seen = ? WHERE text = ?",
                       (f"2026-11-{day}T10:00:00+00:00", f"2026-11-{day}T11:00:00+00:00", text))
    report = build(records, engine)
    weather = group_of(report, "weather tomorrow")
    assert set(weather.questions) == {"weather tomorrow", "weather tomorrow?", "whats the weather tomorrow"}
    assert weather.count == 3 and weather.version == "v2"
    assert (weather.first_seen, weather.last_seen) == ("2026-11-01T10:00:00+00:00", "2026-11-03T11:00:00+00:00")
    assert report.groups[0] is weather, "the most asked group first"
    text = report_text(report)
    assert f"first seen {weather.first_seen[:10]}, last seen {weather.last_seen[:10]}, knowledge version v2" in text


@pytest.mark.parametrize("question, home", [
    ("how to make pancakes", None),        # matches a car-t entry a little, on no shared word
    ("does it hurt", None),                # shares only "does" (a stem "doe") with how-the-cells-work
    ("what time is it", None),
    ("weather tomorrow", None),
    ("who picks the donor", "why-donor-cells-matter"),
])
def test_a_home_is_suggested_only_when_clear(records, engine, question, home):
    records.record(question, "fallback", None)
    group = build(records, engine).groups[0]
    assert group.entry_id == home
    assert group.suggestion == (NEW_ENTRY if home is None else
                                f"add as an alternate of {home} ({engine.knowledge.entry(home).question})")


def test_questions_the_knowledge_base_now_covers_are_done(records, engine):
    alternate = engine.knowledge.entries[3].alternates[0]
    records.record(alternate, "fallback", None)
    records.record("how many patients went into remission", "clarify", None)
    records.record("what time is it", "fallback", None)
    report = build(records, engine)
    assert group_of(report, alternate).done == f"added as an alternate of {engine.knowledge.entries[3].id}"
    assert group_of(report, "how many patients went into remission").done.startswith("now answered by ")
    assert group_of(report, "what time is it").done == ""
    assert [g.done == "" for g in report.groups] == [True, False, False], "open groups first"
    text = report_text(report)
    assert "Already covered (done): 2 group(s)" in text
    assert text.index("what time is it") < text.index("Already covered")


def test_low_confidence_answers_are_reported_with_the_entry_they_got(records, engine):
    fallback_below, _ = thresholds(engine)
    assert low_confidence(engine, "answer", fallback_below + 0.01)
    assert not low_confidence(engine, "answer", 0.999) and not low_confidence(engine, "clarify", 0.0)
    records.record("how was the donor chosen", "answer", "why-donor-cells-matter", knowledge_version="v1",
                   low_confidence=True)
    group = build(records, engine).groups[0]
    assert group.kinds == ("low-confidence",) and group.done == ""
    assert group.answered_with == ("why-donor-cells-matter",)
    assert "answered with low confidence by why-donor-cells-matter" in report_text(build(records, engine))
    (row,) = [r for r in csv.DictReader(io.StringIO(report_csv(build(records, engine)))) if r["kind"] == "unanswered"]
    assert (row["reply_types"], row["answered_with"]) == ("low-confidence", "why-donor-cells-matter")


def test_thumbs_down_show_the_question_and_the_answer(records, engine):
    records.vote("the-study", "down", question="who paid for it, I'm jane@x.org", answer="The study had 11.",
                 knowledge_version="v7")
    records.vote("the-study", "up", question="how many patients")
    report = build(records, engine)
    (down,) = report.thumbs_down
    text = report_text(report)
    assert "Thumbs down: 1" in text and "asked:  who paid for it, I'm [email]" in text
    assert "answer: The study had 11." in text and "knowledge version v7" in text
    assert "how many patients" not in text.split("Thumbs down")[1].split("Answers and feedback")[0]


def test_csv_rows_and_no_formulas(records, engine):
    records.record("=HYPERLINK(\"http://evil\") weather", "fallback", None, knowledge_version="v1")
    records.record("x", "answer", "the-study")
    records.vote("the-study", "down", question="-1+1 who paid", answer="The study had 11.")
    rows = list(csv.DictReader(io.StringIO(report_csv(build(records, engine)))))
    kinds = [r["kind"] for r in rows]
    assert kinds == ["unanswered", "thumbs-down", "usage"]
    assert rows[0]["questions"].startswith("'="), "a formula is neutralised"
    assert rows[0]["status"] == "open" and rows[0]["version"] == "v1" and rows[0]["reply_types"] == "fallback"
    assert rows[1]["questions"] == "'-1+1 who paid" and rows[1]["answer"] == "The study had 11."
    assert (rows[2]["entry_id"], rows[2]["count"], rows[2]["down"]) == ("the-study", "1", "1")


def test_only_the_most_asked_questions_are_grouped(records, engine, monkeypatch):
    import bot.report
    monkeypatch.setattr(bot.report, "MAX_QUESTIONS", 2)
    for message, times in [("weather tomorrow", 3), ("how to make pancakes", 2), ("what time is it", 1)]:
        for _ in range(times):
            records.record(message, "fallback", None)
    report = build(records, engine)
    assert [g.questions for g in report.groups] == [("weather tomorrow",), ("how to make pancakes",)]
    assert report.left_out == 1 and "(and 1 question(s) asked less often, not grouped here)" in report_text(report)


@pytest.fixture(scope="module")
def other_engine():
    from bot.config import load_settings
    from bot.engine import build_engine
    from conftest import OTHER_KB
    return build_engine(OTHER_KB, load_settings({"knowledge": OTHER_KB}, environ={}))


@pytest.mark.parametrize("which", ["engine", "other_engine"])
def test_suggestions_on_the_regression_questions_are_never_wrong(request, which):
    # Each in-scope regression question, as if it had gone unanswered, may only be offered to its own entry;
    # off-topic ones almost never get a home.
    from bot.report import Words, clear_home
    engine = request.getfixturevalue(which)
    words = Words(engine)
    cases = engine.knowledge.regression
    homes = {c: clear_home([c.message], engine, words)[0] for c in cases if c.type in ("answer", "fallback")}
    in_scope = [c for c in homes if c.type == "answer"]
    wrong = [(c.message, homes[c]) for c in in_scope if homes[c] not in (None, c.entry)]
    assert wrong == []
    assert sum(homes[c] == c.entry for c in in_scope) >= 0.8 * len(in_scope), "most get their entry"
    off_topic = [c for c in homes if c.type == "fallback"]
    assert sum(homes[c] is not None for c in off_topic) <= 0.05 * len(off_topic)
