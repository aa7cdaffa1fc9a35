"""Faults never take the chat down: Redis going away, garbage frames, hang-ups mid-reply, a restarted server."""
from __future__ import annotations

import time
from contextlib import ExitStack

import pytest
import websocket

from live import RedisServer, announce, free_port, live_server, need_redis_server
from test_serving import Chat, healthy, serve_env

QUESTION = "how many patients went into remission"


@pytest.mark.redis
def test_redis_stops_and_comes_back(tmp_path, check_reply):
    need_redis_server()
    queue = RedisServer()
    queue.start()
    with ExitStack() as stack:
        stack.callback(queue.stop)
        url = stack.enter_context(live_server(env=serve_env(tmp_path, FAQBOT_MESSAGE_QUEUE=queue.url)))
        chat = Chat(url)
        stack.callback(chat.close)
        check_reply(chat.ask(QUESTION)["reply"])

        queue.stop()
        # Replies skip the queue, so the server keeps answering its own clients, old and new.
        check_reply(chat.ask(QUESTION)["reply"])
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

