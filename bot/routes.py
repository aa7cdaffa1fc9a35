"""HTTP: the JSON API and the pages; the only place HTTP errors become messages."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from bot.limits import BadMessage, check_message, conversation_of, locale_of

blueprint = Blueprint("faqbot", __name__)
# A message object is one level deep; anything nested past this is refused before it is looked at.
MAX_JSON_DEPTH = 16


def _bot():
    return current_app.extensions["faqbot"]


def client_key() -> str:
    """Identify a client for rate limiting: its address as the server sees it."""
    return request.remote_addr or "unknown"


def json_depth(value: Any) -> int:
    """Return how deeply lists and objects nest in a parsed JSON value (a plain value is depth 0)."""
    depth, level = 0, [(value, 1)]
    while level:
        item, at = level.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            depth = max(depth, at)
            level.extend((child, at + 1) for child in children)
    return depth


def json_body() -> Any:
    """Return the request's JSON body, or None when it is not JSON; raise BadMessage when it nests too deeply.

    The body limit holds for chunked bodies too: they carry no length, so one that reaches the limit is refused
    rather than read up to the limit and silently cut.
    """
    raw = request.get_data(cache=True)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()
    if not request.is_json:
        return None
    too_deep = BadMessage(f"the JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    except ValueError:  # not UTF-8 or not JSON
        return None
    # Counting brackets is cheap; only a body with enough of them can be too deep.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and json_depth(data) > MAX_JSON_DEPTH:
        raise too_deep
    return data


@blueprint.post("/api/ask")
def ask():
    """Answer one message as JSON."""
    bot = _bot()
    try:
        data = json_body()
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
    """Count a thumbs up or down on an answer: entry id, vote and the question voted on (kept scrubbed)."""
    bot = _bot()
    try:
        data = json_body()
    except BadMessage as exc:
        return jsonify(error=str(exc)), 400
    if not isinstance(data, dict):
        return jsonify(error='send a JSON object like {"entry_id": "...", "vote": "up"}'), 400
    # A vote draws on the same budget as a message, and counts only for an entry answered in its conversation.
    key = client_key()
    if not bot.limiter.allow(key):
        response = jsonify(error="too many messages: please wait a minute and try again")
        response.headers["Retry-After"] = str(bot.limiter.retry_after(key))
        return response, 429
    try:
        bot.vote(data.get("entry_id"), data.get("vote"), conversation=conversation_of(data),
                 question=data.get("message"))
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(status="ok")


@blueprint.get("/api/health")
def health():
    """Say the bot is up, which knowledge base it answers from, and what needs staff ("degraded", still 200)."""
    bot = _bot()
    knowledge = bot.service.engine.knowledge
    reasons = bot.problems()
    body = {"status": "degraded" if reasons else "ok",
            "knowledge": {"entries": len(knowledge.entries), "version": knowledge.version,
                          "loaded_at": knowledge.loaded_at}}
    if reasons:
        body["reasons"] = reasons
    if bot.service.pending:
        body["knowledge"]["pending_errors"] = [str(p) for p in bot.service.pending]
    body["records"] = bot.recorder.counts()
    return jsonify(body)


@blueprint.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Answer HTTP errors on the API as JSON that says what happened."""
    if request.path.startswith("/api/"):
        messages = {413: f"the request body is too large; the limit is "
                         f"{current_app.config.get('MAX_CONTENT_LENGTH') or 0:,} bytes",
                    404: "no such API address", 405: "this address does not take that method"}
        response = jsonify(error=messages.get(exc.code, exc.description or exc.name))
        response.status_code = exc.code or 500
        # The exception's own headers (Allow on a 405) belong on the JSON answer too.
        response.headers.extend((k, v) for k, v in exc.get_headers() if k.lower() != "content-type")
        return response
    return exc
