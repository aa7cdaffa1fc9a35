"""faqbot: a patient-education chat assistant answering from a clinic's YAML knowledge base."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask
from flask_socketio import SocketIO

from bot.config import PROJECT_DIR, Settings, load_settings
from bot.engine import Service
from bot.limits import RateLimiter

log = logging.getLogger(__name__)


class Bot:
    """What the app holds: settings, the live engine, limits; answers one message."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.service = Service(settings)
        self.limiter = RateLimiter(settings.rate_per_minute)

    def answer(self, message: str, *, conversation: str | None = None, channel: str = "http") -> dict[str, Any]:
        """Reply to one message as the contract's reply object."""
        reply = self.service.engine.responder.reply(message, conversation=conversation)
        return reply.to_dict()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings → knowledge → index → routes and socket events."""
    settings = load_settings(config)
    bot = Bot(settings)
    app = Flask(__name__, static_folder=str(PROJECT_DIR / "web"), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["faqbot"] = bot
    from bot import pages, routes
    app.register_blueprint(routes.blueprint)
    app.register_blueprint(pages.blueprint)
    socketio = SocketIO(app, async_mode=settings.async_mode,
                        cors_allowed_origins=list(settings.allowed_origins) or None,
                        max_http_buffer_size=settings.max_body_bytes,
                        message_queue=settings.message_queue or None)
    from bot.events import register_events
    register_events(socketio, bot)
    return app
