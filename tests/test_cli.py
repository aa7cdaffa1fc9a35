"""The command line does what the contract says: check, ask [--json], eval, report, each with the right exit status.

The commands run in this process through bot.cli.main (the function behind run.py, `faqbot` and `python -m bot`);
the installed commands themselves run in a subprocess in test_package.py.
"""
from __future__ import annotations

import json
import os

import pytest

from bot.cli import main
from conftest import OTHER_KB


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    """Run one command as an operator who set no FAQBOT_* variable would; return (status, stdout, stderr)."""
    for name in [n for n in os.environ if n.startswith("FAQBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path / "data"))

    def command(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err
    return command


def test_check_clean(run):
    status, out, err = run("check")
    assert status == 0, out + err
    assert "ok:" in out and "reading grade" in out


def test_check_broken(run, kb_copy):
    (kb_copy / "entries.yaml").write_text("entries:\n  - id: only\n    question: x\n", encoding="utf-8")
    status, out, _ = run("check", "--knowledge", str(kb_copy))
    assert status == 1
    lines = out.strip().splitlines()
    assert lines and all(line.startswith("knowledge/") for line in lines)
    assert "knowledge/entries.yaml:2: only: answer: missing (required in an entry)" in lines


def test_a_broken_knowledge_base_stops_ask_with_the_way_to_see_why(run, kb_copy):
    (kb_copy / "entries.yaml").write_text("entries: [\n", encoding="utf-8")
    status, _, err = run("ask", "hello", "--knowledge", str(kb_copy))
    assert status == 1 and "faqbot check" in err


def test_ask_urgent_prints_the_urgent_message_first(run):
    status, out, _ = run("ask", "my son had CAR-T last week and has a temp of 38.6")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "[urgent]" and "999" in lines[1]


def test_ask_weather_falls_back_with_suggestions(run):
    _, out, _ = run("ask", "what's the weather tomorrow")
    assert out.startswith("[fallback]") and "You could ask:" in out


def test_ask_json(run):
    _, out, _ = run("ask", "how many patients went into remission", "--json")
    reply = json.loads(out)
    assert reply["type"] == "answer" and reply["citations"]


def test_eval_prints_the_table(run):
    status, out, _ = run("eval")
    assert status == 0, out
    assert "in scope, right entry first" in out and "urgent → urgent" in out


def test_eval_tune_writes_the_knowledge_bases_thresholds(run, tmp_path):
    import shutil
    kb = tmp_path / "other"
    shutil.copytree(OTHER_KB, kb)
    assert not (kb / "settings.yaml").exists()
    status, out, _ = run("eval", "--tune", "--knowledge", str(kb))
    assert status == 0, out
    assert "written to" in out and "in scope, right entry first" in out
    assert "fallback_below:" in (kb / "settings.yaml").read_text(encoding="utf-8")
    status, out, _ = run("eval", "--knowledge", str(kb))
    assert status == 0, out


def test_other_knowledge_base_through_the_flag(run):
    status, out, _ = run("eval", "--knowledge", str(OTHER_KB))
    assert status == 0, out


def test_a_bad_setting_is_exit_2_naming_it(run, monkeypatch):
    monkeypatch.setenv("FAQBOT_ALLOWED_ORIGINS", "clinic.example")
    status, _, err = run("check")
    assert status == 2 and "FAQBOT_ALLOWED_ORIGINS" in err


def test_announce_says_what_is_wrong_without_a_queue(run):
    status, _, err = run("announce", "hello")
    assert status == 2 and "FAQBOT_MESSAGE_QUEUE" in err


def test_eval_without_regression_questions_fails_and_says_why(run, kb_copy):
    (kb_copy / "regression.yaml").unlink()
    status, _, err = run("eval", "--knowledge", str(kb_copy))
    assert status == 1 and "no regression questions: add them to knowledge/regression.yaml" in err


def test_check_against_another_folder_lists_what_the_edit_breaks(run, kb_copy):
    from conftest import KNOWLEDGE, scramble_first_entry
    first = scramble_first_entry(kb_copy)
    status, out, _ = run("check", "--knowledge", str(kb_copy), "--against", str(KNOWLEDGE))
    assert status == 1
    assert f"regression replies compared with {KNOWLEDGE}" in out
    broken = [line for line in out.splitlines() if f"expects answer {first['id']}" in line]
    assert broken and all(line.startswith("knowledge/regression.yaml:") for line in broken)
    assert "(the version in force gives answer" in broken[0]


def test_without_a_running_bot_the_first_clean_check_is_the_baseline(run, kb_copy):
    from conftest import scramble_first_entry
    status, out, _ = run("check", "--knowledge", str(kb_copy))
    assert status == 0 and "as the last good version" not in out, "a fresh folder keeps nothing"
    os.makedirs(os.environ["FAQBOT_DATA_DIR"])  # the data directory a bot (or staff) uses
    status, out, _ = run("check", "--knowledge", str(kb_copy))
    assert status == 0 and "as the last good version: the next check compares with them" in out
    first = scramble_first_entry(kb_copy)
    status, out, _ = run("check", "--knowledge", str(kb_copy))
    assert status == 1
    assert "compared with version" in out and f"expects answer {first['id']}" in out


def test_eval_takes_several_development_files_after_one_dev_and_after_several():
    from bot.cli import _parser
    together = _parser().parse_args(["eval", "--dev", "a.jsonl", "b.jsonl", "--labels", "l.yaml"])
    apart = _parser().parse_args(["eval", "--dev", "a.jsonl", "--dev", "b.jsonl", "c.jsonl"])
    assert together.dev == ["a.jsonl", "b.jsonl"] and together.labels == "l.yaml"
    assert apart.dev == ["a.jsonl", "b.jsonl", "c.jsonl"]
