"""The staff console is off (404) without a token; its API wants the token (Bearer, constant-time) or the console's
session cookie; the cookie is HttpOnly, SameSite=Strict, Secure over HTTPS and never set by patients' pages; the
console is never framed, is rate limited, and records nothing."""
from __future__ import annotations

import csv
import io

import pytest

from bot import console as console_module
from bot import create_app
from bot.config import ConfigError, load_settings
from conftest import app_for, settings_for

TOKEN = "test-staff-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
API = [("get", "/staff/api/status"), ("get", "/staff/api/report"), ("get", "/staff/api/report.csv"),
       ("post", "/staff/api/ask")]
PATIENT_PAGES = [("get", "/"), ("get", "/embed"), ("get", "/demo"), ("get", "/widget.js"), ("get", "/api/health"),
                 ("post", "/api/ask"), ("post", "/api/feedback"), ("get", "/socket.io/?EIO=4&transport=polling")]


def call(client, method, path, **kwargs):
    if method == "post" and path.endswith("/ask"):
        kwargs.setdefault("json", {"message": "how many patients went into remission"})
    if method == "post" and path.endswith("/feedback"):
        entry = client.post("/api/ask", json={"message": "how many patients went into remission",
                                              "session": "cookie-test"}).get_json()["entry_id"]
        kwargs.setdefault("json", {"entry_id": entry, "vote": "up", "session": "cookie-test"})
    return getattr(client, method)(path, **kwargs)


@pytest.fixture(scope="module")
def staff_app(tmp_path_factory, engine):
    return app_for(tmp_path_factory.mktemp("console"), engine, staff_token=TOKEN, staff_rate_per_minute=100_000,
                   rate_per_minute=100_000)


@pytest.fixture
def staff(staff_app):
    return staff_app.test_client()


def signed_in(app, base_url="http://localhost"):
    client = app.test_client()
    response = client.post("/staff/sign-in", data={"token": TOKEN}, base_url=base_url)
    assert response.status_code == 303
    return client, response


@pytest.mark.parametrize("method, path", API + [("get", "/staff"), ("get", "/staff/"), ("post", "/staff/sign-in")])
def test_the_console_is_off_without_a_token(client, method, path):
    assert call(client, method, path, headers=BEARER).status_code == 404


@pytest.mark.parametrize("method, path", API)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer"},
                                     {"Authorization": f"Bearer {TOKEN}x"}])
def test_the_api_wants_the_token(staff, method, path, headers):
    response = call(staff, method, path, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.get_json()["error"]


@pytest.mark.parametrize("method, path", API)
def test_the_api_answers_with_the_token(staff, method, path):
    response = call(staff, method, path, headers=BEARER)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Frame-Options"] == "DENY"


def test_the_token_is_compared_in_constant_time(staff, monkeypatch):
    seen = []
    real = console_module.hmac.compare_digest
    monkeypatch.setattr(console_module.hmac, "compare_digest", lambda a, b: seen.append((a, b)) or real(a, b))
    assert staff.get("/staff/api/status", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert seen == [(b"nope", TOKEN.encode())]


def test_a_short_token_is_refused():
    with pytest.raises(ConfigError, match="FAQBOT_STAFF_TOKEN.*at least 16"):
        load_settings(environ={"FAQBOT_STAFF_TOKEN": "short"})
    assert TOKEN not in repr(load_settings(environ={"FAQBOT_STAFF_TOKEN": TOKEN})), "the token stays out of logs"


def test_signing_in_sets_a_strict_httponly_cookie_for_the_console_only(staff_app):
    client, response = signed_in(staff_app)
    (cookie,) = response.headers.getlist("Set-Cookie")
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0].startswith(console_module.COOKIE + "=") and TOKEN not in cookie
    assert {"HttpOnly", "SameSite=Strict", "Path=/staff"} <= set(parts)
    assert "Secure" not in parts, "plain HTTP (a laptop): a Secure cookie would never come back"
    assert client.get("/staff/api/status").status_code == 200, "the cookie signs the page's own calls in"
    page = client.get("/staff")
    assert b"staff.js" in page.data and b"Sign in" not in page.data
    client.post("/staff/sign-out")
    assert client.get("/staff/api/status").status_code == 401


def test_behind_https_the_cookie_is_secure(staff_app):
    _, response = signed_in(staff_app, base_url="https://localhost")
    assert "Secure" in [p.strip() for p in response.headers["Set-Cookie"].split(";")]


def test_a_wrong_token_signs_nobody_in(staff):
    response = staff.post("/staff/sign-in", data={"token": "wrong-token-0123456789"})
    assert response.status_code == 401 and "Set-Cookie" not in response.headers
    assert b"not right" in response.data and b'role="alert"' in response.data


def test_a_forged_or_foreign_session_is_refused(staff_app):
    client, _ = signed_in(staff_app)
    good = client.get_cookie(console_module.COOKIE, path="/staff").value
    forged = staff_app.test_client()
    forged.set_cookie(console_module.COOKIE, good[:-2] + ("AA" if not good.endswith("AA") else "BB"), path="/staff")
    assert forged.get("/staff/api/status").status_code == 401
    assert b"Sign in" in forged.get("/staff").data
    # A page on another site cannot use the session to post (SameSite=Strict aside, the Origin is checked).
    body = {"message": "how many patients went into remission"}
    assert client.post("/staff/api/ask", json=body, headers={"Origin": "https://evil.example"}).status_code == 401
    assert client.post("/staff/api/ask", json=body, headers={"Origin": "http://localhost"}).status_code == 200


@pytest.mark.parametrize("method, path", PATIENT_PAGES)
def test_patient_pages_never_set_a_cookie(staff_app, method, path):
    client, _ = signed_in(staff_app)
    client.set_cookie("faqbot_staff", "x", path="/")  # even a browser that sends one everywhere gets none back
    response = call(client, method, path)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("path", ["/staff", "/staff/sign-in"])
def test_the_console_is_never_framed(staff, path):
    response = staff.get(path) if path == "/staff" else staff.post(path, data={"token": "wrong-token-0123456789"})
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "'self'" not in response.headers["Content-Security-Policy"].split("frame-ancestors")[1]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"], "no inline script"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_console_is_rate_limited(tmp_path, engine):
    app = app_for(tmp_path, engine, staff_token=TOKEN, staff_rate_per_minute=3)
    client = app.test_client()
    codes = [client.post("/staff/sign-in", data={"token": "guess-number-%012d" % i}).status_code for i in range(3)]
    assert codes == [401, 401, 401]
    response = client.get("/staff/api/status", headers=BEARER)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert client.post("/api/ask", json={"message": "hello"}).status_code == 200, "patients have their own budget"


def test_the_test_pane_explains_and_records_nothing(staff_app, staff):
    bot = staff_app.extensions["faqbot"]
    records = bot.records
    assert bot.recorder.flush()
    before = (records.unanswered(), records.usage(), records.daily())
    body = staff.post("/staff/api/ask", json={"message": "what time is it"}, headers=BEARER).get_json()
    assert body["reply"]["type"] == "fallback"
    assert any("against the fallback threshold" in line for line in body["why"])
    answer = staff.post("/staff/api/ask", json={"message": "how many patients went into remission"},
                        headers=BEARER).get_json()
    assert answer["reply"]["entry_id"] and answer["why"][0] == f"reply: answer (entry {answer['reply']['entry_id']})"
    assert any(line.startswith("runner-up: ") for line in answer["why"])
    assert bot.recorder.flush()
    assert (records.unanswered(), records.usage(), records.daily()) == before
    for bad in ({}, {"message": ""}, {"message": "x" * 1001}, ["x"]):
        assert staff.post("/staff/api/ask", json=bad, headers=BEARER).status_code == 400


def test_the_report_api_and_csv_show_what_patients_asked(staff_app, staff):
    client = staff_app.test_client()
    client.post("/api/ask", json={"message": "what is the weather in leeds tomorrow"})
    reply = client.post("/api/ask", json={"message": "how many patients went into remission",
                                          "session": "report-test"}).get_json()
    client.post("/api/feedback", json={"entry_id": reply["entry_id"], "vote": "down", "session": "report-test",
                                       "message": "how many patients went into remission"})
    assert staff_app.extensions["faqbot"].recorder.flush()
    report = staff.get("/staff/api/report", headers=BEARER).get_json()
    (weather,) = [g for g in report["groups"] if "what is the weather in leeds tomorrow" in g["questions"]]
    assert weather["suggestion"] == "new entry" and weather["version"] == report["version"]
    assert report["thumbs_down"][0]["question"] == "how many patients went into remission"
    assert any(d["type"] == "fallback" and d["count"] >= 1 for d in report["daily"])
    assert any(u["entry_id"] == reply["entry_id"] and u["down"] >= 1 for u in report["usage"])
    response = staff.get("/staff/api/report.csv", headers=BEARER)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="faqbot-report-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {"unanswered", "thumbs-down", "usage"} <= {r["kind"] for r in rows}


def test_the_status_names_pending_errors_by_file_and_line(tmp_path, kb_copy):
    app = create_app(settings_for(tmp_path, knowledge=kb_copy, staff_token=TOKEN))
    client = app.test_client()
    status = client.get("/staff/api/status", headers=BEARER).get_json()
    assert status["pending_errors"] == [] and status["regression"]["passes"] is True
    assert status["knowledge"]["entries"] == len(app.extensions["faqbot"].service.engine.knowledge.entries)
    assert {s["type"] for s in status["regression"]["scores"]} >= {"answer", "fallback", "urgent"}
    entries = kb_copy / "entries.yaml"
    lines = entries.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("- id:")) + 1
    lines[number - 1] = lines[number - 1].replace("- id:", "- id: Not An Id #")
    entries.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert app.extensions["faqbot"].service.reload()
    status = client.get("/staff/api/status", headers=BEARER).get_json()
    assert status["pending_errors"], "the held-back edit is listed"
    assert all(p["where"].startswith(f"{kb_copy.name}/") for p in status["pending_errors"])
    assert any(p["where"] == f"{kb_copy.name}/entries.yaml:{number}" for p in status["pending_errors"])
    assert status["health"]["knowledge"]["pending_errors"], "the same as /api/health says"


def test_behind_a_trusted_https_proxy_the_cookie_is_secure(tmp_path, engine):
    app = app_for(tmp_path, engine, staff_token=TOKEN, trust_proxy=True)
    response = app.test_client().post("/staff/sign-in", data={"token": TOKEN},
                                      headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Secure" in [p.strip() for p in response.headers["Set-Cookie"].split(";")]


def test_a_staff_database_that_fails_is_a_json_error_and_the_chat_answers_on(staff_app, staff, monkeypatch):
    import sqlite3

    def broken():
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(staff_app.extensions["faqbot"].records, "unanswered", broken)
    response = staff.get("/staff/api/report", headers=BEARER)
    assert response.status_code == 500 and "disk I/O error" in response.get_json()["error"]
    assert staff.post("/api/ask", json={"message": "how many patients went into remission"}).status_code == 200
