"""A knowledge base's own confidence model: read from settings.yaml, applied by retrieval, fitted by `eval --tune`
on its regression questions and on patient questions given as development data."""
from __future__ import annotations

import json
import math
import shutil

import pytest

from bot.devquestions import DevDataError, dev_questions, labelled_entries, read_cases, read_labels
from bot.engine import build_engine, documents
from bot.evaluation import evaluate, evaluate_dev, fit_calibration, tune, write_settings
from bot.knowledge import KnowledgeError, load_knowledge
from bot.retrieval import KB_CALIBRATION_INPUTS, Index
from conftest import OTHER_KB

OFF_TOPIC = ["what time does the supermarket shut", "how do i fix a flat tyre", "best way to cook rice",
             "who won the world cup in 2018", "how tall is the eiffel tower", "what is the capital of spain",
             "how do i reset my router", "cheap hotels in london", "how many legs does a spider have",
             "what is the speed of light", "recipe for lasagne", "how to knit a scarf", "when is the next bank holiday",
             "how do i change a lightbulb", "what is a black hole", "how to train a puppy", "where is peru",
             "how do planes fly", "what is the stock market", "how do i learn spanish", "what is jazz music",
             "how to paint a fence", "what is a volcano", "how many days in a leap year", "who wrote hamlet"]


@pytest.fixture(scope="module")
def other_dev(tmp_path_factory):
    """Development questions for the other clinic's knowledge base: each alternate asked as a patient question
    quoting its entry's first quote, the labels naming that entry, and off-topic questions."""
    knowledge = load_knowledge(OTHER_KB)
    folder = tmp_path_factory.mktemp("dev")
    lines = [json.dumps({"kind": "in_scope", "text": a.upper() if n % 3 == 0 else a, "quote": e.quotes[0].text})
             for e in knowledge.entries for n, a in enumerate(e.alternates)]
    lines += [json.dumps({"kind": "off_topic", "text": t}) for t in OFF_TOPIC]
    (folder / "dev.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "labels.yaml").write_text("".join(f"- passage: {json.dumps(e.quotes[0].text)}\n  entries: [{e.id}]\n"
                                                for e in knowledge.entries), encoding="utf-8")
    return folder


def test_dev_questions_take_their_entries_from_the_labels(other_dev):
    questions = dev_questions([other_dev / "dev.jsonl"], other_dev / "labels.yaml")
    inside = [q for q in questions if q.in_scope]
    assert len(inside) >= 30 and all(q.entries and len(q.entries) == 1 for q in inside)
    assert sum(not q.in_scope for q in questions) == len(OFF_TOPIC)
    assert all(q.entries is None for q in dev_questions([other_dev / "dev.jsonl"]))  # no labels: entry unknown


@pytest.mark.parametrize("line, found", [
    ('{"kind": "in_scope", "text": "no quote"}', "dev.jsonl:2: expected kind in_scope"),
    ('{"kind": "maybe", "text": "what"}', "dev.jsonl:2: expected kind"),
    ("not json", "dev.jsonl:2: not a JSON object"),
])
def test_a_bad_development_line_is_named(tmp_path, line, found):
    path = tmp_path / "dev.jsonl"
    path.write_text('{"kind": "off_topic", "text": "fine"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DevDataError, match=found):
        read_cases(path)


def test_labels_take_the_longest_passage_and_refuse_an_empty_item(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("- passage: the cells stay\n  entries: [short]\n"
                    "- passage: The cells stay in the body\n  entries: [long]\n", encoding="utf-8")
    labels = read_labels(path)
    assert labelled_entries("THE CELLS  STAY in the body for years", labels) == ("long",)
    assert labelled_entries("nothing of the sort", labels) is None
    path.write_text("- passage: words\n  entries: []\n", encoding="utf-8")
    with pytest.raises(DevDataError, match="item 1"):
        read_labels(path)


def test_the_identity_calibration_keeps_the_shared_confidence(engine):
    docs = documents(engine.knowledge)
    shared = Index(docs, engine.knowledge.synonyms)
    identity = Index(docs, engine.knowledge.synonyms, calibration={"confidence_logit": 1.0})
    for query in ("what are living drugs", "is it a cure", "how do i renew my passport", "hello sorry, any risks?"):
        assert [(h.entry_id, round(h.score, 9)) for h in shared.search(query)] == \
            [(h.entry_id, round(h.score, 9)) for h in identity.search(query)]


def test_a_calibration_decides_the_first_entrys_confidence(engine):
    docs = documents(engine.knowledge)
    doubtful = Index(docs, engine.knowledge.synonyms, calibration={"bias": -4.0})
    hits = doubtful.search("what are living drugs")
    assert hits[0].entry_id == "what-are-living-drugs"
    assert math.isclose(hits[0].score, 1 / (1 + math.exp(4.0)))  # the model alone: its bias
    inputs = engine.index.calibration_inputs("what are living drugs")
    assert len(inputs) == len(KB_CALIBRATION_INPUTS) and 0.0 <= inputs[2] <= 1.0
    with pytest.raises(ValueError, match="unknown input"):
        Index(docs, calibration={"confidence": 1.0})


def test_rare_words_the_first_entry_lacks_are_seen(engine):
    rarity = KB_CALIBRATION_INPUTS.index("unheld_rarity")
    assert engine.index.calibration_inputs("what are living drugs")[rarity] == 0.0
    assert engine.index.calibration_inputs("what are living drugs qwxzvb")[rarity] == 1.0  # a word no entry holds


@pytest.mark.parametrize("block, found", [
    ("    confidence: 1.0\n", "unknown input 'confidence'"),
    ("    margin: lots\n", "margin: expected a number"),
    ("    margin: .nan\n", "margin: expected a number"),
])
def test_a_bad_calibration_is_named_by_line(kb_copy, block, found):
    (kb_copy / "settings.yaml").write_text("retrieval:\n  fallback_below: 0.6\n  calibration:\n" + block,
                                           encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_copy)
    assert any(p.file.endswith("settings.yaml") and p.line == 4 and found in p.message
               for p in caught.value.problems), caught.value.problems


def test_too_few_questions_keep_the_shared_confidence():
    assert fit_calibration(build_engine(OTHER_KB)) == ()


def test_tuning_with_development_questions_fits_and_writes_a_calibration(tmp_path, other_dev):
    kb = tmp_path / "other"
    shutil.copytree(OTHER_KB, kb)
    engine = build_engine(kb)
    dev = dev_questions([other_dev / "dev.jsonl"], other_dev / "labels.yaml")
    chosen, result = tune(engine, dev)
    assert result.passes, result.table()
    assert [name for name, _ in chosen.calibration] == list(KB_CALIBRATION_INPUTS) + ["bias"]
    write_settings(kb, chosen)
    again = load_knowledge(kb).thresholds
    assert again.calibration == chosen.calibration and again.fallback_below == chosen.fallback_below
    tuned = build_engine(kb)
    assert evaluate(tuned).passes
    figures = evaluate_dev(tuned.responder, dev)
    assert figures.off_topic == len(OFF_TOPIC) and figures.declined == figures.off_topic, figures.table()
    # (triage takes some of these phrasings as advice or smalltalk before retrieval: retrieval is judged here)
    threshold = tuned.knowledge.thresholds.fallback_below
    found = [tuned.index.search(q.text, limit=1) for q in dev if q.in_scope]
    assert all(h and h[0].entry_id in q.entries and h[0].score >= threshold
               for h, q in zip(found, [q for q in dev if q.in_scope]))


def test_eval_tune_takes_development_files(tmp_path, other_dev, capsys, monkeypatch):
    from bot.cli import main
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path / "data"))
    kb = tmp_path / "other"
    shutil.copytree(OTHER_KB, kb)
    argv = ["eval", "--knowledge", str(kb), "--dev", str(other_dev / "dev.jsonl"), "--labels",
            str(other_dev / "labels.yaml")]
    assert main(argv[:1] + ["--tune"] + argv[1:]) == 0
    out = capsys.readouterr().out
    assert "own calibration fitted" in out and "in scope, right entry" in out
    assert "calibration:" in (kb / "settings.yaml").read_text(encoding="utf-8")
    (other_dev / "broken.jsonl").write_text("{}\n", encoding="utf-8")
    assert main(["eval", "--knowledge", str(kb), "--dev", str(other_dev / "broken.jsonl")]) == 2
    assert "broken.jsonl:1" in capsys.readouterr().err


OUTSIDE = ["how do i bake sourdough bread", "what is the offside rule in football", "how do i renew my passport"]


def test_outside_questions_lead_only_where_a_query_is_nearer_them(engine):
    docs = documents(engine.knowledge)
    plain = Index(docs, engine.knowledge.synonyms, embedder=engine.index.embedder)
    outside = Index(docs, engine.knowledge.synonyms, embedder=engine.index.embedder, outside=OUTSIDE)
    semantic, chars, raw_semantic, raw_chars = (KB_CALIBRATION_INPUTS.index(n) for n in (
        "outside_semantic_lead", "outside_chars_lead", "outside_semantic", "outside_chars"))
    near = outside.calibration_inputs("how do I bake sourdough bread at home")
    entry = outside.calibration_inputs("what are living drugs")
    assert near[semantic] > 0 and near[chars] > 0, "nearer the outside question than any entry's phrasing"
    assert entry[semantic] < 0 and entry[chars] < 0, "an entry's own question stays nearer its entry"
    assert near[raw_semantic] > entry[raw_semantic] and near[raw_chars] > entry[raw_chars]
    # Without outside questions the four outside inputs are 0 and every other input is the same.
    own = (semantic, chars, raw_semantic, raw_chars)
    without = plain.calibration_inputs("how do I bake sourdough bread at home")
    assert [without[n] for n in own] == [0.0] * 4
    # The same up to float32 rounding: the two indexes sum their vectors in a different order.
    assert [v for n, v in enumerate(without) if n not in own] == \
        pytest.approx([v for n, v in enumerate(near) if n not in own], rel=1e-6, abs=1e-7)


def test_a_calibration_that_weighs_the_outside_lead_lowers_only_the_near_question(engine):
    docs = documents(engine.knowledge)
    weights = {"confidence_logit": 1.0, "outside_semantic_lead": -8.0, "outside_chars_lead": -8.0}
    plain = Index(docs, engine.knowledge.synonyms, embedder=engine.index.embedder, calibration=weights)
    outside = Index(docs, engine.knowledge.synonyms, embedder=engine.index.embedder, calibration=weights,
                    outside=OUTSIDE)
    near = "how do I bake sourdough bread at home"
    assert outside.search(near)[0].score < plain.search(near)[0].score
    for query in ("what are living drugs", "is it a cure"):
        ours, theirs = outside.search(query)[0], plain.search(query)[0]
        assert ours.entry_id == theirs.entry_id and ours.score >= theirs.score  # a negative lead only raises it


def test_outside_questions_reach_the_index_through_the_engine(kb_copy):
    (kb_copy / "outside.yaml").write_text("questions:\n  - how do i bake sourdough bread\n", encoding="utf-8")
    index = build_engine(kb_copy).index
    lead = index.calibration_inputs("baking sourdough bread")[KB_CALIBRATION_INPUTS.index("outside_chars_lead")]
    assert lead > 0
