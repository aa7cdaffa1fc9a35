"""Shared fixtures: the app, its clients, the shipped knowledge base, and the reply-shape check."""
from __future__ import annotations

import importlib
import pkgutil
import shutil
from pathlib import Path

import pytest

import bot
from bot import create_app
from bot.config import load_settings
from bot.engine import build_engine
from bot.text import collapse_space

# Hypothesis draws some values from the constants of this project's loaded modules and rereads them whenever
# sys.modules grows; a bot module first imported in the middle of a property test (lazily, or by a thread) then
# changes what a replayed example draws, and the test fails as FlakyStrategyDefinition. Importing every bot module
# up front keeps that set fixed for the whole run.
for _module in pkgutil.walk_packages(bot.__path__, "bot."):
    if _module.name != "bot.__main__":
        importlib.import_module(_module.name)

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE = PROJECT / "knowledge"
OTHER_KB = PROJECT / "tests" / "data" / "other-kb"
REPLY_KEYS = {"type", "text", "citations", "disclaimer", "confidence", "entry_id", "suggestions"}
REPLY_TYPES = {"answer", "clarify", "fallback", "urgent", "advice", "smalltalk"}


# The settings an engine is built from: an app with its own value of one of these needs its own engine.
ENGINE_SETTINGS = frozenset({"knowledge", "locale", "clinic_name", "team_number", "reply_cache"})


def settings_for(tmp_path: Path, **overrides):
    """Settings for a test: threading mode, data kept in the test's own folder."""
    values = {"data_dir": tmp_path / "data", "async_mode": "threading", "live_reload": False}
    values.update(overrides)
    return values


_open_apps: list = []


def app_for(tmp_path: Path, engine, **overrides):
    """An app of its own (records, limits) for a test, on the session's engine unless an engine setting changes;
    closed when the test ends."""
    shared = None if ENGINE_SETTINGS & overrides.keys() else engine
    app = create_app(settings_for(tmp_path, **{"knowledge": KNOWLEDGE, **overrides}), engine=shared)
    _open_apps.append(app)
    return app


@pytest.fixture(autouse=True)
def _close_apps():
    """Stop the staff-log writer of every app a test (or its function fixtures) built with app_for, so that
    threads do not pile up; apps of wider fixtures, set up before this one, live as long as their fixture."""
    kept = len(_open_apps)
    yield
    while len(_open_apps) > kept:
        _open_apps.pop().extensions["faqbot"].close()


@pytest.fixture(scope="session")
def engine():
    """The engine on the shipped knowledge base, built once; tests that change a knowledge base use a copy."""
    return build_engine(KNOWLEDGE, load_settings({"knowledge": KNOWLEDGE}, environ={}))


@pytest.fixture(scope="session")
def kb(engine):
    return engine.knowledge


@pytest.fixture
def app(tmp_path, engine):
    return app_for(tmp_path, engine)


@pytest.fixture
def client(app):
    return app.test_client()


def socket_for(app):
    """Yield a connected Flask-SocketIO test client of an app, disconnected afterwards (for fixtures)."""
    client = app.extensions["socketio"].test_client(app)
    yield client
    if client.is_connected():
        client.disconnect()


@pytest.fixture
def socket_client(app):
    yield from socket_for(app)


@pytest.fixture(scope="session")
def gevent_server(tmp_path_factory):
    """One `run.py serve` on gevent, as the README starts it, for the tests that only talk to it."""
    from live import live_server
    env = {"FAQBOT_ASYNC_MODE": "gevent", "FAQBOT_DATA_DIR": str(tmp_path_factory.mktemp("gevent") / "data"),
           "FAQBOT_LIVE_RELOAD": "false"}
    with live_server(env=env) as url:
        yield url


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    """A writable copy of the shipped knowledge base, for tests that break it."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


def assert_reply(reply: dict, kb=None) -> None:
    """Assert a reply has the contract's shape, and that every citation is verbatim from its source."""
    assert set(reply) >= REPLY_KEYS, f"missing keys: {REPLY_KEYS - set(reply)}"
    assert reply["type"] in REPLY_TYPES
    assert isinstance(reply["text"], str) and reply["text"].strip()
    assert "<" not in reply["text"] or "</" not in reply["text"], "reply text must be plain text"
    assert isinstance(reply["confidence"], (int, float)) and 0.0 <= reply["confidence"] <= 1.0
    assert reply["entry_id"] is None or isinstance(reply["entry_id"], str)
    assert isinstance(reply["suggestions"], list) and all(isinstance(s, str) for s in reply["suggestions"])
    if reply["type"] == "smalltalk":
        assert reply["disclaimer"] == ""
    else:
        assert reply["disclaimer"].strip(), "every reply but smalltalk carries the disclaimer"
    if reply["type"] in ("fallback", "urgent", "clarify"):
        assert reply["citations"] == []
    if reply["type"] == "answer":
        assert reply["citations"], "an answer cites its source"
    for cite in reply["citations"]:
        assert set(cite) == {"source", "title", "section", "quote", "url"}
        assert cite["url"].startswith("https://")
        if kb is not None:
            section = kb.sources[cite["source"]].section(cite["section"])
            assert section is not None
            assert cite["quote"] in collapse_space(section.text), "quotes are the source's own words"


@pytest.fixture
def check_reply(kb):
    """Return a function asserting the reply shape against the shipped knowledge base."""
    return lambda reply: assert_reply(reply, kb)


def scramble_first_entry(kb_dir: Path) -> dict:
    """Edit a knowledge base so it loads cleanly but its first entry leaves the words its patients use (its
    regression questions then break); return the edited entry."""
    import yaml
    path = kb_dir / "entries.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    first = data["entries"][0]
    first["question"] = "Which zebra crossing colours are painted?"
    first["alternates"] = ["zebra paint", "crossing stripes", "road paint colours", "painted zebra lines"]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    return first
