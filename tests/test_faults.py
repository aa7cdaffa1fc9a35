"""Faults never take the chat down: Redis going away, garbage frames, hang-ups mid-reply, a restarted server."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import websocket

from bot.records import Records
from conftest import PROJECT
from live import (RedisServer, announce, free_port, health, live_server, need_redis_server, wait_health,
                  wait_written)
from test_serving import Chat, healthy, post, readme_production_line, serve_env

QUESTION = "how many patients went into remission"


@pytest.mark.redis
def test_redis_stops_and_comes_back(tmp_path, check_reply, engine):
    need_redis_server()
    queue = RedisServer()
    queue.start()
    with ExitStack() as stack:
        stack.callback(queue.stop)
        url = stack.enter_context(live_server(env=serve_env(tmp_path, FAQBOT_MESSAGE_QUEUE=queue.url)))
        chat = Chat(url)
        stack.callback(chat.close)
        check_reply(chat.ask(QUESTION)["reply"])

        assert health(url)["status"] == "ok"

        queue.stop()
        # Replies skip the queue, so the server keeps answering its own clients, old and new; conversation memory
        # and rate limits fall back to this process's own memory, and health says so.
        check_reply(chat.ask(QUESTION)["reply"])
        body = health(url)
        assert body["status"] == "degraded", body
        assert any("conversation memory: Redis unreachable" in r for r in body["reasons"]), body
        assert any("rate limits: Redis unreachable" in r for r in body["reasons"]), body
        assert chat.ask("I can't breathe")["reply"]["type"] == "urgent"
        reminded = chat.ask(QUESTION)["reply"]
        assert reminded["text"].startswith(engine.profile.say("reminder")), "the reminder holds within the process"
        newcomer = Chat(url)
        stack.callback(newcomer.close)
        assert newcomer.wait_for("welcome")
        check_reply(newcomer.ask(QUESTION)["reply"])
        refused = announce(queue.url, "nobody hears this")
        assert refused.returncode == 1 and "cannot reach the queue" in refused.stderr

        queue.start()
        # The server resubscribes on its own (with back-off); announce reports the processes listening.
        deadline = time.monotonic() + 30
        while not chat.events.get("notice"):
            assert time.monotonic() < deadline, "announce never reached the client after Redis came back"
            announce(queue.url, "back again")
            chat.wait_for("notice", timeout=1.0)
        assert chat.events["notice"][-1] == {"text": "back again"}
        assert newcomer.wait_for("notice")
        check_reply(chat.ask(QUESTION)["reply"])
        deadline = time.monotonic() + 10
        while health(url)["status"] != "ok":
            assert time.monotonic() < deadline, health(url)
            chat.ask(QUESTION)  # the shared stores are tried again on use, a couple of seconds after a failure
            time.sleep(0.2)


GARBAGE = [
    "zzzz", "", "4", "42", '42["ask"', '42["ask",{"message":', "42[1,2,3]", '42{"ask":1}', "6", "9999",
    '42["nonexistent",{}]', '42["ask","' + "x" * 500 + '"]', "4\x00\x01\x02", "40/nowhere,", "2probe" * 100,
]


def raw_session(url: str) -> websocket.WebSocket:
    """Open a raw websocket, past the Engine.IO open packet and the Socket.IO connect."""
    ws = websocket.create_connection(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                                     timeout=10)
    assert ws.recv().startswith("0{")
    ws.send("40")
    return ws


def drop(ws: websocket.WebSocket) -> None:
    """Hang up without a goodbye."""
    ws.shutdown()


def test_garbage_frames_and_hang_ups_mid_reply_leave_the_server_and_others_fine(gevent_server, check_reply):
    # The shared server: what it survives here, the other tests then talk to.
    url = gevent_server
    bystander = Chat(url)
    try:
        for frame in GARBAGE:
            ws = raw_session(url)
            try:
                ws.send(frame)
                ws.send_binary(b"\xff\xfe\x00garbage")
            finally:
                drop(ws)
        for _ in range(20):
            ws = raw_session(url)
            ws.send('42["ask",{"message":"' + QUESTION + '"}]')
            drop(ws)  # gone before the reply is sent
        check_reply(bystander.ask(QUESTION)["reply"])
        assert healthy(url)
        fresh = Chat(url)
        check_reply(fresh.ask(QUESTION)["reply"])
        fresh.close()
    finally:
        bystander.close()


def test_a_restarted_server_gets_its_widgets_back(tmp_path, check_reply):
    port = free_port()
    env = serve_env(tmp_path)
    with live_server(env=env, port=port) as url:
        chat = Chat(url, reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        check_reply(chat.ask(QUESTION)["reply"])
    try:
        with live_server(env=env, port=port):
            # A widget is welcomed again when its connection comes back, and carries on asking.
            assert len(chat.wait_for("welcome", 2, timeout=20)) == 2
            chat.wait_connected()
            check_reply(chat.ask(QUESTION)["reply"])
    finally:
        chat.close()



# ---------- the staff log never stands between a patient and a reply ----------

def timed_ask(chat: Chat, message: str) -> tuple[dict, float]:
    started = time.monotonic()
    answer = chat.ask(message)
    return answer, time.monotonic() - started


def ask_alone(url: str, message: str) -> dict:
    """Ask over HTTP outside any conversation (so nothing is read as a follow-up); return the reply."""
    status, body = post(url + "/api/ask", json.dumps({"message": message}).encode())
    assert status == 200, body
    return json.loads(body)


def kept_questions(data_dir: Path) -> set[str]:
    records = Records(data_dir, retention_days=30)
    try:
        return {r.text for r in records.unanswered()}
    finally:
        records.close()


def test_a_write_lock_held_for_six_seconds_delays_no_reply_and_loses_no_question(tmp_path, check_reply):
    data = tmp_path / "data"
    with live_server(env=serve_env(tmp_path)) as url:
        chat = Chat(url)
        try:
            check_reply(chat.ask("best pizza in town")["reply"])
            wait_written(url)
            lock = sqlite3.connect(data / "faqbot.sqlite3", isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")  # what another process's long write does
            asked, slowest = [], 0.0
            held_until = time.monotonic() + 6.0
            n = 0
            try:
                while time.monotonic() < held_until:
                    # (a question that falls back: a bare number after "day" reads like a temperature to the
                    # recall-first safety net, whose leaning moves with the knowledge base's phrasings)
                    question = f"what is the weather like in london, question {n}"
                    answer, seconds = timed_ask(chat, question)
                    assert answer["reply"]["type"] == "fallback"
                    asked.append(question)
                    status, _ = post(url + "/api/ask", json.dumps({"message": f"football score {n}"}).encode())
                    assert status == 200
                    asked.append(f"football score {n}")
                    urgent, urgent_seconds = timed_ask(chat, "I can't breathe")
                    assert urgent["reply"]["type"] == "urgent"
                    slowest = max(slowest, seconds, urgent_seconds)
                    n += 1
                    time.sleep(0.2)
                during = health(url)
            finally:
                lock.execute("COMMIT")
                lock.close()
            assert slowest < 1.0, f"a reply took {slowest:.2f} s while the log was locked"
            assert during["status"] == "degraded" and any("locked" in r for r in during["reasons"]), during
            after = wait_written(url)
            assert after["records"]["lost"] == 0 and after["status"] == "ok", after
        finally:
            chat.close()
    assert set(asked) <= kept_questions(data), "every question asked during the lock is kept"
    assert len(asked) >= 20


@pytest.mark.parametrize("start", ["run.py", "gunicorn"])
def test_the_bot_starts_and_says_so_when_the_data_directory_cannot_be_written(tmp_path, check_reply, start):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")  # refuses even root
    port = free_port()
    command = None
    if start == "gunicorn":  # the README's production line, whose worker once failed to boot here
        command = shlex.split(readme_production_line().replace("0.0.0.0:5000", f"127.0.0.1:{port}"))
    with live_server(env=serve_env(tmp_path, FAQBOT_DATA_DIR=str(blocker / "data")), port=port,
                     command=command) as url:
        chat = Chat(url)
        try:
            check_reply(chat.ask(QUESTION)["reply"])
            assert chat.ask("best pizza in town")["reply"]["type"] == "fallback"
        finally:
            chat.close()
        body = wait_health(url, lambda h: h["status"] == "degraded")
        assert any("staff log: cannot write" in r and str(blocker) in r for r in body["reasons"]), body
        log = (PROJECT / "tests" / f".server-{port}.log").read_text()
        assert "cannot be opened" in log and "the bot goes on answering" in log, log
        assert "Traceback" not in log, log


@contextmanager
def small_disk(path: Path, size: str = "1m"):
    """Mount a tiny tmpfs at path (root only), unmounted afterwards."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root here and must simulate the full and read-only disk")
        pytest.skip("simulating a full or read-only disk needs root (a tmpfs mount)")
    path.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def fill(path: Path) -> Path:
    """Write zeros until the file system is full; return the file to delete."""
    filler = path / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_a_read_only_or_full_disk_keeps_the_bot_answering_and_health_degraded(tmp_path, check_reply):
    with ExitStack() as stack:
        disk = stack.enter_context(small_disk(tmp_path / "disk"))
        data = disk / "data"
        url = stack.enter_context(live_server(env=serve_env(tmp_path, FAQBOT_DATA_DIR=str(data),
                                                            FAQBOT_LOG_QUEUE="5")))
        chat = Chat(url)
        stack.callback(chat.close)
        check_reply(chat.ask(QUESTION)["reply"])
        assert chat.ask("best pizza in town")["reply"]["type"] == "fallback"
        wait_written(url)

        remount(disk, "ro")
        stack.callback(remount, disk, "rw")
        held = [f"best pizza in town number {n}" for n in range(3)]
        for question in held:
            assert ask_alone(url, question)["type"] == "fallback"
        check_reply(chat.ask(QUESTION)["reply"])
        body = wait_health(url, lambda h: h["status"] == "degraded")
        assert any("cannot write" in r for r in body["reasons"]), body
        remount(disk, "rw")
        body = wait_written(url)
        assert body["records"]["lost"] == 0, "what waited in memory was written once the disk came back"
        assert set(held) <= kept_questions(data)

        filler = fill(disk)
        for n in range(12):
            assert ask_alone(url, f"football scores in spain number {n} " + "tonight " * 40)["type"] == "fallback"
        check_reply(chat.ask(QUESTION)["reply"])
        # The queue can fill before the writer's first attempt on the full disk (it gathers a batch first).
        body = wait_health(url, lambda h: h["records"]["lost"] > 0 and any("cannot write" in r for r in h["reasons"]))
        assert body["status"] == "degraded"
        assert any("lost" in r for r in body["reasons"]), body
        filler.unlink()
        body = wait_written(url)
        assert healthy(url) and body["records"]["lost"] > 0
