"""`ask --why` says why a message got its reply: triage, the entry chosen and the runner-up, what matched."""
from __future__ import annotations

import pytest

import run
from bot.explain import explain, thresholds


def _why(capsys, *argv: str) -> list[str]:
    assert run.main(["ask", "--why", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def test_why_of_an_answer_names_both_entries_and_the_bars(capsys, engine):
    question = engine.knowledge.entries[0].question
    reply = engine.responder.reply(question)
    lines = _why(capsys, question)
    assert lines[0] == f"reply: answer (entry {reply.entry_id})"
    assert lines[1].startswith("triage: nothing fired")
    chosen = next(line for line in lines if line.startswith("chosen: "))
    assert chosen.startswith(f"chosen: {reply.entry_id}, confidence {reply.confidence:.3f}")
    runner = next(line for line in lines if line.startswith("runner-up: "))
    assert reply.entry_id not in runner
    assert any("best phrasing:" in line for line in lines)
    fallback_below, clarify_margin = thresholds(engine)
    assert reply.confidence >= fallback_below
    assert f"against the fallback threshold {fallback_below:g}: above" in "\n".join(lines)
    text = "\n".join(lines)
    assert (f"against the clarify margin {clarify_margin:g}: the chosen entry wins clearly" in text
            or "is below the fallback threshold: the chosen entry wins clearly" in text)


def test_why_names_the_words_that_matched(engine):
    entry = engine.knowledge.entries[0]
    why = explain(engine, entry.question)
    top = why.matches[0]
    assert top.entry_id == entry.id
    assert top.phrasing_words and set(top.phrasing_words) <= set(why.query_words)
    assert top.entry_words


def test_why_of_an_urgent_message_names_the_trigger(capsys):
    lines = _why(capsys, "my son had CAR-T last week and has a temp of 38.6")
    assert lines[0] == "reply: urgent"
    assert lines[1] == "triage: warning, because of 'vital sign: temperature 38.6'"
    assert any(line.startswith("retrieval: not used for the reply") for line in lines)


def test_why_of_a_fallback_says_below_the_threshold(capsys):
    lines = _why(capsys, "how to make pancakes")
    text = "\n".join(lines)
    assert lines[0] == "reply: fallback"
    assert "below: the fallback is given" in text
    assert "clarify margin" not in text, "a margin means nothing when neither entry reaches the threshold"


@pytest.mark.parametrize("message", ["", "???", "zzzz qqqq"])
def test_why_of_nothing_to_look_up(engine, message):
    why = explain(engine, message)
    assert why.lines()[0].startswith("reply: ")


def test_why_of_two_close_entries_says_the_patient_is_asked():
    from bot.explain import Match, Why
    why = Why("a question", "clarify", None, None, "", (), ("word",),
              (Match("first", 0.51, "a phrasing", ("word",), ("word",)),
               Match("second", 0.50, "another", ("word",), ()), ), 0.3, 0.05)
    text = "\n".join(why.lines())
    assert "lead over the runner-up 0.0100 against the clarify margin 0.05: too close" in text
    assert "words matched in the entry's question and answer: none" in text
