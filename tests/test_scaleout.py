"""Scale-out on Redis: a broadcast and a knowledge reload reach the clients of every process, each exactly once."""
from __future__ import annotations

import json
import shutil
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest

from conftest import KNOWLEDGE
from live import RedisServer, announce, live_server, need_redis_server
from test_serving import Chat

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_server():
    need_redis_server()
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "/api/health", timeout=5) as response:
        return json.load(response)


def server_env(tmp_path: Path, name: str, queue_url: str, knowledge: Path) -> dict:
    return {"FAQBOT_MESSAGE_QUEUE": queue_url, "FAQBOT_KNOWLEDGE": str(knowledge),
            "FAQBOT_DATA_DIR": str(tmp_path / name), "FAQBOT_LIVE_RELOAD": "true", "FAQBOT_RELOAD_SECONDS": "0.2"}


def test_announce_and_reload_reach_every_client_of_both_processes(redis_server, tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    with ExitStack() as stack:
        urls = [stack.enter_context(live_server(env=server_env(tmp_path, name, redis_server.url, knowledge)))
                for name in ("a", "b")]
        chats = [Chat(url) for url in urls for _ in range(2)]
        for chat in chats:
            stack.callback(chat.close)
            assert chat.wait_for("welcome")

        for n in range(1, 4):
            result = announce(redis_server.url, f"The clinic closes early today ({n})")
            assert result.returncode == 0, result.stderr
            assert "2 faqbot process(es)" in result.stdout
            for chat in chats:
                notices = chat.wait_for("notice", n)
                assert [notice["text"] for notice in notices][-1] == f"The clinic closes early today ({n})"
        time.sleep(0.3)
        assert all(len(chat.events["notice"]) == 3 for chat in chats), "each notice arrives exactly once"

        before = {health(url)["knowledge"]["version"] for url in urls}
        assert len(before) == 1
        entries = knowledge / "entries.yaml"
        entries.write_text(entries.read_text(encoding="utf-8") + "\n# reviewed by staff\n", encoding="utf-8")
        for chat in chats:
            assert chat.wait_for("knowledge", 1, timeout=15)
        after = {health(url)["knowledge"]["version"] for url in urls}
        assert len(after) == 1 and after != before
        time.sleep(0.5)
        for chat in chats:
            assert [k["version"] for k in chat.events["knowledge"]] == list(after), "one reload event per client"

