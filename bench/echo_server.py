"""A bare Flask-SocketIO echo server: the baseline faqbot's serving is measured against (same async mode, same start)."""
from __future__ import annotations

import argparse

from flask import Flask, jsonify, request
from flask_socketio import SocketIO, emit


def create_app(async_mode: str = "gevent", message_queue: str | None = None) -> Flask:
    """Build an app that answers `ask` with a `reply` holding the message, and POST /api/ask likewise."""
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode=async_mode, message_queue=message_queue)

    @socketio.on("connect")
    def connect(auth=None):
        emit("welcome", {"text": "echo"}, to=request.sid, ignore_queue=True)

    @socketio.on("ask")
    def ask(data):
        message = data.get("message", "") if isinstance(data, dict) else ""
        emit("reply", {"type": "echo", "text": message}, to=request.sid, ignore_queue=True)

    @app.post("/api/ask")
    def http_ask():
        data = request.get_json(silent=True) or {}
        return jsonify(type="echo", text=data.get("message", ""))

    @app.get("/api/health")
    def health():
        return jsonify(status="ok")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5100)
    parser.add_argument("--message-queue", default=None, help="a redis:// URL, as faqbot's FAQBOT_MESSAGE_QUEUE")
    args = parser.parse_args()
    from gevent import monkey  # as run.py does: patch before anything opens sockets
    monkey.patch_all()
    app = create_app(message_queue=args.message_queue)
    app.extensions["socketio"].run(app, host=args.host, port=args.port, log_output=False)


if __name__ == "__main__":
    main()
