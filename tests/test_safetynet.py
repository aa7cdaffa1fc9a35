"""The safety net: its score is the trained classifier's, a message is urgent when the lexicon or the net says so,
a net-only hit is logged with the nearest concept, training is cached by content, and the corpus is checked; its
crisis scores (the letters' and the meaning's) give the crisis reply past the lexicon's thresholds, and without
the vector file the net has letters only."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safety import triage
from bot.semantic import load_embedder
from bot.safetynet import (CORPUS, CorpusError, held_out, measure, net_for, read_corpus, train,
                           training_messages)
from bot.text import normalize


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(CORPUS)


def test_the_shipped_corpus_is_large_and_covers_every_kind(corpus):
    kinds = {m.kind for m in corpus}
    assert len(corpus) >= 1300
    assert kinds >= {"emergency", "crisis", "warning", "sign_question", "advice", "smalltalk"}


def test_score_is_the_classifiers_own(engine):
    net = engine.lexicon.net
    for text in ("my son has a fever", "what are living drugs", "i want to die", "hello"):
        row = net.vectorizer.transform([normalize(text)])
        expected = 1.0 / (1.0 + np.exp(-(np.asarray(row @ net.weights).ravel() + np.array(net.bias))))
        assert net.score(normalize(text)) == pytest.approx(tuple(expected), abs=1e-6)


# Words the net knows, repeated and spaced any way: each word's n-grams are remembered, the sums stay the model's.
@given(words=st.lists(st.sampled_from(["my", "son", "fever", "chest", "pain", "die", "cells", "feverish", "zzq"]),
                      max_size=12), spaces=st.sampled_from([" ", "  ", " \t "]))
@settings(max_examples=60, deadline=None)
def test_score_is_the_classifiers_own_for_any_words(engine, words, spaces):
    net = engine.lexicon.net
    text = spaces.join(words)
    row = net.vectorizer.transform([text])
    expected = 1.0 / (1.0 + np.exp(-(np.asarray(row @ net.weights).ravel() + np.array(net.bias))))
    assert net.score(text) == pytest.approx(tuple(expected), abs=1e-6)
    assert net.score(text) == net.score(text)  # remembered n-grams give the first answer again


def test_urgent_when_the_lexicon_or_the_net_says_so(engine, corpus):
    words_only = engine.lexicon.replace(net=None)
    caught_by_net = 0
    for message in corpus[:600]:
        alone = triage(message.text, words_only)
        both = triage(message.text, engine.lexicon)
        if alone.urgent:
            # a warning sign the net is sure is a crisis gets the crisis reply (test_a_warning_word_inside_a_crisis)
            assert both.urgent and (both.category == alone.category
                                    or (alone.category, both.category, both.source)
                                    == ("warning", "crisis", "safety net")), message.text
        elif both.urgent:
            assert both.source == "safety net"
            caught_by_net += 1
    assert caught_by_net, "the net adds nothing the lexicon does not already catch"


def test_a_net_only_hit_is_logged_with_its_nearest_concept(engine, corpus, caplog):
    words_only = engine.lexicon.replace(net=None)
    missed = next(m.text for m in corpus if m.kind == "warning" and not triage(m.text, words_only).urgent
                  and triage(m.text, engine.lexicon).urgent)
    with caplog.at_level(logging.INFO, logger="bot.safety"):
        verdict = triage(missed, engine.lexicon)
    assert verdict.source == "safety net"
    assert any("nearest concept warning/" in r.getMessage() or "nearest concept emergency/" in r.getMessage()
               or "nearest concept crisis/" in r.getMessage() for r in caplog.records), caplog.text


def test_training_is_cached_by_content(engine):
    lexicon = engine.lexicon.replace(net=None)
    rows = training_messages(lexicon, read_corpus(CORPUS)[:300])
    assert train(rows, lexicon) is train(list(rows), lexicon)
    assert train(rows[:-1], lexicon) is not train(rows, lexicon)


def test_gibberish_is_not_urgent(engine):
    for text in ("asdfgh", "lkjhgf", "qwertyuiop", "zzzzz"):
        assert not triage(text, engine.lexicon).urgent, text


def test_measure_reports_precision_on_held_out_messages(engine, corpus):
    report = measure(engine.lexicon.replace(net=None), corpus)
    assert report.measured_on == sum(held_out(m.text) for m in corpus)
    assert 0.0 < report.precision <= 1.0 and 0.0 < report.recall <= 1.0
    assert report.flagged > 0


@pytest.mark.parametrize("line, expected", [
    ("not json", "x.jsonl:2: not a JSON object"),
    (json.dumps({"kind": "panic", "text": "help"}), "x.jsonl:2: needs \"kind\""),
    (json.dumps({"kind": "warning"}), "x.jsonl:2: needs \"kind\""),
])
def test_a_bad_corpus_line_is_named(tmp_path, line, expected):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"kind": "warning", "text": "fever"}) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=expected.replace("\"", ".")):
        read_corpus(path)


def test_the_semantic_crisis_score_is_its_models_own(engine):
    net = engine.lexicon.net
    embedder, weights, bias = net.semantic
    for text in ("i want to die", "what are living drugs", "hello there"):
        expected = 1.0 / (1.0 + np.exp(-(embedder.encode_one(normalize(text)) @ weights + bias)))
        assert net.semantic_crisis(normalize(text)) == pytest.approx(float(expected), abs=1e-6)


# Own phrasings: a crisis in words of its own against questions and signs that only sound dark. Each threshold is
# tried alone (the others off, the urgent score's too), so each says what it catches by itself.
ONLY = {"letters": dict(net_crisis_alone_threshold=0.8, net_question_crisis_alone_threshold=0.95),
        "meaning": dict(net_semantic_threshold=0.99, net_question_semantic_threshold=0.999)}
OFF = dict(net_threshold=1.0, net_question_threshold=1.0, net_crisis_alone_threshold=float("inf"),
           net_question_crisis_alone_threshold=float("inf"), net_semantic_threshold=float("inf"),
           net_question_semantic_threshold=float("inf"))


@pytest.mark.parametrize("score, message", [
    ("letters", "i want out of this life"),
    ("letters", "my brother says he has no reason to wake up tomorrow"),
    ("meaning", "i hate being alive"),
    ("meaning", "i dont see myself making it to christmas and i dont want to"),
])
def test_a_crisis_score_alone_gives_the_crisis_reply(engine, score, message):
    lexicon = engine.lexicon.replace(**{**OFF, **ONLY[score]})
    verdict = triage(message, lexicon)
    assert (verdict.category, verdict.source) == ("crisis", "safety net"), verdict
    assert not triage(message, engine.lexicon.replace(**OFF)).urgent  # that score, and nothing else, caught it


@pytest.mark.parametrize("message", [
    "is depression common after cancer treatment",
    "how long do people live after a relapse",
    "what is the survival rate after the treatment",
    "can the treatment cause low mood",
    "my aunt died of cancer years ago, does it run in families",
    "what happens if the cells stop working",
    "goodbye and thanks for your help",
    "i am so tired after the infusion, is that normal",
    "i want to come off all my medication",
    "can i stop taking my medication",
])
def test_questions_that_only_sound_dark_get_no_crisis_reply(engine, message):
    assert triage(message, engine.lexicon).category != "crisis", message


def test_a_warning_word_inside_a_crisis_gets_the_crisis_reply(engine):
    verdict = triage("i have a rash and honestly i want my life to be over", engine.lexicon.replace(
        net_crisis_alone_threshold=float("inf")))
    assert verdict.category == "crisis"
    for message in ("i have a rash on my arms since the infusion", "he has a high temperature and is shivering"):
        assert triage(message, engine.lexicon).category == "warning", message
    # past the lexicon's warning_crisis_threshold only
    lexicon = engine.lexicon.replace(net_warning_crisis_threshold=float("inf"))
    assert triage("i have a rash and honestly i want my life to be over", lexicon).category == "warning"


def test_without_the_vector_file_the_net_has_letters_only(engine, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.semantic"):
        assert load_embedder(tmp_path) is None
    assert "safety net scores letters only" in caplog.text
    lexicon = engine.lexicon.replace(net=None)
    corpus = read_corpus(CORPUS)
    net = net_for(lexicon, corpus, embedder=None)
    assert net.semantic is None and net.semantic_crisis("i hate being alive") is None
    letters = lexicon.replace(net=net)
    assert triage("i want to kill myself", letters).category == "crisis"
    assert triage("my son has a fever", letters).category == "warning"
    assert not triage("what are living drugs", letters).urgent
