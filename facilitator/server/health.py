"""``/readyz``, and refusing new work while the server drains before it stops.

``/healthz`` (in ``api.py``) says the process answers. ``/readyz`` says it should be sent
people: the store takes writes, the event loop is not stalled, and it is not draining. While
draining (after SIGTERM) new meetings and new WebSockets are refused with 503, so a load
balancer or the pages themselves go elsewhere or come back once the server is up again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from .keys import STORE, TEMPLATES
from .stats import LAG
from .timed_store import TimedStore

STALL_SECONDS = 1.0
"""An event loop that woke this late within the last 10 s is not ready."""
DRAINING = "The server is restarting. Please try again in a moment."


@dataclass
class Health:
    """What readiness depends on beyond the store and the loop."""

    draining: bool = False
    """SIGTERM arrived: finishing up, taking nothing new."""


HEALTH = web.AppKey("health", Health)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def readyz(request: web.Request) -> web.Response:
    """GET /readyz: 200 with ``{"ok": true, ...}`` when ready, else 503 saying why not."""
    app = request.app
    problems: list[str] = []
    draining = app[HEALTH].draining
    if draining:
        problems.append("draining")
    store = app[STORE]
    store_problem = await store.probe() if isinstance(store, TimedStore) else None
    if store_problem:
        problems.append(store_problem)
    stalled = app[LAG].stalled(STALL_SECONDS)
    if stalled:
        problems.append("the event loop is stalled")
    body = {
        "ok": not problems,
        "draining": draining,
        "store": store_problem or "ok",
        "event_loop": "stalled" if stalled else "ok",
        "problems": problems,
    }
    return web.json_response(
        body, status=503 if problems else 200, headers={"Cache-Control": "no-store"}
    )


def takes_new_work(request: web.Request) -> bool:
    """Requests that start something: a new meeting, or a new meeting WebSocket."""
    if request.method == "POST":
        return request.path in ("/meetings", "/api/meetings")
    return request.path.startswith("/m/") and request.path.endswith("/ws")


@web.middleware
async def refuse_while_draining(request: web.Request, handler: Handler) -> web.StreamResponse:
    """503 (with Retry-After) for new meetings and new WebSockets while draining."""
    if not request.app[HEALTH].draining or not takes_new_work(request):
        return await handler(request)
    headers = {"Retry-After": "5", "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        body = {"ok": False, "error": "draining", "message": DRAINING, "errors": [DRAINING]}
        return web.json_response(body, status=503, headers=headers)
    if request.path.endswith("/ws"):
        return web.Response(status=503, text=DRAINING, headers=headers)
    html = (
        request.app[TEMPLATES]
        .get_template("error.html")
        .render(heading="Back in a moment", message=DRAINING, status_code=503)
    )
    return web.Response(text=html, status=503, content_type="text/html", headers=headers)
