"""Every setting in one table, read from FAQBOT_* environment variables."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

PREFIX = "FAQBOT_"
# A host name of an origin (letters, digits, hyphens and dots) or an IPv6 address in brackets.
HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\]")
# Where the data packages sit in a source checkout: top-level folders, mapped into the package when installed.
CHECKOUT_FOLDERS = {"bot.web": "web", "bot.shipped_knowledge": "knowledge"}


def package_dir(package: str) -> Path:
    """Return the folder of one of faqbot's data packages (bot.web, bot.shipped_knowledge), installed or editable."""
    try:
        return Path(str(files(package)))
    except ModuleNotFoundError:
        # A checkout run by an interpreter it is not installed in (PYTHONPATH=., another venv's gunicorn).
        return Path(__file__).resolve().parent.parent / CHECKOUT_FOLDERS[package]


class ConfigError(ValueError):
    """A setting has a value faqbot cannot use; the message names the variable and the value."""


def _whole(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None


def _positive_int(raw: str) -> int:
    value = _whole(raw)
    if value <= 0:
        raise ValueError("must be a whole number above 0")
    return value


def _count(raw: str) -> int:
    value = _whole(raw)
    if value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return value


def clean_origin(raw: str | None) -> str:
    """Return scheme://host[:port] when raw is exactly an http(s) origin, else an empty string."""
    raw = (raw or "").strip()
    if len(raw) > 200:
        return ""
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password or "#" in raw or "?" in raw \
            or not HOSTNAME.fullmatch(parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"):
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def _origins(raw: str) -> tuple[str, ...]:
    origins = []
    for entry in (o.strip() for o in raw.split(",")):
        if not entry:
            continue
        origin = "*" if entry == "*" else clean_origin(entry)
        if not origin:
            raise ValueError(f"{entry!r} is not an origin like https://clinic.example (scheme and host, "
                             "an optional port, nothing after)")
        origins.append(origin)
    return tuple(origins)


def _locale(raw: str) -> str:
    return raw.strip()


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _knowledge(raw: str) -> Path:
    # Empty: the knowledge base shipped inside the package (in a checkout, its knowledge/ folder).
    return _path(raw) if raw.strip() else package_dir("bot.shipped_knowledge")


def _directory(raw: str) -> Path:
    # Fixed when the settings are read, so a later change of working directory cannot move the records.
    return _path(raw).absolute()


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if not value > 0:
        raise ValueError("must be a number above 0")
    return value


def _text(raw: str) -> str:
    return raw.strip()


MIN_TOKEN_CHARS = 16


def _token(raw: str) -> str:
    token = raw.strip()
    if token and len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"must be at least {MIN_TOKEN_CHARS} characters; make one with "
                         "python -c \"import secrets; print(secrets.token_urlsafe(24))\"")
    return token


def _flag(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    default: str
    parse: Callable[[str], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("knowledge", "", _knowledge, "the knowledge directory; empty: the knowledge base shipped with faqbot"),
    Setting("data_dir", "data", _directory,
            "where faqbot keeps the unanswered-question log and counts (relative to the working directory)"),
    Setting("database_url", "", _text,
            "e.g. postgresql://faqbot@db.clinic/faqbot: one staff database for every process and machine "
            "(PostgreSQL through psycopg 3); empty: SQLite in the data directory"),
    Setting("log_queue", "10000", _positive_int,
            "records held in memory while the staff database is slow or down; past this they are counted lost"),
    Setting("locale", "en-GB", _locale, "the safety profile of knowledge/locales.yaml: en-GB or en-US"),
    Setting("clinic_name", "", _text, "the clinic's name, shown in urgent messages (overrides the profile)"),
    Setting("team_number", "", _text, "the care team's phone number (overrides the profile)"),
    Setting("allowed_origins", "", _origins,
            "comma-separated sites allowed to embed the chat (CSP frame-ancestors of /embed, Socket.IO CORS); "
            "empty: only faqbot itself"),
    Setting("message_queue", "", _text,
            "e.g. redis://127.0.0.1:6379/0: one bot across processes: Socket.IO state, conversation memory and "
            "rate limits shared through Redis (and run.py announce)"),
    Setting("conversation_hours", "24", _positive_float,
            "how long a conversation's memory (the urgent reminder, answered entries) is kept after its last reply"),
    Setting("trust_proxy", "false", _flag,
            "behind one reverse proxy: take the client address and scheme from its X-Forwarded-For / -Proto"),
    Setting("max_message_chars", "1000", _positive_int, "longest message accepted, in characters"),
    Setting("max_body_bytes", "16384", _positive_int, "largest HTTP body or Socket.IO packet accepted, in bytes"),
    Setting("rate_per_minute", "30", _positive_int, "messages one client may send per minute"),
    Setting("retention_days", "90", _positive_int, "days the unanswered-question log keeps an entry"),
    Setting("keep_raw_messages", "false", _flag,
            "also keep unanswered questions exactly as typed (off: only with personal details removed)"),
    Setting("reload_seconds", "0.25", _positive_float,
            "how often the knowledge directory is checked for edits (a few file stats each time)"),
    Setting("live_reload", "true", _flag, "reload the knowledge base when its files change"),
    Setting("async_mode", "gevent", _text, "the Socket.IO server mode: gevent or threading"),
    Setting("reply_cache", "4096", _count,
            "replies remembered by their message's normalised text (repeated and tapped questions); 0: none"),
    Setting("staff_token", "", _token,
            "turns on the staff console at /staff: the token staff sign in with (and scripts send as "
            "Authorization: Bearer); empty: no console (404)"),
    Setting("staff_rate_per_minute", "60", _positive_int, "requests one address may make to the staff console per minute"),
)


@dataclass(frozen=True)
class Settings:
    """The settings in force for one app."""

    knowledge: Path
    data_dir: Path
    database_url: str
    log_queue: int
    locale: str
    clinic_name: str
    team_number: str
    allowed_origins: tuple[str, ...]
    message_queue: str
    conversation_hours: float
    trust_proxy: bool
    max_message_chars: int
    max_body_bytes: int
    rate_per_minute: int
    retention_days: int
    keep_raw_messages: bool
    reload_seconds: float
    live_reload: bool
    async_mode: str
    reply_cache: int
    staff_token: str = field(repr=False)  # a secret: never in a log line or traceback
    staff_rate_per_minute: int


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings table from the environment; overrides (already typed) win."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            value = overrides[setting.name]
            values[setting.name] = setting.parse(value) if isinstance(value, str) else value
            continue
        key = PREFIX + setting.name.upper()
        raw = environ.get(key, setting.default)
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{key}={raw!r}: {exc}") from None
    return Settings(**values)


def describe_settings() -> str:
    """Return the settings table as Markdown rows (used to keep the README honest)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = s.default or "(empty)"
        rows.append(f"| `{PREFIX}{s.name.upper()}` | `{default}` | {s.help} |")
    return "\n".join(rows)
