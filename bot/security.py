"""Embedding security: who may frame the chat or open its socket, and the headers every response carries."""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from flask import Flask, Response, request

# faqbot's own pages load only their own scripts, styles and connections: no inline code, nothing third-party.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")
# Only the widget's iframe page may be framed by the clinic sites; every other page only by faqbot itself.
EMBEDDABLE_PATHS = ("/embed",)
# The staff console is never framed, not even by faqbot's own pages (no clickjacking of a signed-in nurse).
NEVER_FRAMED = ("/staff",)
# Headers on every response, Flask's and Socket.IO's alike.
EVERY_RESPONSE = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))


def frame_ancestors(path: str, allowed_origins: Iterable[str]) -> str:
    """Return the CSP frame-ancestors directive for a page: 'self', plus the clinic sites for the iframe page, and
    'none' for the staff console."""
    if any(path == prefix or path.startswith(prefix + "/") for prefix in NEVER_FRAMED):
        return "frame-ancestors 'none'"
    sources = ["'self'"]
    if path in EMBEDDABLE_PATHS:
        sources += [origin for origin in allowed_origins if origin not in sources]
    return "frame-ancestors " + " ".join(sources)


def with_frame_ancestors(policy: str, directive: str) -> str:
    """Add a frame-ancestors directive to a policy that has none; a policy that already has one is kept."""
    if "frame-ancestors" in policy:
        return policy
    return policy.rstrip().rstrip(";") + "; " + directive


def origin_checker(allowed_origins: Iterable[str]) -> Callable[[str | None, Mapping], bool] | str:
    """Return Socket.IO's cors_allowed_origins: the bot's own origin and the listed clinic sites, nothing else."""
    allowed = frozenset(origin.lower() for origin in allowed_origins)
    if "*" in allowed:
        return "*"  # only when the operator listed "*" explicitly; the default is same origin only

    def allow(origin: str | None, environ: Mapping) -> bool:
        if not origin:
            return True  # not a browser (scripts, the load benchmark): browsers always send Origin cross-site
        origin = origin.rstrip("/").lower()
        return origin in allowed or origin == own_origin(environ).lower()

    return allow


def own_origin(environ: Mapping) -> str:
    """Return the origin a browser uses for this server, as seen through any trusted proxy fix."""
    return f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"


class SecurityHeaders:
    """WSGI middleware adding the every-response headers, outside Flask, so /socket.io/ answers carry them too."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable):
        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers = list(headers) + [(k, v) for k, v in EVERY_RESPONSE if k.lower() not in present]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)
        return self.wsgi_app(environ, start)


def register(app: Flask, allowed_origins: Iterable[str]) -> None:
    """Put the security headers on every response of the app (call after Socket.IO wrapped it)."""
    allowed = tuple(allowed_origins)
    app.wsgi_app = SecurityHeaders(app.wsgi_app)

    @app.after_request
    def headers(response: Response) -> Response:
        if response.mimetype == "text/html":
            policy = response.headers.get("Content-Security-Policy", PAGE_POLICY)
            response.headers["Content-Security-Policy"] = with_frame_ancestors(
                policy, frame_ancestors(request.path, allowed))
        return response
