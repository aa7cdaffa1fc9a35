"""Socket.IO: welcome, ask and reply, error; the only place socket errors become messages."""
from __future__ import annotations

import logging

from flask import request
from flask_socketio import SocketIO, emit

from bot.limits import BadMessage, check_message, conversation_of, locale_of
from bot.routes import client_key

log = logging.getLogger(__name__)


def _send(event: str, data: dict) -> None:
    """Emit to the asking client only, straight from this process: the Redis queue would only add a round trip."""
    emit(event, data, to=request.sid, ignore_queue=True)


def register_events(socketio: SocketIO, bot) -> None:
    """Attach the chat's event handlers to a SocketIO server."""

    @socketio.on("connect")
    def connect(auth=None):
        _send("welcome", bot.service.engine.responder_for(locale_of(auth)).welcome())

    @socketio.on("ask")
    def ask(data):
        try:
            message, conversation = check_message(data, bot.settings.max_message_chars)
        except BadMessage as exc:
            _send("error", {"error": str(exc)})
            return
        # One budget per client address over HTTP and Socket.IO alike; X-Forwarded-For counts only behind a
        # trusted proxy (FAQBOT_TRUST_PROXY), where ProxyFix has already put it in remote_addr.
        if not bot.limiter.allow(client_key()):
            _send("error", {"error": "too many messages: please wait a minute and try again"})
            return
        _send("reply", bot.answer(message, conversation=conversation or request.sid, locale=locale_of(data)))

    @socketio.on("feedback")
    def feedback(data):
        if not isinstance(data, dict):
            _send("error", {"error": 'send {"entry_id": "...", "vote": "up" or "down"}'})
            return
        # The same budget as a message; the vote counts only for an entry answered in this conversation.
        if not bot.limiter.allow(client_key()):
            _send("error", {"error": "too many messages: please wait a minute and try again"})
            return
        try:
            bot.vote(data.get("entry_id"), data.get("vote"), conversation=conversation_of(data) or request.sid,
                     question=data.get("message"))
        except ValueError as exc:
            _send("error", {"error": str(exc)})

    @socketio.on_error_default
    def error(exc):
        log.error("a socket handler failed", exc_info=exc)
        _send("error", {"error": "the bot could not answer that; please try again"})
