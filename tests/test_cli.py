"""run.py does what the contract says: check, ask [--json], eval, each with the right exit status."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import OTHER_KB, PROJECT


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=PROJECT, capture_output=True, text=True,
                          timeout=120, env=env)


def test_check_clean(tmp_path):
    result = run("check", env={**os.environ, "FAQBOT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok:" in result.stdout and "reading grade" in result.stdout


def test_check_broken(kb_copy):
    (kb_copy / "entries.yaml").write_text("entries:\n  - id: only\n    question: x\n", encoding="utf-8")
    result = run("check", "--knowledge", str(kb_copy))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.startswith("knowledge/") for line in lines)
    assert "knowledge/entries.yaml:2: only: answer: missing (required in an entry)" in lines


def test_ask_urgent_prints_the_urgent_message_first():
    result = run("ask", "my son had CAR-T last week and has a temp of 38.6")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "[urgent]" and "999" in lines[1]


def test_ask_weather_falls_back_with_suggestions():
    result = run("ask", "what's the weather tomorrow")
    assert result.stdout.startswith("[fallback]") and "You could ask:" in result.stdout


def test_ask_json():
    result = run("ask", "how many patients went into remission", "--json")
    reply = json.loads(result.stdout)
    assert reply["type"] == "answer" and reply["citations"]


def test_eval_prints_the_table():
    result = run("eval")
    assert result.returncode == 0, result.stdout
    assert "in scope, right entry first" in result.stdout and "urgent → urgent" in result.stdout


def test_other_knowledge_base_through_the_flag():
    result = run("eval", "--knowledge", str(OTHER_KB))
    assert result.returncode == 0, result.stdout


def test_eval_without_regression_questions_fails_and_says_why(kb_copy, capsys):
    import run
    (kb_copy / "regression.yaml").unlink()
    assert run.main(["eval", "--knowledge", str(kb_copy)]) == 1
    assert "no regression questions: add them to knowledge/regression.yaml" in capsys.readouterr().err


def test_check_against_another_folder_lists_what_the_edit_breaks(kb_copy, capsys, tmp_path, monkeypatch):
    import run
    from conftest import KNOWLEDGE, scramble_first_entry
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path / "data"))
    first = scramble_first_entry(kb_copy)
    assert run.main(["check", "--knowledge", str(kb_copy), "--against", str(KNOWLEDGE)]) == 1
    out = capsys.readouterr()
    assert f"regression replies compared with {KNOWLEDGE}" in out.out
    broken = [line for line in out.out.splitlines() if f"expects answer {first['id']}" in line]
    assert broken and all(line.startswith("knowledge/regression.yaml:") for line in broken)
    assert "(the version in force gives answer" in broken[0]


def test_without_a_running_bot_the_first_clean_check_is_the_baseline(kb_copy, capsys, tmp_path, monkeypatch):
    import run
    from conftest import scramble_first_entry
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path / "data"))
    assert run.main(["check", "--knowledge", str(kb_copy)]) == 0
    assert "as the last good version: the next check compares with them" in capsys.readouterr().out
    first = scramble_first_entry(kb_copy)
    assert run.main(["check", "--knowledge", str(kb_copy)]) == 1
    out = capsys.readouterr().out
    assert "compared with version" in out and f"expects answer {first['id']}" in out
