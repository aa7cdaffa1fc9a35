"""The chat's pages and the embeddable widget loader."""
from __future__ import annotations

import json
import re

from flask import Blueprint, Response, abort, current_app, render_template, request, send_from_directory

from bot.config import clean_origin, package_dir

WEB_DIR = package_dir("bot.web")
# What /static/ serves from the web folder: scripts and styles only (never templates, package files or notes).
STATIC_SUFFIXES = (".js", ".css")
blueprint = Blueprint("pages", __name__, template_folder=str(WEB_DIR / "templates"))

DEFAULT_TITLE = "Questions?"
DEFAULT_COLOR = "#0b5cad"
MAX_TITLE = 60
MAX_GREETING = 300
# The loader carries the numbers to call, so a chat that cannot load still says whom to call (safety item 8).
SERVER_CONFIG_MARK = "/*@server-config@*/{}"
COLOR = re.compile(r"#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}")


def _bot():
    return current_app.extensions["faqbot"]


def clean_color(raw: str | None) -> str:
    """Return a #rrggbb colour from a query or data value, or the default one."""
    raw = (raw or "").strip()
    if not COLOR.fullmatch(raw):
        return DEFAULT_COLOR
    if len(raw) == 4:
        raw = "#" + "".join(c * 2 for c in raw[1:])
    return raw.lower()


def _clean_text(raw: str | None, limit: int) -> str:
    return " ".join((raw or "").split())[:limit]


def _framed_by_allowed_site(host: str, allowed_origins: tuple[str, ...]) -> bool:
    """Tell whether this /embed request is the widget's iframe on a listed site (or on faqbot's own pages).

    Title and greeting are words the bot shows as its own: a link sent to a patient must not be able to set them,
    so they count only when the browser says it loads an iframe (Sec-Fetch-Dest) for a host that is allowed to
    frame the chat (the same list as CSP frame-ancestors).
    """
    if not host or request.headers.get("Sec-Fetch-Dest") != "iframe":
        return False
    return host in allowed_origins or "*" in allowed_origins or host == clean_origin(request.host_url)


def _chat_context(*, embed: bool) -> dict:
    """Gather what the chat page needs before it can reach the server: the welcome and the numbers to call."""
    bot = _bot()
    args = request.args if embed else {}
    host = clean_origin(args.get("host")) if embed else ""
    words = args if _framed_by_allowed_site(host, bot.settings.allowed_origins) else {}
    responder = bot.service.engine.responder_for(args.get("locale"))
    profile = responder.profile
    welcome = responder.welcome()
    locale = profile.locale
    return {
        "locale": locale,
        "embed": embed,
        "lang": locale if locale.startswith("en") else "en",
        "title": _clean_text(words.get("title"), MAX_TITLE) or DEFAULT_TITLE,
        "greeting": _clean_text(words.get("greeting"), MAX_GREETING),
        "color": clean_color(args.get("color")),
        "host_origin": host,
        "emergency_number": profile.emergency_number,
        "offline": profile.say("offline"),
        "welcome": welcome,
        "suggestions_json": json.dumps(welcome.get("suggestions", [])),
        "contacts_json": json.dumps(welcome.get("contacts", {})),
        "max_chars": bot.settings.max_message_chars,
    }


def static_file(filename: str):
    """Serve one of the chat's scripts or styles from the package's web folder."""
    if not filename.endswith(STATIC_SUFFIXES) or filename.startswith("templates/"):
        abort(404)
    return send_from_directory(WEB_DIR, filename)


@blueprint.get("/")
def chat():
    """Serve the full-page chat."""
    return render_template("chat.html", **_chat_context(embed=False))


@blueprint.get("/embed")
def embed():
    """Serve the chat as it runs inside the widget's iframe."""
    return render_template("chat.html", **_chat_context(embed=True))


@blueprint.get("/widget.js")
def widget():
    """Serve the loader a clinic puts on its site, with the profile's numbers to call built in."""
    engine = _bot().service.engine
    numbers = {name: {"emergency": r.profile.emergency_number, "offline": r.profile.say("offline")}
               for name, r in engine.responders.items()}
    config = json.dumps(dict(numbers[engine.profile.locale], locales=numbers))
    # json.dumps leaves "<" alone; escape it so the text can never close a script element.
    config = config.replace("<", "\\u003c")
    source = (WEB_DIR / "widget.js").read_text(encoding="utf-8").replace(SERVER_CONFIG_MARK, config, 1)
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    # Clinics load this from their own pages: it must be fetchable cross-origin, and it sends no cookies.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@blueprint.get("/demo")
def demo():
    """Serve a sample clinic page with the widget embedded and the snippet to copy."""
    base = request.host_url.rstrip("/")
    snippet = (f'<script src="{base}/widget.js" async\n'
               f'        data-title="Questions?" data-color="#0b5cad" data-position="right"></script>')
    engine = _bot().service.engine
    # Everything topical comes from the knowledge base served: a page about another clinic's leaflet reads right.
    source = next(iter(engine.knowledge.sources.values()))
    question = engine.knowledge.entries[0].question
    return render_template("demo.html", base=base, snippet=snippet, topic=source.title, question=question,
                           clinic=engine.profile.clinic_name or "Sample Clinic",
                           emergency_number=engine.profile.emergency_number)
