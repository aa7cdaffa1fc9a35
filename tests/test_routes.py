"""The HTTP API keeps the contract: replies, health, and a clear JSON error for every kind of bad input."""
from __future__ import annotations

import pytest

from conftest import app_for


def test_ask_answers_with_a_cited_reply(client, check_reply):
    response = client.post("/api/ask", json={"message": "how many patients went into remission"})
    assert response.status_code == 200
    reply = response.get_json()
    check_reply(reply)
    assert reply["type"] == "answer"


def test_ask_urgent(client, check_reply):
    reply = client.post("/api/ask", json={"message": "my son had CAR-T last week and has a temp of 38.6"}).get_json()
    check_reply(reply)
    assert reply["type"] == "urgent" and "999" in reply["text"]


def test_session_carries_the_urgent_reminder(client):
    client.post("/api/ask", json={"message": "I can't breathe", "session": "abc"})
    later = client.post("/api/ask", json={"message": "what are living drugs", "session": "abc"}).get_json()
    assert later["text"].startswith("Reminder")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"json": {}}, "missing"),
    ({"json": {"message": ""}}, "empty"),
    ({"json": {"message": "   \n"}}, "empty"),
    ({"json": {"message": 42}}, "must be text"),
    ({"json": {"message": ["a"]}}, "must be text"),
    ({"json": {"message": None}}, "missing"),
    ({"json": {"message": "x" * 1001}}, "too long"),
    ({"json": {"message": "hi", "session": 5}}, "session"),
    ({"json": ["message"]}, "JSON object"),
    ({"json": "message"}, "JSON object"),
    ({"data": "message=hello", "content_type": "application/x-www-form-urlencoded"}, "JSON object"),
    ({"data": b"\xff\xfe\x00garbage", "content_type": "application/json"}, "JSON object"),
    ({"data": "{not json", "content_type": "application/json"}, "JSON object"),
])
def test_bad_input_is_a_400_with_a_reason(client, kwargs, fragment):
    response = client.post("/api/ask", **kwargs)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_oversized_body_is_413(client):
    response = client.post("/api/ask", data='{"message": "' + "a" * 40_000 + '"}', content_type="application/json")
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]


def test_rate_limit_is_429(tmp_path, engine):
    app = app_for(tmp_path, engine, rate_per_minute=3)
    client = app.test_client()
    codes = [client.post("/api/ask", json={"message": "hello"}).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    response = client.post("/api/ask", json={"message": "hello"})
    assert int(response.headers["Retry-After"]) >= 1
    assert "too many" in response.get_json()["error"]


def test_health(client, kb):
    body = client.get("/api/health").get_json()
    assert body["status"] == "ok"
    assert body["knowledge"]["entries"] == len(kb.entries)
    assert body["knowledge"]["version"] == kb.version
    assert body["knowledge"]["loaded_at"]


def test_wrong_method_and_unknown_api_are_json(client):
    assert client.get("/api/ask").status_code == 405
    assert "error" in client.get("/api/ask").get_json()
    assert client.get("/api/nothing").status_code == 404


@pytest.mark.parametrize("depth", [40, 5_000])
def test_json_nested_too_deeply_is_a_400(client, depth):
    body = '{"message": "hello", "extra": ' + "[" * depth + "]" * depth + "}"
    response = client.post("/api/ask", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.get_json()["error"]
    response = client.post("/api/feedback", data="[" * depth + "]" * depth, content_type="application/json")
    assert response.status_code == 400


def test_chunked_body_over_the_limit_is_413_not_cut(client):
    import io
    body = ('{"message": "' + "a" * 40_000 + '"}').encode()
    # A body without a length, as the WSGI servers hand over a chunked one (test_serving sends a real one).
    chunked = {"wsgi.input_terminated": True}
    response = client.post("/api/ask", input_stream=io.BytesIO(body), environ_overrides=chunked,
                           headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"})
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]
    small = b'{"message": "how many patients went into remission"}'
    response = client.post("/api/ask", input_stream=io.BytesIO(small), environ_overrides=chunked,
                           headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"})
    assert response.status_code == 200 and response.get_json()["type"] == "answer"


@pytest.mark.parametrize("method, path, allowed", [("get", "/api/ask", "POST"), ("put", "/api/feedback", "POST"),
                                                   ("post", "/api/health", "GET"), ("post", "/", "GET")])
def test_405_says_which_methods_are_allowed(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert allowed in {m.strip() for m in response.headers.get("Allow", "").split(",")}
