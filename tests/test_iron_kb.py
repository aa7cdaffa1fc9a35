"""The second clinic: an iron-infusion knowledge base built with `run.py init` from its own leaflet passes
`check` and `eval`, quotes its leaflet word for word, and holds nothing of the shipped article."""
from __future__ import annotations

import re

import pytest
import yaml

import run
from conftest import KNOWLEDGE, PROJECT, assert_reply, settings_for
from bot import create_app

IRON_KB = PROJECT / "tests" / "data" / "iron-kb"


@pytest.fixture(scope="module")
def iron_engine():
    from bot.engine import build_engine
    return build_engine(IRON_KB)


def test_check_and_eval_pass(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path))
    assert run.main(["check", "--knowledge", str(IRON_KB)]) == 0
    assert "0 warning(s)" in capsys.readouterr().out
    assert run.main(["eval", "--knowledge", str(IRON_KB)]) == 0
    assert "BELOW BAR" not in capsys.readouterr().out


def test_the_source_is_the_leaflet_word_for_word(iron_engine):
    leaflet = [line for line in (IRON_KB / "leaflet.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    (source,) = iron_engine.knowledge.sources.values()
    assert source.title == leaflet[0]
    texts = [s.text for s in source.sections]
    assert texts[0] == leaflet[1]
    assert [(s.heading, s.text) for s in source.sections[1:]] == list(zip(leaflet[2::2], leaflet[3::2]))


def _ngrams(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i: i + n]) for i in range(len(words) - n + 1)}


def _content(kb_dir) -> list[str]:
    """The knowledge base's own words: its source, its entries, and its in-scope regression questions."""
    from bot.knowledge import load_knowledge
    kb = load_knowledge(kb_dir)
    texts = [s.text for src in kb.sources.values() for s in src.sections]
    texts += [t for e in kb.entries for t in (e.question, e.answer, *e.alternates)]
    return texts + [c.message for c in kb.regression if c.type == "answer"]


def test_nothing_is_copied_from_the_shipped_article():
    shipped = set().union(*map(_ngrams, _content(KNOWLEDGE)))
    for text in _content(IRON_KB):
        assert not _ngrams(text) & shipped, text
    triage = yaml.safe_dump(yaml.safe_load((IRON_KB / "triage.yaml").read_text(encoding="utf-8"))).lower()
    for word in ("car-t", "car t", "leuk", "cytokine", "crs", "icans", "living drug", "donor"):
        assert word not in triage


def test_a_short_triage_of_the_infusions_own_signs(iron_engine):
    reply = iron_engine.responder.reply("my arm is swollen where the cannula was")
    assert reply.type == "urgent" and "your clinic or your family doctor" in reply.text
    assert iron_engine.responder.reply("my lips are swelling after the iron drip").type == "urgent"
    assert iron_engine.responder.reply("will the iron stain my skin").entry_id == "skin-staining"


def test_the_iron_clinic_serves_cited_answers(tmp_path):
    app = create_app(settings_for(tmp_path, knowledge=IRON_KB))
    client = app.test_client()
    reply = client.post("/api/ask", json={"message": "how long does the drip take"}).get_json()
    assert reply["type"] == "answer" and reply["entry_id"] == "how-long-is-the-visit"
    assert_reply(reply)
    demo = client.get("/demo").get_data(as_text=True)
    assert "Iron infusions: a guide for patients" in demo and "What is iron deficiency?" in demo
