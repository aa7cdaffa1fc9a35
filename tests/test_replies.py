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


def test_reply_object_carries_every_field_but_the_trigger(engine):
    from dataclasses import fields

    from bot.replies import Reply
    reply = engine.responder.reply("what are living drugs")
    data = reply.to_dict()
    assert list(data) == [f.name for f in fields(Reply) if f.name != "trigger"]
    assert data["citations"][0] == {f: getattr(reply.citations[0], f)
                                    for f in ("source", "title", "section", "quote", "url")}


@pytest.fixture(scope="module")
def fresh(engine):
    """A responder over the same knowledge that remembers nothing."""
    from bot.replies import Responder
    return Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, cache_size=0)


@given(message=st.one_of(st.sampled_from(["what are living drugs", "hello", "weather tomorrow", "remision rates",
                                          "my dad has a fever of 39", "should I stop my tablets"]),
                         st.text(max_size=60)))
@settings(max_examples=80, deadline=None)
def test_property_a_remembered_reply_is_the_fresh_one(engine, fresh, message):
    first = engine.responder.reply(message)
    assert engine.responder.reply(message) == first == fresh.reply(message)
    # Remembered by normalised text: a variant in case, spacing and punctuation gets what it would get fresh.
    variant = f"  {message.upper()} ?! "
    assert engine.responder.reply(variant) == fresh.reply(variant)


def test_remembered_replies_still_follow_the_conversation(engine):
    from bot.replies import Responder
    responder = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile)
    before = responder.reply("what are living drugs", conversation="c1")
    assert responder.reply("I can't breathe", conversation="c1").type == "urgent"
    after = responder.reply("what are living drugs", conversation="c1")
    assert after.text != before.text and after.text.endswith(before.text), "the reminder comes first"
    assert responder.reply("what are living drugs", conversation="c2") == before
    assert responder.reply("I can't breathe", conversation="c3").type == "urgent"
    assert responder.conversations.get("c3").urgent, "a remembered urgent reply still marks its conversation"


def test_a_remembered_reply_is_the_fresh_one_after_any_last_entry(engine):
    """Replies remembered under the words alone serve conversations too: after each of several last entries, and
    with none, every regression message and dialogue turn gets what a responder remembering nothing gives it."""
    from bot.conversations import Conversations
    from bot.replies import Responder
    entries = [e.id for e in engine.knowledge.entries]
    entries = entries[::max(1, len(entries) // 5)]
    messages = [c.message for c in engine.knowledge.regression]
    messages += [t.message for d in engine.knowledge.dialogues for t in d.turns] + ["tell me more", "why?"]
    cached = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, Conversations())
    fresh = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, Conversations(), cache_size=0)
    for message in messages:  # remembered first outside any conversation
        cached.reply(message)
    for entry in entries:
        for n, message in enumerate(messages):
            conversation = f"{entry} {n}"  # a conversation whose last answer was this entry
            for responder in (cached, fresh):
                responder.conversations.remember(conversation, entry_id=entry)
            assert cached.reply(message, conversation=conversation) == \
                fresh.reply(message, conversation=conversation), (entry, message)
    for message in messages:  # and what conversations left remembered still holds outside them
        assert cached.reply(message) == fresh.reply(message), message
    assert len(cached._decided) < len(messages) * len(entries) / 2, \
        "most replies are remembered once, whatever entry came before"


def test_reply_cache_is_bounded_and_can_be_off(engine):
    from bot.replies import Responder
    small = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, cache_size=3)
    for number in range(10):
        small.reply(f"question number {number}")
    assert 1 <= len(small._decided) <= 3
    off = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, cache_size=0)
    off.reply("what are living drugs")
    assert off._decided == {}


def test_a_failed_search_is_not_remembered(engine, monkeypatch):
    from bot.replies import Responder
    responder = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile)

    class Broken:
        def search(self, *args, **kwargs):
            raise RuntimeError("index gone")

    monkeypatch.setattr(responder, "index", Broken())
    assert responder.reply("what are living drugs").type == "fallback"
    monkeypatch.setattr(responder, "index", engine.index)
    assert responder.reply("what are living drugs").type == "answer"


def test_apps_on_the_shared_engine_keep_their_own_conversations(tmp_path, engine):
    from conftest import app_for
    first, second = app_for(tmp_path / "a", engine), app_for(tmp_path / "b", engine)
    assert first.extensions["faqbot"].service.engine.index is engine.index, "the index is built once"
    first.test_client().post("/api/ask", json={"message": "I can't breathe", "session": "same-id"})
    later = second.test_client().post("/api/ask", json={"message": "what are living drugs", "session": "same-id"})
    assert not later.get_json()["text"].startswith("Reminder"), "one app's conversation is not another's"
    assert not engine.responder.conversations.get("same-id").urgent


def test_messages_of_emoji_alone_share_no_remembered_reply(engine):
    from bot.replies import Responder
    responder = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile)
    assert responder.reply("😊").type != "urgent"
    assert responder.reply("🤮").type == "urgent"  # read by its name, a sign: never the smiley's reply
    assert responder.reply("👍").type == "smalltalk"
    assert responder.reply("🤮").type == "urgent"


@pytest.mark.parametrize("message, team_line", [
    ("i want to end my life, and ive had a fever since last night", True),   # a crisis that names a sign
    ("i want to end my life", False),
])
def test_a_crisis_that_names_a_sign_also_gets_the_care_teams_number(engine, message, team_line):
    reply = engine.responder.reply(message)
    crisis, mention = engine.profile.say("crisis"), engine.profile.say("mention")
    assert reply.type == "urgent" and reply.text.startswith(crisis)
    assert (mention in reply.text) is team_line
