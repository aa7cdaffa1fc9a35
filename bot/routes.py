"""HTTP: the JSON API and the pages; the only place HTTP errors become messages."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from bot.limits import BadMessage, check_message, locale_of

blueprint = Blueprint("faqbot", __name__)


def _bot():
    return current_app.extensions["faqbot"]


def client_key() -> str:
    """Identify a client for rate limiting: its address as the server sees it."""
    return request.remote_addr or "unknown"


@blueprint.post("/api/ask")
def ask():
    """Answer one message as JSON."""
    bot = _bot()
    data = request.get_json(silent=True)
    try:
        message, conversation = check_message(data, bot.settings.max_message_chars)
    except BadMessage as exc:
        return jsonify(error=str(exc)), 400
    key = client_key()
    if not bot.limiter.allow(key):
        response = jsonify(error="too many messages: please wait a minute and try again")
        response.headers["Retry-After"] = str(bot.limiter.retry_after(key))
        return response, 429
    return jsonify(bot.answer(message, conversation=conversation, locale=locale_of(data)))


@blueprint.post("/api/feedback")
def feedback():
    """Count a thumbs up or down on an answer: entry id and vote only."""
    bot = _bot()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error='send a JSON object like {"entry_id": "...", "vote": "up"}'), 400
    if not bot.limiter.allow(client_key()):
        return jsonify(error="too many messages: please wait a minute and try again"), 429
    try:
        bot.vote(data.get("entry_id"), data.get("vote"))
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(status="ok")


@blueprint.get("/api/health")
def health():
    """Say the bot is up and which knowledge base it answers from."""
    bot = _bot()
    knowledge = bot.service.engine.knowledge
    reasons = bot.service.reasons()
    body = {"status": "degraded" if reasons else "ok",
            "knowledge": {"entries": len(knowledge.entries), "version": knowledge.version,
                          "loaded_at": knowledge.loaded_at}}
    if reasons:
        body["reasons"] = reasons
    if bot.service.pending:
        body["knowledge"]["pending_errors"] = [str(p) for p in bot.service.pending]
    return jsonify(body)


@blueprint.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Answer HTTP errors on the API as JSON that says what happened."""
    if request.path.startswith("/api/"):
        messages = {413: f"the request body is too large; the limit is "
                         f"{current_app.config.get('MAX_CONTENT_LENGTH') or 0:,} bytes",
                    404: "no such API address", 405: "this address does not take that method"}
        return jsonify(error=messages.get(exc.code, exc.description or exc.name)), exc.code
    return exc
