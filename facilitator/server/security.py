"""Security headers on every response, and an access log that never shows secrets."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .keys import TEMPLATES

log = logging.getLogger("facilitator.server")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
    "Cross-Origin-Opener-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the security headers, also to error responses."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        for name, value in HEADERS.items():
            exc.headers.setdefault(name, value)
        raise
    except Exception:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            raise
        # A bug must cost one request a friendly page, never a bare 500 without the headers.
        log.exception("unexpected error in %s %s", request.method, request.path)
        response = server_error(request)
    if not response.prepared:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def server_error(request: web.Request) -> web.Response:
    """500: the error page (or JSON for the API), for an unexpected exception."""
    message = "Something went wrong on the server. Please try again in a moment."
    if request.path.startswith("/api/"):
        return web.json_response({"error": "server-error", "message": message}, status=500)
    html = (
        request.app[TEMPLATES]
        .get_template("error.html")
        .render(heading="Something went wrong", message=message, status_code=500)
    )
    return web.Response(text=html, status=500, content_type="text/html")


class AccessLogger(AbstractAccessLogger):
    """Logs method, path (never the query string, which may hold a key), status and time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.0fms", request.method, request.path, response.status, time * 1000
        )
