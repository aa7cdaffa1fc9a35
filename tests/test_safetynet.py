"""The safety net: its score is the trained classifier's, a message is urgent when the lexicon or the net says so,
a net-only hit is logged with the nearest concept, training is cached by content, and the corpus is checked."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safety import triage
from bot.safetynet import CORPUS, CorpusError, held_out, measure, read_corpus, train, training_messages
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
            assert both.urgent and both.category == alone.category, message.text
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
