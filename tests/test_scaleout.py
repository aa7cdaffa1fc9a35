"""Scale-out on Redis: broadcasts and reloads reach every process's clients once; conversation memory, the rate
limit and feedback are one bot's across processes."""
from __future__ import annotations

import json
import shutil
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.records import Records
from conftest import KNOWLEDGE
from live import RedisServer, announce, health, live_server, need_redis_server, wait_written
from test_serving import Chat, post

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_server():
    need_redis_server()
    server = RedisServer()
    server.start()
    yield server
    server.stop()


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


@pytest.fixture(scope="module")
def shared_data(tmp_path_factory):
    return tmp_path_factory.mktemp("shared") / "data"


@pytest.fixture(scope="module")
def two_processes(shared_data):
    """Two faqbot processes on one Redis and one staff database, 6 messages a minute per client, behind a
    (pretend) proxy so that each test names its own client addresses."""
    need_redis_server()
    queue = RedisServer()
    queue.start()
    env = {"FAQBOT_MESSAGE_QUEUE": queue.url, "FAQBOT_DATA_DIR": str(shared_data),
           "FAQBOT_LIVE_RELOAD": "false", "FAQBOT_RATE_PER_MINUTE": "6", "FAQBOT_TRUST_PROXY": "true"}
    with ExitStack() as stack:
        stack.callback(queue.stop)
        yield [stack.enter_context(live_server(env=env)) for _ in range(2)]


def ask_http(url: str, body: dict, address: str, path: str = "/api/ask") -> tuple[int, dict]:
    status, raw = post(url + path, json.dumps(body).encode(), {"X-Forwarded-For": address})
    return status, json.loads(raw)


def test_the_urgent_reminder_crosses_processes(two_processes, engine, check_reply):
    first, second = two_processes
    status, urgent = ask_http(first, {"message": "I can't breathe", "session": "chat-7"}, "10.1.0.1")
    assert status == 200 and urgent["type"] == "urgent"
    chat = Chat(second, headers={"X-Forwarded-For": "10.1.0.2"})
    try:
        chat.client.emit("ask", {"message": "how many patients went into remission", "conversation": "chat-7"})
        (reply,) = chat.wait_for("reply")
    finally:
        chat.close()
    check_reply(reply)
    assert reply["text"].startswith(engine.profile.say("reminder")), "the other process knew of the urgent reply"
    status, other = ask_http(second, {"message": "how many patients went into remission", "session": "chat-8"},
                             "10.1.0.3")
    assert not other["text"].startswith(engine.profile.say("reminder")), "only that conversation is reminded"


def test_one_client_has_one_budget_across_processes_and_channels(two_processes):
    first, second = two_processes
    codes = [ask_http((first, second)[n % 2], {"message": "hello"}, "10.2.0.1")[0] for n in range(8)]
    assert codes == [200] * 6 + [429] * 2, "alternating processes buys no extra messages"
    chat = Chat(first, headers={"X-Forwarded-For": "10.2.0.1"})
    try:
        assert "too many" in chat.ask("hello")["error"]["error"], "the socket draws on the same budget"
    finally:
        chat.close()
    assert ask_http(second, {"message": "hello"}, "10.2.0.2")[0] == 200, "another client has its own budget"


def test_feedback_is_limited_and_only_for_an_entry_answered_in_the_conversation(two_processes, shared_data):
    first, second = two_processes
    address = "10.3.0.1"
    status, reply = ask_http(first, {"message": "how many patients went into remission", "session": "c1"}, address)
    assert status == 200 and reply["entry_id"]
    entry = reply["entry_id"]
    # The other process knows what was answered in that conversation, and nothing else counts.
    status, body = ask_http(second, {"entry_id": "the-study", "vote": "down", "session": "c1"}, address,
                            "/api/feedback")
    assert status == 400 and "answered in this conversation" in body["error"]
    chat = Chat(second, headers={"X-Forwarded-For": address})
    try:
        for _ in range(5):
            chat.client.emit("feedback", {"entry_id": entry, "vote": "down", "conversation": "c1"})
        errors = chat.wait_for("error", 1)
        time.sleep(0.3)
        errors = chat.events["error"]
    finally:
        chat.close()
    # 6 a minute: the question, the refused vote and four down-votes; the fifth and the next are refused.
    assert [e["error"] for e in errors] == ["too many messages: please wait a minute and try again"]
    statuses = [ask_http((first, second)[n % 2], {"entry_id": entry, "vote": "down", "session": "c1"}, address,
                         "/api/feedback")[0] for n in range(20)]
    assert statuses == [429] * 20
    for url in two_processes:
        wait_written(url)
    records = Records(shared_data, retention_days=30)
    try:
        assert [(u.entry_id, u.up, u.down) for u in records.usage() if u.entry_id == entry] == [(entry, 0, 4)]
    finally:
        records.close()


def commands(client, *names: str) -> dict[str, int]:
    """Return how many times Redis ran each command since its statistics were last reset."""
    stats = client.info("commandstats")
    return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in names}


def test_two_processes_reply_as_one_and_a_reply_costs_one_round_trip_of_conversation_memory(redis_server, engine):
    """Every dialogue turn, with an urgent message and a "tell me more" added, answered by two processes in
    turn (a client alternating behind a balancer) gets what one process remembering everything gives it; answered
    by one process, each reply reads and writes the conversation in one round trip."""
    import redis

    from bot.conversations import Conversations, RedisConversations
    from bot.replies import Responder

    def responder(store) -> Responder:
        return Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, store, cache_size=0)

    first, second = responder(RedisConversations(redis_server.url)), responder(RedisConversations(redis_server.url))
    alone = responder(Conversations())
    dialogues = [[t.message for t in d.turns] for d in engine.knowledge.dialogues]
    dialogues += [["what are living drugs", "tell me more", "I can't breathe", "who took part in the trial", "why?"]]
    for n, turns in enumerate(dialogues):
        for k, message in enumerate(turns):
            got = (first, second)[k % 2].reply(message, conversation=f"alternating-{n}")
            assert got == alone.reply(message, conversation=f"alternating-{n}"), (n, k, message)
    assert first.conversations.get(f"alternating-{len(dialogues) - 1}").urgent

    client = redis.Redis.from_url(redis_server.url)
    client.config_resetstat()
    asked = 0
    for n, turns in enumerate(dialogues):
        for message in turns:
            assert first.reply(message, conversation=f"one-process-{n}") == \
                alone.reply(message, conversation=f"one-process-{n}")
            asked += 1
    counts = commands(client, "evalsha", "hgetall", "hmget")
    client.close()
    assert counts["evalsha"] == asked and counts["hgetall"] == 0, counts


def test_settling_a_reply_writes_nothing_when_another_process_changed_the_conversation(redis_server):
    from bot.conversations import NO_STATE, RedisConversations
    one, other = RedisConversations(redis_server.url), RedisConversations(redis_server.url)
    assert one.settle("c", one.peek("c"), entry_id="first") is None, "decided on what the conversation holds"
    assert other.peek("c") == NO_STATE and other.get("c").last_entry == "first"
    held = other.settle("c", other.peek("c"), entry_id="second")
    assert held is not None and held.last_entry == "first", "decided on less than it holds: told what it holds"
    assert one.get("c").last_entry == "first" and "second" not in one.get("c").answered, "and nothing written"
    assert other.settle("c", other.peek("c"), entry_id="second") is None, "now it knows: one round trip again"
    assert one.get("c").last_entry == "second"
    one.remember("c", urgent=True)
    held = other.settle("c", other.peek("c"))
    assert held is not None and held.urgent and held.answered == {"first", "second"}
    assert other.settle("c", other.peek("c")) is None and other.peek("c").urgent
    redis_server.stop()
    assert other.settle("d", other.peek("d"), urgent=True) is None, "without Redis the reply stands on its own"
    assert other.peek("d").urgent and other.get("d").urgent, "and this process remembers it"
