"""Every reply has the contract's shape: verbatim citations, a disclaimer on all but smalltalk, plain text."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def test_the_curl_example_is_a_cited_answer(engine, check_reply):
    reply = engine.responder.reply("how many patients went into remission").to_dict()
    check_reply(reply)
    assert reply["type"] == "answer"
    assert reply["citations"][0]["title"].startswith("Immune Cells Turned Into")


def test_every_regression_reply_has_the_shape(engine, check_reply):
    for case in engine.knowledge.regression:
        check_reply(engine.responder.reply(case.message).to_dict())


def test_every_entry_answer_cites_verbatim(engine, check_reply):
    for entry in engine.knowledge.entries:
        reply = engine.responder.reply(entry.question).to_dict()
        check_reply(reply)
        assert reply["type"] == "answer" and reply["entry_id"] == entry.id
        assert reply["suggestions"], "answers suggest follow-up questions"


def test_fallback_is_honest_and_suggests(engine, check_reply):
    reply = engine.responder.reply("what's the weather tomorrow").to_dict()
    check_reply(reply)
    assert reply["type"] == "fallback"
    assert reply["citations"] == [] and reply["entry_id"] is None
    assert len(reply["suggestions"]) >= 2


@pytest.mark.parametrize("message", ["hello", "thanks so much", "bye", "who are you"])
def test_smalltalk(engine, check_reply, message):
    reply = engine.responder.reply(message).to_dict()
    check_reply(reply)
    assert reply["type"] == "smalltalk"
    assert reply["suggestions"]


def test_welcome_says_what_the_helper_is(engine):
    welcome = engine.responder.welcome()
    text = welcome["text"].lower()
    for needed in ("automated", "not a person", "nobody reads", "records", "personal details",
                   engine.profile.emergency_number):
        assert needed in text, needed
    assert welcome["disclaimer"] and welcome["suggestions"]


def test_html_in_a_question_never_comes_back_as_html(engine, check_reply):
    reply = engine.responder.reply("<script>alert(1)</script> what are living drugs").to_dict()
    check_reply(reply)
    assert "<script>" not in reply["text"]


@given(st.text(max_size=300))
@settings(max_examples=150, deadline=None)
def test_property_no_unicode_input_crashes_a_reply(engine, text):
    reply = engine.responder.reply(text).to_dict()
    assert reply["type"] in {"answer", "clarify", "fallback", "urgent", "advice", "smalltalk"}
    assert reply["text"]
