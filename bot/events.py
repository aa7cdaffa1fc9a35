"""Socket.IO: welcome, ask and reply, error; the only place socket errors become messages."""
from __future__ import annotations

from flask import request
from flask_socketio import SocketIO, emit

from bot.limits import BadMessage, check_message


def register_events(socketio: SocketIO, bot) -> None:
    """Attach the chat's event handlers to a SocketIO server."""

    @socketio.on("connect")
    def connect(auth=None):
        emit("welcome", bot.service.engine.responder.welcome())

    @socketio.on("ask")
    def ask(data):
        try:
            message, conversation = check_message(data, bot.settings.max_message_chars)
        except BadMessage as exc:
            emit("error", {"error": str(exc)})
            return
        key = request.headers.get("X-Forwarded-For", "").split(",")[0].strip() or request.remote_addr or request.sid
        if not bot.limiter.allow(f"socket:{key}"):
            emit("error", {"error": "too many messages: please wait a minute and try again"})
            return
        reply = bot.answer(message, conversation=conversation or request.sid)
        # The asker gets its reply directly: with a Redis queue, a round trip through Redis buys nothing here.
        emit("reply", reply, to=request.sid, ignore_queue=True)

    @socketio.on("feedback")
    def feedback(data):
        if not isinstance(data, dict):
            emit("error", {"error": 'send {"entry_id": "...", "vote": "up" or "down"}'})
            return
        try:
            bot.vote(data.get("entry_id"), data.get("vote"))
        except ValueError as exc:
            emit("error", {"error": str(exc)})

    @socketio.on_error_default
    def error(exc):
        emit("error", {"error": "the bot could not answer that; please try again"})
