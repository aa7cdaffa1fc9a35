"""The staff console at /staff: the knowledge base's status and pending errors, a test pane, the report with
charts, CSV export. Off (404) unless FAQBOT_STAFF_TOKEN is set; read-only; never framed."""
from __future__ import annotations

import hmac
import logging
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from itsdangerous import BadSignature, TimestampSigner
from werkzeug.exceptions import HTTPException

from bot import routes
from bot.config import package_dir
from bot.evaluation import BARS, LABELS, evaluate
from bot.explain import explain
from bot.limits import BadMessage, RateLimiter, check_message
from bot.report import build, report_csv
from bot.security import own_origin

log = logging.getLogger(__name__)
blueprint = Blueprint("console", __name__, url_prefix="/staff",
                      template_folder=str(package_dir("bot.web") / "templates"))

COOKIE = "faqbot_staff"
# A signed-in console lasts a working shift; then the token is asked for again.
SESSION_SECONDS = 8 * 3600
SIGNER_SALT = "faqbot-staff-session"


class Console:
    """What the console holds: the token, its own rate limit, and the regression result of the version in force."""

    def __init__(self, bot):
        self.bot = bot
        self.token = bot.settings.staff_token
        self.limiter = RateLimiter(bot.settings.staff_rate_per_minute)
        # The session cookie is signed with the token itself: a new token signs everyone out, on every process.
        self.signer = TimestampSigner(self.token, salt=SIGNER_SALT) if self.token else None
        self._evaluated: tuple[str, Any] = ("", None)

    def token_matches(self, given: str) -> bool:
        """Compare a token with the staff token in constant time."""
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def signed_in(self) -> bool:
        """Say whether this request carries the staff token (Bearer) or a valid console session cookie."""
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme:
            return scheme.lower() == "bearer" and self.token_matches(credentials.strip())
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return False
        try:
            self.signer.unsign(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return False
        # A session may only act from the console's own pages (SameSite=Strict does the same in browsers).
        origin = request.headers.get("Origin")
        return request.method in ("GET", "HEAD") or origin is None or origin == own_origin(request.environ)

    def session_cookie(self) -> str:
        return self.signer.sign(b"staff").decode("ascii")

    def evaluation(self):
        """Return the regression result of the knowledge version in force, run once per version."""
        engine = self.bot.service.engine
        version, result = self._evaluated
        if version != engine.knowledge.version:
            result = evaluate(engine)
            self._evaluated = (engine.knowledge.version, result)
        return result


def _console() -> Console:
    return current_app.extensions["faqbot_console"]


def _engine():
    return current_app.extensions["faqbot"].service.engine


def why(engine, message: str) -> list[str]:
    """Return, line by line, why a message got its reply: the same lines as `run.py ask --why`."""
    return explain(engine, message).lines()


@blueprint.before_request
def gate():
    """Hide the console unless it is turned on; limit its rate; let only staff reach its API."""
    console = _console()
    if not console.token:
        abort(404)
    key = routes.client_key()
    if not console.limiter.allow(key):
        response = jsonify(error="too many requests to the staff console: please wait a minute")
        response.headers["Retry-After"] = str(console.limiter.retry_after(key))
        return response, 429
    if request.path.startswith("/staff/api/") and not console.signed_in():
        response = jsonify(error="sign in first: send the header Authorization: Bearer <the staff token>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="faqbot staff"'
        return response, 401
    return None


@blueprint.after_request
def private(response: Response) -> Response:
    """Keep console pages and data out of caches and frames."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Vary"] = "Cookie, Authorization"
    return response


@blueprint.errorhandler(Exception)
def failure(exc: Exception):
    """Say in JSON what the console could not do (a staff database that cannot be read, say); the chat is unaffected."""
    if isinstance(exc, HTTPException):
        return exc
    log.exception("the staff console failed on %s", request.path)
    message = f"the console could not do that: {type(exc).__name__}: {exc}"[:300]
    if request.path.startswith("/staff/api/"):
        return jsonify(error=message), 500
    return Response(message, status=500, mimetype="text/plain")


@blueprint.get("")
@blueprint.get("/")
def console_page():
    """Serve the console to signed-in staff, and the sign-in page to everyone else."""
    if not _console().signed_in():
        return render_template("staff-signin.html", error="")
    return render_template("staff.html")


@blueprint.post("/sign-in")
def sign_in():
    """Trade the staff token for a session cookie that only the console's own paths receive."""
    console = _console()
    if not console.token_matches(request.form.get("token", "").strip()):
        return render_template("staff-signin.html", error="That token is not right. Check it and try again."), 401
    response = redirect(url_for(".console_page"), 303)
    response.set_cookie(COOKIE, console.session_cookie(), max_age=SESSION_SECONDS, path="/staff",
                        httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@blueprint.post("/sign-out")
def sign_out():
    """Forget the console session."""
    response = redirect(url_for(".console_page"), 303)
    response.delete_cookie(COOKIE, path="/staff", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@blueprint.get("/api/status")
def status():
    """Say which knowledge version serves, what /api/health says, the pending errors and the regression result."""
    engine = _engine()
    bot = current_app.extensions["faqbot"]
    result = _console().evaluation()
    return jsonify(
        health=routes.health().get_json(),
        knowledge={"version": engine.knowledge.version, "entries": len(engine.knowledge.entries),
                   "regression_questions": len(engine.knowledge.regression), "loaded_at": engine.knowledge.loaded_at},
        pending_errors=[{"where": f"{p.file}:{p.line}", "entry_id": p.entry_id, "message": p.message}
                        for p in bot.service.pending],
        regression={"passes": result.passes,
                    "scores": [{"type": s.type, "label": LABELS[s.type], "right": s.right, "total": s.total,
                                "share": round(s.share, 3), "bar": BARS[s.type], "passes": s.passes}
                               for s in result.scores],
                    "misses": [{"line": m.line, "message": m.message, "expected": m.expected, "got": m.got}
                               for m in result.misses]})


@blueprint.post("/api/ask")
def ask():
    """Answer a staff member's test question with its why; nothing is recorded."""
    try:
        message, _ = check_message(request.get_json(silent=True), current_app.extensions["faqbot"].settings
                                   .max_message_chars)
    except BadMessage as exc:
        return jsonify(error=str(exc)), 400
    engine = _engine()
    reply = engine.responder.reply(message)
    return jsonify(reply=reply.to_dict(), why=why(engine, message))


@blueprint.get("/api/report")
def report():
    """Return the report of unanswered questions, thumbs down, answers per entry and per day."""
    bot = current_app.extensions["faqbot"]
    return jsonify(build(bot.records, bot.service.engine).to_dict())


@blueprint.get("/api/report.csv")
def report_as_csv():
    """Return the report as a CSV file for a spreadsheet."""
    bot = current_app.extensions["faqbot"]
    day = datetime.now(timezone.utc).date().isoformat()
    return Response(report_csv(build(bot.records, bot.service.engine)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="faqbot-report-{day}.csv"'})


def register(app, bot) -> None:
    """Add the console to the app (it answers 404 until FAQBOT_STAFF_TOKEN is set)."""
    app.extensions["faqbot_console"] = Console(bot)
    app.register_blueprint(blueprint)
