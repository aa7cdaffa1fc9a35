"""Socket.IO keeps the contract: a welcome on connect, ask gets a reply, bad input gets an error and never a dropped connection."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import app_for, socket_for

QUESTION = "how many patients went into remission"


def serve_env(tmp_dir: Path, async_mode: str = "gevent") -> dict:
    """The environment of a test server: its own data folder, no live reload."""
    return {"FAQBOT_ASYNC_MODE": async_mode, "FAQBOT_DATA_DIR": str(tmp_dir / "data"), "FAQBOT_LIVE_RELOAD": "false"}


# ---------- Flask-SocketIO's test client ----------

@pytest.fixture(scope="module")
def shared_app(tmp_path_factory, engine):
    """One app for the many bad-input cases (a generous rate limit, since they all come from one client)."""
    return app_for(tmp_path_factory.mktemp("events"), engine, rate_per_minute=10_000)


@pytest.fixture
def quick_socket(shared_app):
    yield from socket_for(shared_app)


def _events(client, name: str) -> list:
    return [event["args"][0] for event in client.get_received() if event["name"] == name]


def test_welcome_on_connect(socket_client):
    welcome = _events(socket_client, "welcome")
    assert len(welcome) == 1
    body = welcome[0]
    assert {"text", "disclaimer", "suggestions", "emergency_number", "offline"} <= set(body)
    assert "not a person" in body["text"] and body["emergency_number"] in body["text"]
    assert body["emergency_number"] in body["offline"]
    assert body["suggestions"] and all(isinstance(s, str) for s in body["suggestions"])


def test_ask_gets_a_cited_reply(socket_client, check_reply):
    socket_client.get_received()
    socket_client.emit("ask", {"message": QUESTION})
    replies = _events(socket_client, "reply")
    assert len(replies) == 1
    check_reply(replies[0])
    assert replies[0]["type"] == "answer"


def test_conversation_id_carries_the_urgent_reminder(socket_client):
    socket_client.get_received()
    socket_client.emit("ask", {"message": "I can't breathe", "conversation": "tab-1"})
    assert _events(socket_client, "reply")[0]["type"] == "urgent"
    socket_client.emit("ask", {"message": "what are living drugs", "conversation": "tab-1"})
    assert _events(socket_client, "reply")[0]["text"].startswith("Reminder")


@pytest.mark.parametrize("payload", [
    {},
    {"message": ""},
    {"message": "   "},
    {"message": None},
    {"message": 42},
    {"message": ["a"]},
    {"message": {"text": "hi"}},
    {"message": "x" * 5000},
    {"message": "hi", "conversation": 7},
    {"message": "hi", "conversation": "c" * 500},
    "a plain string",
    ["message"],
    42,
    None,
])
def test_bad_input_gets_an_error_and_keeps_the_connection(quick_socket, check_reply, payload):
    quick_socket.get_received()
    quick_socket.emit("ask", payload)
    received = quick_socket.get_received()
    assert [e["name"] for e in received] == ["error"], received
    assert isinstance(received[0]["args"][0]["error"], str) and received[0]["args"][0]["error"]
    assert quick_socket.is_connected()
    quick_socket.emit("ask", {"message": QUESTION})
    check_reply(_events(quick_socket, "reply")[0])


def test_ask_without_a_payload_gets_an_error(quick_socket):
    quick_socket.get_received()
    quick_socket.emit("ask")
    assert [e["name"] for e in quick_socket.get_received()] == ["error"]
    assert quick_socket.is_connected()


# ---------- a real python-socketio client against a live server ----------

@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_real_client_over_each_transport(gevent_server, check_reply, transport):
    socketio = pytest.importorskip("socketio")
    client = socketio.Client(reconnection=False)
    got: dict[str, list] = {"welcome": [], "reply": [], "error": []}
    arrived = threading.Event()
    welcomed = threading.Event()

    for name in got:
        def handler(data, name=name):
            got[name].append(data)
            (welcomed if name == "welcome" else arrived).set()
        client.on(name, handler)

    client.connect(gevent_server, transports=[transport], wait_timeout=10)
    try:
        assert client.transport() == transport
        client.emit("ask", {"message": QUESTION, "conversation": f"real-{transport}"})
        assert arrived.wait(15), "no reply"
        check_reply(got["reply"][0])
        assert got["reply"][0]["type"] == "answer"
        arrived.clear()
        client.emit("ask", {"message": 12})
        assert arrived.wait(15)
        assert got["error"] and client.connected
        assert welcomed.wait(5) and "not a person" in got["welcome"][0]["text"]
    finally:
        client.disconnect()
