"""faqbot: a patient-education chat assistant answering from a clinic's YAML knowledge base.

Importing `bot` (or a light module such as `bot.text`) loads nothing else: Flask, Socket.IO and the answering
engine are imported by create_app, when an app is actually built.
"""
from __future__ import annotations

import atexit
import gc
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from flask import Flask

    from bot.config import Settings
    from bot.engine import Engine


class Bot:
    """What the app holds: settings, the live engine, limits; answers one message."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        from bot.engine import Service
        from bot.limits import RateLimiter
        from bot.records import Recorder, Records
        from bot.report import low_confidence
        self.settings = settings
        self.low_confidence = low_confidence
        self.service = Service(settings, engine)
        # With a shared queue the processes are one bot: one budget per client, drawn on by every process.
        shared = settings.message_queue if settings.message_queue.startswith(("redis://", "rediss://")) else ""
        self.limiter = RateLimiter(settings.rate_per_minute, storage_url=shared)
        self.records = Records(settings.data_dir, url=settings.database_url, retention_days=settings.retention_days,
                               keep_raw=settings.keep_raw_messages)
        self.recorder = Recorder(self.records, capacity=settings.log_queue)
        self.recorder.start()
        # A stopping process writes what it still holds (briefly: a dead database must not hold up a restart).
        atexit.register(self.recorder.close, 2.0)

    def answer(self, message: str, *, conversation: str | None = None, locale: str | None = None) -> dict[str, Any]:
        """Reply to one message as the contract's reply object, and queue what staff need from it."""
        engine = self.service.engine
        reply = engine.responder_for(locale).reply(message, conversation=conversation)
        self.recorder.record(message, reply.type, reply.entry_id, knowledge_version=engine.knowledge.version,
                             low_confidence=self.low_confidence(engine, reply.type, reply.confidence))
        return reply.to_dict()

    def vote(self, entry_id: Any, vote: Any, *, conversation: str | None = None, question: Any = None) -> None:
        """Count a thumbs up or down on an entry answered in this conversation, with the question it answered;
        raise ValueError for anything else."""
        if not isinstance(entry_id, str) or entry_id not in self.service.conversations.get(conversation).answered:
            raise ValueError("entry_id must be the id of an entry answered in this conversation")
        if vote not in ("up", "down"):
            raise ValueError('vote must be "up" or "down"')
        if question is not None and (not isinstance(question, str) or len(question) > self.settings.max_message_chars):
            raise ValueError(f'"message" (the question voted on) must be text of at most '
                             f'{self.settings.max_message_chars:,} characters')
        knowledge = self.service.engine.knowledge
        entry = knowledge.entry(entry_id)
        self.recorder.vote(entry_id, vote, question=question, knowledge_version=knowledge.version,
                           answer=entry.answer if entry else None)

    def close(self, timeout: float = 2.0) -> None:
        """Stop what the bot runs beside the answers: write what the staff log holds (for at most `timeout`
        seconds), stop its writer thread, and let the process forget this bot (for an embedding app or a test
        that builds many; a serving process just exits)."""
        atexit.unregister(self.recorder.close)
        self.recorder.close(timeout)

    def problems(self) -> list[str]:
        """Say what needs staff while the bot answers (for /api/health): empty when all is well."""
        # The knowledge edit held back or not loaded, and each of its problems (or broken questions) as file:line.
        found = self.service.reasons()
        for problem in (self.service.conversations.problem(), self.limiter.problem()):
            if problem:
                found.append(problem)
        return found + self.recorder.problems()


_heap_settled = False


def settle_heap() -> None:
    """Take what exists now (imported modules, the app, the knowledge engine) out of the collector's view, once
    per process.

    A serving process builds one app and keeps it. Left in view, its ~180,000 long-lived objects are walked by
    every full collection, which under load came every few seconds and took 118-688 ms each, holding every chat
    (bench/LOAD.md, the shared path, third round). Frozen objects are still freed when nothing refers to them
    (a replaced engine holds no reference cycles); only a cycle among them would stay. Later apps of the same
    process (tests build many) are left alone, so no test's garbage is kept.
    """
    global _heap_settled
    if _heap_settled:
        return
    _heap_settled = True
    gc.collect()
    gc.freeze()


def one_numeric_thread() -> None:
    """Keep the numerical libraries (OpenBLAS under numpy and scipy, OpenMP under scikit-learn) to the calling
    thread.

    A reply's matrix products are small (a query against each phrasing's vector): split over more threads, the
    helpers spin while they wait, costing several times the product's own CPU and taking the core another worker
    needs (bench/LOAD.md, the shared path, fourth round). A serving process answers many chats at once and scales
    by processes, one per core. Replies are unchanged (measured there).
    """
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=1)


def create_app(config: Mapping[str, Any] | None = None, *, engine: Engine | None = None) -> Flask:
    """Build the app: settings → knowledge → index → routes and socket events.

    engine: one already built from the same knowledge directory and settings (tests share one); by default the
    app builds its own.
    """
    from flask import Flask
    from flask_socketio import SocketIO
    from werkzeug.middleware.proxy_fix import ProxyFix

    from bot import console, pages, routes, security
    from bot.config import load_settings
    from bot.events import register_events

    settings = load_settings(config)
    one_numeric_thread()
    bot = Bot(settings, engine)
    # Static files come from the package's web folder through pages.static_file, which serves assets only.
    app = Flask(__name__, static_folder=None)
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=pages.static_file)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["faqbot"] = bot
    app.register_blueprint(routes.blueprint)
    app.register_blueprint(pages.blueprint)
    console.register(app, bot)
    # The chat's own pages open the socket from the bot's origin; widgets' hosts only when listed.
    socketio = SocketIO(app, async_mode=settings.async_mode,
                        cors_allowed_origins=security.origin_checker(settings.allowed_origins),
                        max_http_buffer_size=settings.max_body_bytes,
                        message_queue=settings.message_queue or None)
    security.register(app, settings.allowed_origins)  # around Socket.IO's middleware: its answers too
    if settings.trust_proxy:
        # Outermost, so Socket.IO's handshake (origin check, client address) sees the proxy's view too.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    register_events(socketio, bot)
    if settings.live_reload:
        from bot.reloader import Reloader
        offload = None
        if settings.async_mode == "gevent":
            import gevent
            offload = gevent.get_hub().threadpool.apply
        reloader = Reloader(bot.service, socketio, interval=settings.reload_seconds, offload=offload)
        app.extensions["faqbot_reloader"] = reloader
        reloader.start()
    settle_heap()
    return app
