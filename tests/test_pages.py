"""The chat pages and the widget loader are served with the right types, carry the numbers to call, and hold no inline code."""
from __future__ import annotations

import re

import pytest

from bot.pages import clean_color, clean_origin
from bot.security import PAGE_POLICY

PAGES = ["/", "/embed", "/demo", "/embed?host=https://clinic.example&color=%23ffcc00&title=Hi"]
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def _static(client, path: str):
    """Fetch a static file and close it (file responses hold the file open until closed)."""
    response = client.get(path)
    body, mimetype, status = response.get_data(as_text=True), response.mimetype, response.status_code
    response.close()
    return status, mimetype, body


def _script_tags(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.IGNORECASE | re.DOTALL)


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_html_without_inline_code(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    scripts = _script_tags(html)
    assert scripts, "the page loads its scripts"
    for attributes, body in scripts:
        assert "src=" in attributes and not body.strip(), "no inline script bodies (CSP script-src 'self')"
    assert not INLINE_HANDLER.search(html), "no inline event handlers"
    assert not INLINE_STYLE.search(html), "no style attributes"
    assert "<style" not in html.lower()
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_chat_page_carries_the_emergency_number_and_offline_notice(app, client, path):
    profile = app.extensions["faqbot"].service.engine.profile
    html = client.get(path).get_data(as_text=True)
    assert f'data-emergency="{profile.emergency_number}"' in html
    assert "data-offline=" in html and "lost its connection" in html
    assert 'role="log"' in html and 'aria-live="polite"' in html
    assert 'role="alert"' in html
    assert "not a person" in html, "the welcome says it is automated, before any server round trip"
    assert 'id="faqbot-clear"' in html


def test_pages_send_a_strict_policy(client):
    response = client.get("/")
    assert response.headers["Content-Security-Policy"] == PAGE_POLICY + "; frame-ancestors 'self'"
    assert "script-src 'self'" in PAGE_POLICY and "unsafe-inline" not in PAGE_POLICY


def test_embed_takes_only_a_clean_origin_and_colour(client):
    framed = {"Sec-Fetch-Dest": "iframe"}
    html = client.get('/embed?host=javascript:alert(1)&color=red;x&title=<b>x</b>', headers=framed).get_data(as_text=True)
    assert 'data-host=""' in html
    assert 'data-color="#0b5cad"' in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" not in html, "no title without an allowed host"
    # faqbot's own pages may frame the chat (the demo): the title is then shown, as text.
    html = client.get('/embed?host=http://localhost&title=<b>x</b>', headers=framed).get_data(as_text=True)
    assert 'data-host="http://localhost"' in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.parametrize("raw, expected", [
    ("https://clinic.example", "https://clinic.example"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("https://clinic.example/", "https://clinic.example"),
    ("https://clinic.example/path", ""),
    ("javascript:alert(1)", ""),
    ("https://user:pw@clinic.example", ""),
    ("https://clinic.example:99999", ""),
    ("", ""),
    (None, ""),
])
def test_clean_origin(raw, expected):
    assert clean_origin(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("#ABCDEF", "#abcdef"), ("#fc0", "#ffcc00"), ("red", "#0b5cad"), ("#12345", "#0b5cad"), (None, "#0b5cad"),
])
def test_clean_color(raw, expected):
    assert clean_color(raw) == expected


def test_widget_js_is_javascript_with_the_numbers(app, client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    source = response.get_data(as_text=True)
    profile = app.extensions["faqbot"].service.engine.profile
    assert "/*@server-config@*/" not in source, "the server fills in its numbers"
    assert f'"emergency": "{profile.emergency_number}"' in source
    assert "window.faqbot = " in source and source.count("window.faqbot =") == 1, "one global"
    assert "attachShadow" in source
    assert 'sandbox", "allow-scripts allow-same-origin allow-forms allow-popups' in source
    assert "event.origin !== botOrigin" in source
    assert "document.cookie" not in source and "localStorage" not in source
    assert "innerHTML" not in source


def test_chat_js_never_inserts_html(client):
    _, _, source = _static(client, "/static/chat.js")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "localStorage",
                 "document.cookie"):
        assert sink not in source, sink
    assert "sessionStorage" in source


def test_static_assets_are_served(client):
    assert _static(client, "/static/chat.css")[1] == "text/css"
    status, _, vendor = _static(client, "/static/vendor/socket.io.min.js")
    assert status == 200
    assert vendor.startswith("/*!\n * Socket.IO v4."), "licence header kept"


def test_chat_css_classes_are_prefixed(client):
    _, _, css = _static(client, "/static/chat.css")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    classes = set(re.findall(r"\.([a-zA-Z][\w-]*)", re.sub(r"\d+\.\d+", "", css)))
    assert classes and all(c.startswith("faqbot-") for c in classes), sorted(c for c in classes if not c.startswith("faqbot-"))


def test_demo_shows_the_snippet_it_uses(client):
    html = client.get("/demo").get_data(as_text=True)
    assert "&lt;script src=&#34;http://localhost/widget.js&#34; async" in html
    assert '<script src="http://localhost/widget.js" async' in html


@pytest.mark.parametrize("path", ["/static/templates/chat.html", "/static/templates/demo.html",
                                  "/static/__init__.py", "/static/vendor/README.md", "/static/../bot/config.py"])
def test_static_serves_only_scripts_and_styles(client, path):
    status, _, body = _static(client, path)
    assert status == 404
    assert "{{" not in body and "{%" not in body


def test_socket_io_responses_carry_the_security_headers(client):
    with client.get("/socket.io/?EIO=4&transport=polling") as response:
        assert response.status_code == 200 and response.get_data(as_text=True).startswith("0{")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    with client.get("/socket.io/?EIO=4&transport=polling&sid=nope") as refused:
        assert refused.status_code == 400 and refused.headers["X-Content-Type-Options"] == "nosniff"


SCAM = {"title": "Hospital Pharmacy", "greeting": "Your results are ready: call 0900 123 456 now"}


@pytest.mark.parametrize("host, dest, shown", [
    (None, None, False),                                        # a link sent to a patient: the page is the top
    ("https://evil.example", "iframe", False),                  # framed by a site that is not listed
    ("https://clinic.example", "document", False),              # a listed host named in a top-level link
    ("https://clinic.example", "iframe", True),                 # the widget's iframe on the listed site
])
def test_embed_takes_title_and_greeting_only_from_an_allowed_framing_page(tmp_path, engine, host, dest, shown):
    from conftest import app_for
    app = app_for(tmp_path, engine, allowed_origins="https://clinic.example")
    query = dict(SCAM, **({"host": host} if host else {}))
    headers = {"Sec-Fetch-Dest": dest} if dest else {}
    html = app.test_client().get("/embed", query_string=query, headers=headers).get_data(as_text=True)
    assert ("Hospital Pharmacy" in html) == shown
    assert ("0900 123 456" in html) == shown
