"""A conversation, not a search box: follow-ups read against the last answer, a way to a person, dialogues eval'd."""
from __future__ import annotations

import shutil
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversations import Conversations
from bot.engine import build_engine
from bot.evaluation import TURNS_BAR, evaluate, evaluate_dialogues
from bot.knowledge import KnowledgeError
from bot.replies import Responder
from conftest import KNOWLEDGE, OTHER_KB, assert_reply
from run import main

CONTACTS = """    contacts:
      phone: "020 7946 0000"
      hours: "Monday to Friday, 9 am to 5 pm"
      email: "haematology@clinic.example"
      contact_page: "https://clinic.example/contact"
      address: "Ward 5, Example Hospital"
"""
ASK_FOR_A_PERSON = ["can I talk to a real person", "I want to speak to a nurse", "how do I contact the clinic",
                    "what are your opening hours", "I want to make a complaint", "is there a doctor I can talk to",
                    "how do i reach a nurse"]


def responder_of(engine, locale: str | None = None) -> Responder:
    """A responder over an engine's knowledge with a conversation memory of its own."""
    base = engine.responder_for(locale)
    return Responder(base.knowledge, base.index, base.lexicon, base.profile, Conversations())


def with_contacts(directory, profile: str = "en-GB") -> None:
    """Give one profile of a knowledge directory's locales.yaml the clinic's contacts."""
    path = directory / "locales.yaml"
    text = path.read_text(encoding="utf-8")
    marker = f"  {profile}:\n"
    assert marker in text
    path.write_text(text.replace(marker, marker + CONTACTS, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    """The shipped knowledge base with contacts in its UK profile (the US profile has none)."""
    directory = tmp_path_factory.mktemp("clinic") / "knowledge"
    shutil.copytree(KNOWLEDGE, directory)
    with_contacts(directory)
    return build_engine(directory)


# ---------- a way to a person ----------

@pytest.mark.parametrize("message", ASK_FOR_A_PERSON)
def test_asking_for_a_person_gives_the_clinics_contacts(clinic, message):
    reply = clinic.responder.reply(message)
    assert (reply.type, reply.kind) == ("smalltalk", "contact")
    for needed in ("nobody reads", "020 7946 0000", "Monday to Friday, 9 am to 5 pm", "haematology@clinic.example",
                   "https://clinic.example/contact", "Ward 5", "999"):
        assert needed in reply.text, needed
    assert_reply(reply.to_dict(), clinic.knowledge)


@pytest.mark.parametrize("message", ASK_FOR_A_PERSON[:3])
def test_without_contacts_the_care_team_and_the_emergency_number(engine, clinic, message):
    for reply in (engine.responder.reply(message), clinic.responder_for("en-US").reply(message)):
        assert (reply.type, reply.kind) == ("smalltalk", "contact")
        assert "nobody reads" in reply.text and "care team" in reply.text
        assert reply.text.count("999") + reply.text.count("911") >= 1
        assert "020 7946 0000" not in reply.text


def test_a_clinics_team_number_is_in_its_wording(kb_copy):
    from bot.config import load_settings
    settings = load_settings({"knowledge": kb_copy, "clinic_name": "Riverside", "team_number": "0161 496 0000"},
                             environ={})
    reply = build_engine(kb_copy, settings).responder.reply("can I talk to a real person")
    assert "Riverside 24-hour care team on 0161 496 0000" in reply.text


@pytest.mark.parametrize("message", ["I need to talk to a nurse, I can't breathe",
                                     "who do I call, my son has a fever of 39",
                                     "i want to speak to someone, i want to end my life"])
def test_urgent_triage_comes_before_the_contacts(clinic, message):
    assert clinic.responder.reply(message).type == "urgent"


def test_the_welcome_carries_the_contacts(clinic, engine):
    welcome = clinic.responder.welcome()
    assert welcome["contacts"]["phone"] == "020 7946 0000" and "nobody reads" in welcome["contact"]
    assert "020 7946 0000" in welcome["contact"]
    plain = engine.responder.welcome()
    assert plain["contacts"]["phone"] == "" and "care team" in plain["contact"]


def test_the_chat_page_carries_the_contacts(tmp_path, clinic):
    from bot import create_app
    from conftest import settings_for
    app = create_app(settings_for(tmp_path, knowledge=clinic.knowledge.directory))
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'id="faqbot-contact"' in html and "Contact the clinic" in html
    assert "haematology@clinic.example" in html and "020 7946 0000" in html


@pytest.mark.parametrize("contacts, problem, at", [
    ('      phone: "call us"\n      hours: "9 to 5"\n', "phone: 'call us' is not digits", "phone:"),
    ('      phone: "020 7946 0000"\n', "hours: say when the phone is answered", "phone:"),
    ('      hours: "9 to 5"\n      email: "a@b.org"\n', "hours: given without a phone", "hours:"),
    ('      email: "not an address"\n', "email: 'not an address' is not an address", "email:"),
    ('      contact_page: "http://clinic.example"\n', "contact_page: 'http://clinic.example' is not a web address",
     "contact_page:"),
    ('      address: "Ward 5"\n', "give at least a phone", "contacts:"),
    ('      fax: "020 7946 0000"\n', "unknown key 'fax'", "fax:"),
])
def test_broken_contacts_are_named_with_file_and_line(kb_copy, contacts, problem, at):
    path = kb_copy / "locales.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('    team_number: ""\n', '    team_number: ""\n    contacts:\n' + contacts, 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        build_engine(kb_copy)
    found = [p for p in caught.value.problems if problem in p.message]
    assert found, [str(p) for p in caught.value.problems]
    assert found[0].file.endswith("locales.yaml") and found[0].entry_id == "en-GB"
    assert text.splitlines()[found[0].line - 1].strip().startswith(at), found[0]


def test_contacts_that_are_not_a_mapping_are_one_clear_problem(kb_copy):
    path = kb_copy / "locales.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('    team_number: ""\n',
                                                             '    team_number: ""\n    contacts: "020 7946 0000"\n',
                                                             1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        build_engine(kb_copy)
    assert [p.message for p in caught.value.problems] == ["contacts: expected a mapping, found text"]


def test_a_lexicon_without_the_contact_category_still_loads(tmp_path):
    # A triage.yaml of its own (no `extends: default`) written before contact existed: the default's other
    # sections, without contact.
    import yaml
    from bot.lexicon import DEFAULT_LEXICON
    directory = tmp_path / "other-kb"
    shutil.copytree(OTHER_KB, directory)
    lexicon = yaml.safe_load(DEFAULT_LEXICON.read_text(encoding="utf-8"))
    del lexicon["contact"]
    (directory / "triage.yaml").write_text(yaml.safe_dump(lexicon, sort_keys=False), encoding="utf-8")
    engine = build_engine(directory)
    assert "contact" not in {p.category for p in engine.lexicon.phrases}
    assert engine.responder.reply("hello").type == "smalltalk"


# ---------- follow-ups in context ----------

def test_tell_me_more_quotes_further_words_of_the_source(engine, check_reply):
    responder = responder_of(engine)
    first = responder.reply("how many patients went into remission", conversation="c")
    assert first.entry_id == "remission-within-28-days"
    assert first.suggestions[-1] == responder.more_chip, "an answer with more to tell offers the chip"
    more = responder.reply(first.suggestions[-1], conversation="c")
    check_reply(more.to_dict())
    assert (more.type, more.kind, more.entry_id) == ("answer", "more", first.entry_id)
    shown = {c.quote for c in first.citations}
    assert more.citations and not shown & {c.quote for c in more.citations}, "further words, not the same quote"
    related = {engine.knowledge.entry(r).question for r in engine.knowledge.entry(first.entry_id).related}
    assert set(more.suggestions) <= related and more.suggestions


def test_tell_me_more_without_further_words_says_so_and_still_cites(engine, check_reply):
    responder = responder_of(engine)
    bare = next(e for e in engine.knowledge.entries if not responder.further(e))
    answer = responder.reply(bare.question, conversation="c")
    assert answer.entry_id == bare.id and responder.more_chip not in answer.suggestions
    more = responder.reply("tell me more", conversation="c")
    check_reply(more.to_dict())
    assert more.text == engine.profile.say("no_more") and more.citations == answer.citations


@pytest.mark.parametrize("turns", [
    # ("how many got it" alone now answers the remission entry, "how many went into remission": not a follow-up)
    [("whats deep remission", "deep-remission"), ("how many had it", "deep-remission")],
    [("did they have a transplant after", "stem-cell-transplant-afterwards"),
     ("why?", "stem-cell-transplant-afterwards")],
    [("what are the dangers of this", "risks-and-monitoring"), ("how often", "risks-and-monitoring")],
    [("whats base editing", "base-editing-universal-cells"), ("what does that mean", "base-editing-universal-cells")],
])
def test_a_short_follow_up_is_read_against_the_last_answer(engine, turns):
    responder = responder_of(engine)
    for message, entry in turns:
        assert responder.reply(message, conversation="c").entry_id == entry, message
    # Without the conversation, the last message alone does not get that answer.
    assert responder.reply(turns[-1][0]).entry_id != turns[-1][1]


@pytest.mark.parametrize("first, change, entry", [
    ("where did they do this research", "who wrote this article", "about-the-article"),
    ("how do the cells kill the cancer", "is it available in america", "availability"),
    ("what is the main point of this article", "who wrote it", "about-the-article"),
])
def test_a_new_question_does_not_drag_the_old_context(engine, first, change, entry):
    responder = responder_of(engine)
    responder.reply(first, conversation="c")
    assert responder.reply(change, conversation="c").entry_id == entry


@pytest.mark.parametrize("off_topic", ["what about the weather today", "who won the football last night",
                                       "what about the football", "and the lottery numbers?"])
def test_context_never_answers_an_off_topic_message(engine, off_topic):
    responder = responder_of(engine)
    responder.reply("what is t-cell all", conversation="c")
    reply = responder.reply(off_topic, conversation="c")
    assert reply.type == "fallback" and not reply.citations


def test_a_follow_up_never_inherits_an_urgent_verdict(engine):
    responder = responder_of(engine)
    responder.reply("what are living drugs", conversation="c")
    assert responder.reply("my dad has a temperature of 39", conversation="c").type == "urgent"
    after = responder.reply("tell me more", conversation="c")
    assert after.type == "answer" and after.entry_id == "what-are-living-drugs"
    assert after.text.startswith(engine.profile.say("reminder")), "the reminder of the numbers still comes first"


def test_a_follow_up_never_inherits_an_advice_verdict(engine):
    responder = responder_of(engine)
    responder.reply("what are the risks of the treatment", conversation="c")
    assert responder.reply("should i have it then", conversation="c").type == "advice"
    assert responder.reply("what does that mean", conversation="c").type == "answer"
    assert responder.reply("and for my son?", conversation="c").type in ("advice", "answer", "fallback")


@pytest.mark.parametrize("follow_up", ["and what if he has a fever", "ok but she cant breathe", "why, is he confused",
                                       "tell me more, i want to end my life"])
def test_a_follow_up_never_hides_a_new_sign(engine, follow_up):
    responder = responder_of(engine)
    responder.reply("what are the risks of the treatment", conversation="c")
    assert responder.reply(follow_up, conversation="c").type == "urgent"


def test_a_follow_up_that_names_a_sign_gets_the_call_now_line(engine):
    responder = responder_of(engine)
    responder.reply("what are the risks of the treatment", conversation="c")
    reply = responder.reply("is fever a side effect too", conversation="c")
    assert reply.type != "urgent" and reply.text.startswith(engine.profile.say("mention"))


def test_a_reply_in_context_is_never_cached_by_its_words_alone(engine):
    responder = responder_of(engine)
    responder.reply("whats deep remission", conversation="a")
    responder.reply("explain car t to me", conversation="b")
    a = responder.reply("tell me more", conversation="a")
    b = responder.reply("tell me more", conversation="b")
    assert (a.entry_id, b.entry_id) == ("deep-remission", "traditional-car-t")
    assert responder.reply("tell me more").type == "fallback", "no conversation: nothing to tell more about"
    assert responder.reply("tell me more", conversation="a") == a, "remembered under the last entry"


MESSAGES = ["what are living drugs", "tell me more", "why", "and for children?", "is that safe", "how long",
            "where was that", "what does that mean", "hello", "can I talk to a nurse", "my dad has a fever of 39",
            "should I stop my tablets", "weather tomorrow", "how many got it"]


@given(st.lists(st.one_of(st.sampled_from(MESSAGES), st.text(max_size=40)), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_property_a_cached_conversation_replies_as_a_fresh_one(engine, messages):
    cached = engine.responder
    conversation = f"p-{id(messages)}-{len(messages)}"
    cached.conversations.forget(conversation)
    fresh = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, Conversations(),
                      cache_size=0)
    for message in messages:
        assert cached.reply(message, conversation=conversation) == fresh.reply(message, conversation=conversation)
    cached.conversations.forget(conversation)


def test_follow_ups_over_http_follow_the_session(client):
    first = client.post("/api/ask", json={"message": "whats deep remission", "session": "s1"}).get_json()
    more = client.post("/api/ask", json={"message": "tell me more", "session": "s1"}).get_json()
    assert more["entry_id"] == first["entry_id"] == "deep-remission" and more["kind"] == "more"
    other = client.post("/api/ask", json={"message": "tell me more", "session": "s2"}).get_json()
    assert other["type"] == "fallback"


def test_follow_ups_over_the_socket_follow_the_conversation(socket_client):
    socket_client.get_received()
    for message in ("what type of cancer did they treat", "and for children?"):
        socket_client.emit("ask", {"message": message, "conversation": "conv-1"})
    replies = [e["args"][0] for e in socket_client.get_received() if e["name"] == "reply"]
    assert [r["entry_id"] for r in replies] == ["which-cancer-was-treated", "children-and-adults"]


# ---------- conversations.yaml ----------

def test_the_shipped_dialogues_meet_the_bar(engine):
    dialogues = engine.knowledge.dialogues
    assert len(dialogues) >= 40 and all(2 <= len(d.turns) <= 4 for d in dialogues)
    result = evaluate_dialogues(engine)
    assert result.share >= TURNS_BAR, result.table()
    assert result.passes


def test_eval_prints_the_per_turn_figure(capsys):
    assert main(["eval"]) == 0
    out = capsys.readouterr().out
    assert "conversations, per turn" in out and "in scope, right entry first" in out


def test_a_knowledge_base_without_dialogues_has_no_multi_turn_eval(capsys):
    engine = build_engine(OTHER_KB)
    assert engine.knowledge.dialogues == () and evaluate_dialogues(engine) is None
    assert main(["eval", "--knowledge", str(OTHER_KB)]) == 0
    assert "conversations" not in capsys.readouterr().out


def test_the_dialogues_do_not_touch_the_running_conversations(engine):
    from bot.conversations import NO_STATE
    evaluate_dialogues(engine)
    assert all(engine.responder.conversations.get(f"dialogue-{n}") == NO_STATE
               for n in range(len(engine.knowledge.dialogues)))
    assert evaluate(engine).passes


@pytest.mark.parametrize("content, problem", [
    ("dialogues:\n  - turns:\n      - {message: hello, type: smalltalk}\n", "at least 2 turns"),
    ("dialogues:\n  - turns:\n      - {message: hello, type: smalltalk}\n      - {message: hi, type: chat}\n",
     "type: 'chat' is not one of"),
    ("dialogues:\n  - turns:\n      - {message: hello, type: smalltalk}\n      - {message: why, type: answer}\n",
     "an expected answer must name its entry"),
    ("dialogues:\n  - turns:\n      - {message: hi, type: smalltalk}\n"
     "      - {message: why, type: answer, entry: no-such-entry}\n", "no entry has the id 'no-such-entry'"),
    ("dialogues:\n  - talk:\n      - {message: hi, type: smalltalk}\n", "unknown key 'talk'"),
    ("dialogues: hello\n", "expected a list of dialogues"),
    ("questions: []\n", "the file must start with 'dialogues:'"),
    ("dialogues:\n\t- turns: []\n", "use spaces, not tabs"),
])
def test_broken_dialogues_are_named_with_file_and_line(kb_copy, content, problem):
    (kb_copy / "conversations.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        build_engine(kb_copy)
    found = [p for p in caught.value.problems if problem in p.message]
    assert found, [str(p) for p in caught.value.problems]
    assert found[0].file.endswith("conversations.yaml") and found[0].line >= 1


def test_check_names_a_broken_dialogue_line(kb_copy, capsys):
    text = "dialogues:\n  - turns:\n      - {message: hi, type: smalltalk}\n      - {message: why, type: anser}\n"
    (kb_copy / "conversations.yaml").write_text(text, encoding="utf-8")
    assert main(["check", "--knowledge", str(kb_copy)]) == 1
    assert "knowledge/conversations.yaml:4: " in capsys.readouterr().out


def test_another_clinic_gets_contacts_and_follow_ups_unchanged(tmp_path):
    directory = tmp_path / "other-kb"
    shutil.copytree(OTHER_KB, directory)
    with_contacts(directory)
    triage = directory / "triage.yaml"
    triage.write_text(triage.read_text(encoding="utf-8").replace("smalltalk:", textwrap.dedent("""\
        contact:
          phrases: [talk to a nurse, speak to someone, opening hours]
          examples:
            positive: [can I talk to a nurse]
            negative: [what is a colonoscopy]
        smalltalk:"""), 1), encoding="utf-8")
    (directory / "conversations.yaml").write_text(textwrap.dedent("""\
        dialogues:
          - turns:
              - {message: "what actually happens in a colonoscopy", type: answer, entry: what-is-a-colonoscopy}
              - {message: "tell me more", type: answer, entry: what-is-a-colonoscopy}
          - turns:
              - {message: "can I talk to a nurse", type: smalltalk}
              - {message: "what are the opening hours", type: smalltalk}
        """), encoding="utf-8")
    engine = build_engine(directory)
    contact = engine.responder.reply("can I talk to a nurse")
    assert contact.kind == "contact" and "020 7946 0000" in contact.text
    result = evaluate_dialogues(engine)
    assert result.total == 4 and result.passes, result.table()
