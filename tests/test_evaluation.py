"""The shipped knowledge base meets its regression bar, and another clinic's knowledge base works unchanged."""
from __future__ import annotations

from bot.config import load_settings
from bot.engine import build_engine
from bot.evaluation import BARS, evaluate
from conftest import OTHER_KB, assert_reply


def test_regression_bar_holds(engine):
    counts = {}
    for case in engine.knowledge.regression:
        counts[case.type] = counts.get(case.type, 0) + 1
    assert len(engine.knowledge.regression) >= 150
    assert counts["fallback"] >= 30 and counts["urgent"] >= 30
    assert counts["advice"] >= 15 and counts["smalltalk"] >= 10
    result = evaluate(engine)
    for score in result.scores:
        assert score.share >= BARS[score.type], result.table()
    assert result.passes


def test_evaluation_reports_misses(engine, kb_copy):
    path = kb_copy / "regression.yaml"
    path.write_text(path.read_text(encoding="utf-8")
                    + '  - {message: "what is the capital of France", type: answer, entry: '
                    + engine.knowledge.entries[0].id + "}\n", encoding="utf-8")
    result = evaluate(build_engine(kb_copy))
    assert any(m.message == "what is the capital of France" for m in result.misses)
    assert "capital of France" in result.table()


def test_another_clinics_knowledge_base_works():
    settings = load_settings({"knowledge": OTHER_KB}, environ={})
    engine = build_engine(OTHER_KB, settings)
    assert engine.knowledge.entries and engine.knowledge.regression
    result = evaluate(engine)
    assert result.passes, result.table()
    for entry in engine.knowledge.entries:
        reply = engine.responder.reply(entry.alternates[0]).to_dict()
        assert_reply(reply, engine.knowledge)
        assert reply["entry_id"] == entry.id


def test_tuning_picks_thresholds_that_meet_the_bar_and_writes_them(engine, kb_copy):
    from bot.evaluation import tune, write_settings
    from bot.knowledge import load_knowledge
    (kb_copy / "settings.yaml").unlink()
    tuned_engine = build_engine(kb_copy)
    chosen, result = tune(tuned_engine)
    assert result.passes, result.table()
    assert 0.0 < chosen.fallback_below < 1.0 and 0.0 <= chosen.clarify_margin <= 0.2
    write_settings(kb_copy, chosen)
    again = load_knowledge(kb_copy).thresholds
    assert (again.fallback_below, again.clarify_margin) == (chosen.fallback_below, chosen.clarify_margin)
    assert evaluate(build_engine(kb_copy)).passes
