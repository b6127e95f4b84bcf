"""A worker behind the front (``--workers``): the real client address, and who answered.

The front connects from loopback and says who the client is in ``X-Forwarded-For`` (and
whether it came over HTTPS in ``X-Forwarded-Proto``). Workers believe those headers only from
a loopback address, so the per-address limits see the real client and nobody else can claim
to be someone.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from .keys import CONFIG
from .limits import client_key

WORKER_HEADER = "X-Facilitator-Worker"
"""Names the worker process that answered (for operators and tests)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def from_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8 and ::1."""
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@web.middleware
async def trust_front(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Take the client's address and scheme from the front's headers (loopback only)."""
    forwarded = request.headers.get("X-Forwarded-For", "").strip()
    if not forwarded or not from_loopback(request.remote):
        return await handler(request)
    client = forwarded.rsplit(",", 1)[-1].strip()
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
    if scheme not in ("http", "https"):
        scheme = request.scheme
    return await handler(request.clone(remote=client, scheme=scheme))


async def name_worker(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: add which worker answered."""
    worker = request.app[CONFIG].worker
    if worker is not None:
        response.headers[WORKER_HEADER] = str(worker)


def owner_of(meeting_id: str, workers: int) -> int:
    """The worker that serves a meeting: a stable function of its id, so no table is shared."""
    digest = hashlib.sha256(meeting_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % workers


def meeting_in_path(path: str) -> str | None:
    """The meeting id in ``/m/<id>`` or ``/m/<id>/...``, else None."""
    if not path.startswith("/m/"):
        return None
    meeting_id = path[3:].split("/", 1)[0]
    return meeting_id or None


def address_worker(address: str | None, workers: int) -> int:
    """The worker that takes one client address's rate-limited requests (IPv6 by its /64)."""
    return owner_of(client_key(address), workers)
