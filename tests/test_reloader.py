"""Knowledge edits go live without a restart; a broken edit never replaces the version being served."""
from __future__ import annotations

import json
import threading
import time
import urllib.request

import yaml

from bot import create_app
from conftest import scramble_first_entry, settings_for
from live import live_server


def _set_first_answer(kb_dir, lead: str) -> str:
    """Put a new first sentence before the first entry's answer (the rest kept, so its regression questions hold)."""
    path = kb_dir / "entries.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    answer = data["entries"][0]["answer"]
    data["entries"][0]["answer"] = f"{lead} {answer}"
    temp = path.with_suffix(".tmp")
    temp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    temp.replace(path)
    return data["entries"][0]["question"]


def test_reload_swaps_a_good_edit_and_keeps_the_last_good_version(kb_copy, tmp_path):
    app = create_app(settings_for(tmp_path, knowledge=kb_copy))
    bot = app.extensions["faqbot"]
    from bot.reloader import Reloader
    reloader = Reloader(bot.service)
    old_version = bot.service.engine.knowledge.version
    assert reloader.check() is False, "nothing changed yet"

    question = _set_first_answer(kb_copy, "A new answer written by staff.")
    assert reloader.check() is True
    assert bot.service.engine.knowledge.version != old_version
    assert bot.answer(question)["text"].startswith("A new answer written by staff.")

    good_version = bot.service.engine.knowledge.version
    (kb_copy / "entries.yaml").write_text("entries:\n\t- id: broken\n", encoding="utf-8")
    assert reloader.check() is False
    assert bot.service.engine.knowledge.version == good_version
    assert bot.answer(question)["text"].startswith("A new answer written by staff.")
    health = app.test_client().get("/api/health").get_json()
    assert health["knowledge"]["version"] == good_version
    assert any("entries.yaml" in p and "tabs" in p for p in health["knowledge"]["pending_errors"])
    assert health["status"] == "degraded" and any(r.startswith("knowledge: an edit is held back")
                                                  for r in health["reasons"])


def _ask(url: str, message: str) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/api/ask", data=json.dumps({"message": message}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def _health(url: str) -> dict:
    with urllib.request.urlopen(url + "/api/health", timeout=5) as response:
        return json.loads(response.read())


def _wait_until(condition, timeout: float, message: str) -> None:
    """Wait for a condition that only polling can see (a server's state over HTTP)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def test_live_server_edit_while_a_client_keeps_asking(kb_copy, tmp_path):
    question = _set_first_answer(kb_copy, "The first answer.")
    with live_server(knowledge=kb_copy, env={"FAQBOT_DATA_DIR": str(tmp_path / "data")}) as url:
        statuses: list[int] = []
        seen: list[tuple[float, str]] = []
        stop = threading.Event()
        answered = threading.Event()  # the asker has had an answer
        second = threading.Event()  # the asker has seen the edited answer

        def keep_asking():
            while not stop.is_set():
                try:
                    status, reply = _ask(url, question)
                    statuses.append(status)
                    seen.append((time.monotonic(), reply["text"]))
                    answered.set()
                    if reply["text"].startswith("The second answer."):
                        second.set()
                except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                    statuses.append(repr(exc))
                time.sleep(0.05)  # pacing: a patient asking, not a load test

        asker = threading.Thread(target=keep_asking, daemon=True)
        asker.start()
        assert answered.wait(15), "no answer before the edit"
        _set_first_answer(kb_copy, "The second answer.")
        # A liveness bound, not a speed target: how fast an edit goes live is measured by bench/reload.py.
        assert second.wait(15), "the good edit never went live"
        (kb_copy / "entries.yaml").write_text("entries: [\n", encoding="utf-8")
        _wait_until(lambda: _health(url)["knowledge"].get("pending_errors"), 15, "the broken edit was not noticed")
        answers_after_broken_edit = len(seen)
        _wait_until(lambda: len(seen) > answers_after_broken_edit, 15, "no answer after the broken edit")
        stop.set()
        asker.join(timeout=5)
    assert seen[-1][1].startswith("The second answer."), "the broken edit changed nothing"
    assert statuses and all(s == 200 for s in statuses), [s for s in statuses if s != 200][:3]


def test_reloader_watches_only_the_knowledge_files(kb_copy, tmp_path):
    from bot.reloader import Reloader
    app = create_app(settings_for(tmp_path, knowledge=kb_copy))
    service = app.extensions["faqbot"].service
    reloader = Reloader(service)
    before = service.engine
    # An editor's swap and backup files, a note, a new folder: none of them is knowledge, none reloads.
    for name in (".entries.yaml.swp", "entries.yaml~", "#entries.yaml#", "4913", "notes.txt", "README.md"):
        (kb_copy / name).write_text("scratch", encoding="utf-8")
        assert reloader.check() is False, name
    (kb_copy / "drafts").mkdir()
    assert reloader.check() is False
    assert service.engine is before, "nothing was rebuilt"
    # A knowledge file that appears or goes is a change (one that keeps the regression questions right goes live).
    (kb_copy / "policy.yaml").write_text("limits:\n  max_answer_words: 90\n", encoding="utf-8")
    assert reloader.check() is True
    assert service.engine is not before
    (kb_copy / "policy.yaml").unlink()
    assert reloader.check() is True


def test_an_edit_that_breaks_a_regression_question_is_held_back(kb_copy, tmp_path, caplog):
    app = create_app(settings_for(tmp_path, knowledge=kb_copy))
    bot = app.extensions["faqbot"]
    from bot.reloader import Reloader
    reloader = Reloader(bot.service)
    good_version = bot.service.engine.knowledge.version
    original = (kb_copy / "entries.yaml").read_bytes()
    entry_id = scramble_first_entry(kb_copy)["id"]
    broken_questions = [c for c in bot.service.engine.knowledge.regression if c.entry == entry_id]
    assert broken_questions
    with caplog.at_level("ERROR", logger="bot.reloader"):
        assert reloader.check() is False
    assert bot.service.engine.knowledge.version == good_version, "the last good version keeps serving"
    assert bot.answer(broken_questions[0].message)["entry_id"] == entry_id
    health = app.test_client().get("/api/health").get_json()
    assert health["status"] == "degraded"
    assert health["reasons"][0].startswith("knowledge: an edit is held back: it breaks")
    broke = [r for r in health["reasons"] if f"expects answer {entry_id}" in r]
    assert broke and all(r.startswith("knowledge/regression.yaml:") for r in broke)
    lines = {int(r.split(":")[1]) for r in broke}
    assert lines <= {c.line for c in broken_questions}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "held back" in logged and f"knowledge/regression.yaml:{min(lines)}:" in logged

    (kb_copy / "entries.yaml").write_bytes(original + b"\n")  # undone: the same entries, a new version
    assert reloader.check() is True
    health = app.test_client().get("/api/health").get_json()
    assert health["status"] == "ok" and "reasons" not in health


def test_check_shows_the_diff_against_the_version_served(kb_copy, tmp_path, capsys, monkeypatch):
    import run
    app = create_app(settings_for(tmp_path, knowledge=kb_copy))
    app.extensions["faqbot"].service.baseline()  # what the server keeps when it starts watching
    entry_id = scramble_first_entry(kb_copy)["id"]
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path / "data"))
    status = run.main(["check", "--knowledge", str(kb_copy)])
    out = capsys.readouterr()
    assert status == 1
    assert "compared with version" in out.out
    assert any(line.startswith("knowledge/regression.yaml:") and f"expects answer {entry_id}" in line
               for line in out.out.splitlines())
    assert "holds this edit back" in out.err


def test_a_live_server_holds_back_a_breaking_edit_and_health_says_why(kb_copy, tmp_path):
    data_dir = tmp_path / "data"
    with live_server(knowledge=kb_copy, env={"FAQBOT_DATA_DIR": str(data_dir)}) as url:
        deadline = time.monotonic() + 30
        while not (data_dir / "last-good-regression.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # the watcher keeps the served version's replies before it compares any edit
        assert (data_dir / "last-good-regression.json").exists()
        original = yaml.safe_load((kb_copy / "entries.yaml").read_text(encoding="utf-8"))["entries"][0]["question"]
        first = scramble_first_entry(kb_copy)
        deadline = time.monotonic() + 30
        health = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url + "/api/health", timeout=5) as response:
                health = json.loads(response.read())
            if health["status"] == "degraded":
                break
            time.sleep(0.2)
        status, reply = _ask(url, original)
    assert health["status"] == "degraded", health
    assert health["reasons"][0].startswith("knowledge: an edit is held back: it breaks")
    assert any(r.startswith("knowledge/regression.yaml:") and f"expects answer {first['id']}" in r
               for r in health["reasons"][1:])
    assert status == 200 and reply["entry_id"] == first["id"], "the last good version keeps answering"
