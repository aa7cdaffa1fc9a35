"""Production serving: the documented starts really serve websockets, limits answer clearly, embedding is locked down."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import socketio
import websocket

from conftest import PROJECT, app_for
from live import free_port, live_server

QUESTION = "how many patients went into remission"
CLINIC = "https://clinic.example"


class Chat:
    """A real python-socketio client that records what the server sends it."""

    def __init__(self, url: str, *, transports=("websocket",), headers=None, reconnection=False, **options):
        self.client = socketio.Client(reconnection=reconnection, **options)
        self.events: dict[str, list] = {}
        self.arrived = threading.Condition()
        for name in ("welcome", "reply", "error", "notice", "knowledge"):
            self.client.on(name, self._recorder(name))
        self.disconnected = threading.Event()
        self.client.on("disconnect", lambda *reason: self.disconnected.set())
        self.client.connect(url, transports=list(transports), headers=headers or {}, wait_timeout=10)

    def _recorder(self, name):
        def record(data):
            with self.arrived:
                self.events.setdefault(name, []).append(data)
                self.arrived.notify_all()
        return record

    def wait_for(self, name: str, count: int = 1, timeout: float = 10.0) -> list:
        """Wait until `count` events of this name arrived; return them all."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.events.get(name, [])) >= count, timeout)
            return list(self.events.get(name, []))

    def wait_connected(self, timeout: float = 20.0) -> None:
        """Wait until the client is (again) connected to the chat's namespace."""
        deadline = time.monotonic() + timeout
        while "/" not in self.client.namespaces:
            assert time.monotonic() < deadline, "the client did not reconnect"
            time.sleep(0.05)

    def ask(self, message: str, timeout: float = 10.0) -> dict:
        """Ask and return the reply or error that answers it."""
        before = len(self.events.get("reply", [])) + len(self.events.get("error", []))
        self.client.emit("ask", {"message": message})
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.events.get("reply", [])) + len(self.events.get("error", []))
                                  > before, timeout)
        answers = [("reply", e) for e in self.events.get("reply", [])] + \
                  [("error", e) for e in self.events.get("error", [])]
        assert len(answers) > before, f"no answer to {message!r} within {timeout} s"
        return self.latest()

    def latest(self) -> dict:
        replies, errors = self.events.get("reply", []), self.events.get("error", [])
        return {"reply": replies[-1] if replies else None, "error": errors[-1] if errors else None}

    def close(self) -> None:
        # shutdown() disconnects, or stops a reconnection in progress: a client left reconnecting to a server that
        # has gone keeps drawing jitter from the global `random` in its thread, which Hypothesis (rightly) reports
        # as a strategy touching `random` in whichever property test runs next.
        self.client.shutdown()
        # python-socketio leaves the websocket of a connection the server dropped open; close it here.
        ws = getattr(self.client.eio, "ws", None)
        if ws is not None:
            ws.shutdown()


def serve_env(tmp_path: Path, **extra: str) -> dict:
    return {"FAQBOT_DATA_DIR": str(tmp_path / "data"), "FAQBOT_LIVE_RELOAD": "false", **extra}


def healthy(url: str) -> bool:
    with urllib.request.urlopen(url + "/api/health", timeout=5) as response:
        return response.status == 200


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def readme_production_line() -> str:
    """Return the gunicorn command the README documents for production."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^gunicorn .*$", readme, re.MULTILINE)
    assert match, "the README documents a gunicorn production line"
    return match.group(0)


# ---------- the documented starts ----------

def test_run_py_serves_real_websockets_on_gevent(gevent_server, check_reply):
    chat = Chat(gevent_server)
    try:
        assert chat.client.transport() == "websocket"
        assert chat.wait_for("welcome")
        check_reply(chat.ask(QUESTION)["reply"])
    finally:
        chat.close()


def test_readme_gunicorn_line_serves_real_websockets(tmp_path, check_reply):
    port = free_port()
    line = readme_production_line()
    assert "-w 1" in line and "--worker-connections" in line and "'bot:create_app()'" in line
    argv = shlex.split(line.replace("0.0.0.0:5000", f"127.0.0.1:{port}"))
    assert f"127.0.0.1:{port}" in argv, "the README line binds 0.0.0.0:5000"
    with live_server(env=serve_env(tmp_path), port=port, command=argv) as url:
        chats = [Chat(url) for _ in range(3)]
        try:
            for chat in chats:
                assert chat.client.transport() == "websocket"
                assert chat.wait_for("welcome")
                check_reply(chat.ask(QUESTION)["reply"])
        finally:
            for chat in chats:
                chat.close()


# ---------- limits, over a live server ----------

@pytest.fixture(scope="module")
def limited_server(tmp_path_factory):
    env = serve_env(tmp_path_factory.mktemp("limits"), FAQBOT_RATE_PER_MINUTE="8")
    with live_server(env=env) as url:
        yield url


def test_overlong_socket_message_is_an_error_event_and_the_chat_goes_on(limited_server):
    chat = Chat(limited_server)
    try:
        answer = chat.ask("x" * 1001)
        assert "too long" in answer["error"]["error"]
        assert chat.client.connected
    finally:
        chat.close()


def test_oversized_socket_packet_drops_only_that_connection(limited_server):
    bystander = Chat(limited_server)
    offender = Chat(limited_server)
    try:
        offender.client.emit("ask", {"message": "a" * 40_000})  # over the 16 KB Socket.IO buffer
        assert offender.disconnected.wait(10), "the server closes the connection that sent it"
        assert not offender.events.get("reply"), "a packet over the buffer size is never answered"
        assert healthy(limited_server)
        assert bystander.client.connected
        fresh = Chat(limited_server)
        assert fresh.wait_for("welcome")
        fresh.close()
    finally:
        offender.close()
        bystander.close()


def test_oversized_http_body_is_413(limited_server):
    status, body = post(limited_server + "/api/ask", b'{"message": "' + b"a" * 40_000 + b'"}')
    assert status == 413 and b"too large" in body
    assert healthy(limited_server)


def test_chunked_http_body_over_the_limit_is_413(limited_server):
    import http.client
    from urllib.parse import urlsplit
    body = b'{"message": "' + b"a" * 40_000 + b'"}'
    connection = http.client.HTTPConnection(urlsplit(limited_server).netloc, timeout=10)
    try:
        connection.request("POST", "/api/ask", body=iter([body[i:i + 4096] for i in range(0, len(body), 4096)]),
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 413 and b"too large" in response.read()
    finally:
        connection.close()
    assert healthy(limited_server)


def test_rate_limit_is_shared_by_http_and_socket_and_ignores_a_forged_forwarded_for(limited_server):
    statuses = []
    for n in range(12):
        # A client cannot buy a fresh budget by claiming another address: no proxy is trusted here.
        status, _ = post(limited_server + "/api/ask", b'{"message": "hello"}', {"X-Forwarded-For": f"10.0.0.{n}"})
        statuses.append(status)
    assert 429 in statuses and set(statuses) <= {200, 429}
    chat = Chat(limited_server, headers={"X-Forwarded-For": "10.9.9.9"})
    try:
        assert "too many" in chat.ask("hello")["error"]["error"]
    finally:
        chat.close()
    assert healthy(limited_server)


def test_trusted_proxy_gives_each_forwarded_client_its_own_budget(tmp_path, engine):
    app = app_for(tmp_path, engine, rate_per_minute=2, trust_proxy=True)
    client = app.test_client()
    for address in ("10.0.0.1", "10.0.0.2"):
        codes = [client.post("/api/ask", json={"message": "hi"}, headers={"X-Forwarded-For": address}).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]


# ---------- embedding security ----------

@pytest.fixture(scope="module")
def embedding_app(tmp_path_factory, engine):
    return app_for(tmp_path_factory.mktemp("embed"), engine, allowed_origins=f"{CLINIC},https://other-clinic.example")


def directives(policy: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in policy.split(";") if d.strip()}


@pytest.mark.parametrize("path", ["/", "/embed", "/demo", "/widget.js", "/api/health", "/static/chat.css",
                                  "/api/nothing"])
def test_every_response_says_nosniff_and_no_referrer(embedding_app, path):
    with embedding_app.test_client().get(path) as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path, ancestors", [
    ("/", "'self'"),
    ("/demo", "'self'"),
    ("/embed", f"'self' {CLINIC} https://other-clinic.example"),
])
def test_pages_have_a_policy_without_inline_script_and_only_listed_framers(embedding_app, path, ancestors):
    response = embedding_app.test_client().get(path)
    assert response.mimetype == "text/html"
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == "'self'" and "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == ancestors


def test_default_settings_allow_framing_by_no_other_site(app):
    for path in ("/", "/embed", "/demo"):
        policy = app.test_client().get(path).headers["Content-Security-Policy"]
        assert directives(policy)["frame-ancestors"] == "'self'"
        assert "*" not in policy


@pytest.fixture(scope="module")
def clinic_server(tmp_path_factory):
    with live_server(env=serve_env(tmp_path_factory.mktemp("cors"), FAQBOT_ALLOWED_ORIGINS=CLINIC)) as url:
        yield url


def engineio_open(url: str, transport: str, origin: str) -> str:
    """Open an Engine.IO session with this Origin header; return the server's open packet, or '' when refused."""
    path = "/socket.io/?EIO=4&transport=" + transport
    if transport == "polling":
        request = urllib.request.Request(url + path, headers={"Origin": origin})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.read().decode()
        except urllib.error.HTTPError as exc:
            exc.close()
            return ""
    try:
        ws = websocket.create_connection(url.replace("http://", "ws://") + path, origin=origin, timeout=10)
    except websocket.WebSocketBadStatusException:
        return ""
    try:
        return ws.recv() or ""
    except websocket.WebSocketConnectionClosedException:
        return ""
    finally:
        ws.close()
        ws.shutdown()  # close() skips the socket once the server has dropped the connection


@pytest.mark.parametrize("origin, allowed", [
    (CLINIC, True),
    ("same", True),
    ("https://evil.example", False),
    ("https://clinic.example.evil.example", False),
    ("http://clinic.example", False),
    ("null", False),
])
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_socket_origin_is_checked(clinic_server, origin, allowed, transport):
    origin = clinic_server if origin == "same" else origin
    opened = engineio_open(clinic_server, transport, origin)
    assert opened.startswith("0{") == allowed, opened[:80]
    assert healthy(clinic_server)


def test_listed_clinic_site_opens_a_working_chat(clinic_server, check_reply):
    chat = Chat(clinic_server, transports=["polling"], headers={"Origin": CLINIC})
    try:
        assert chat.wait_for("welcome")
        check_reply(chat.ask(QUESTION)["reply"])
    finally:
        chat.close()


def test_a_served_app_freezes_what_it_built_out_of_the_collectors_view(tmp_path):
    script = textwrap.dedent(f"""
        import gc
        from bot import create_app
        create_app({{"data_dir": {str(tmp_path / "one")!r}, "live_reload": False}})
        frozen = gc.get_freeze_count()
        create_app({{"data_dir": {str(tmp_path / "two")!r}, "live_reload": False}})
        print(frozen, gc.get_freeze_count() - frozen)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert result.returncode == 0, result.stderr
    frozen, later = map(int, result.stdout.split())
    assert frozen > 50_000, "the modules, the app and its engine are out of full collections' walks"
    assert later <= 0, "a second app in the same process (as tests build) is left to the collector"


def test_a_served_app_keeps_its_matrix_products_to_one_thread(tmp_path):
    script = textwrap.dedent(f"""
        import numpy, sklearn
        from threadpoolctl import threadpool_info
        before = {{pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}}
        from bot import create_app
        create_app({{"data_dir": {str(tmp_path)!r}, "live_reload": False}})
        after = {{pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}}
        print(before.get("openblas", 0), max(after.values()))
    """)
    # Two threads asked for, as numpy would take on a two-core machine.
    environ = {**os.environ, "PYTHONPATH": str(PROJECT), "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True,
                            timeout=120, env=environ)
    assert result.returncode == 0, result.stderr
    before, after = map(int, result.stdout.split())
    assert before == 2, "numpy's OpenBLAS started with two threads"
    assert after == 1, "a serving process runs each product on the calling thread"
