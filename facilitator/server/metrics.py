"""``GET /metrics`` (with ``--metrics``): the server's numbers in the Prometheus text format.

Gauges are read from the live rooms and the SFU when scraped; counters that must only go up
are kept here. The token (``--metrics-token``) is compared in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from ..media.counters import MediaCounters, media_counters
from . import exposition as ex
from .health import HEALTH
from .keys import CONFIG, ROOMS, SFU, STORE
from .stats import LAG
from .timed_store import TimedStore

STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass
class Totals:
    """Media counts that only go up, although the open connections they are read from close.

    Every reading (once a second, and at each scrape) adds how far the sum over open
    connections grew since the last one; what a connection counted in its last second before
    closing is not seen.
    """

    last: MediaCounters = field(default_factory=MediaCounters)
    frames_in: int = 0
    frames_out: int = 0
    packets_out: int = 0
    bytes_out: int = 0

    def update(self, now: MediaCounters) -> None:
        """Add the growth since the previous reading."""
        self.frames_in += max(0, now.frames_in - self.last.frames_in)
        self.frames_out += max(0, now.frames_out - self.last.frames_out)
        self.packets_out += max(0, now.packets_out - self.last.packets_out)
        self.bytes_out += max(0, now.bytes_out - self.last.bytes_out)
        self.last = now


@dataclass
class Metrics:
    """Counters kept between scrapes."""

    http: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_CLASSES, 0))
    """Answered HTTP requests by status class."""
    websockets: int = 0
    """WebSocket connections accepted since start."""
    media: Totals = field(default_factory=Totals)


METRICS = web.AppKey("metrics", Metrics)
SAMPLE_SECONDS = 1.0
"""How often media counters are read into the totals between scrapes."""


async def sample_media(app: web.Application) -> None:
    """Read the media counters into the totals every SAMPLE_SECONDS (run as a task)."""
    while True:
        await asyncio.sleep(SAMPLE_SECONDS)
        app[METRICS].media.update(media_counters(app[SFU]))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count each answered request by its status class (2xx, 4xx, ...)."""
    metrics = request.app[METRICS]
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _count(metrics, exc.status)
        raise
    except Exception:
        _count(metrics, 500)
        raise
    _count(metrics, response.status)
    return response


def _count(metrics: Metrics, status: int) -> None:
    name = f"{status // 100}xx"
    if name in metrics.http:
        metrics.http[name] += 1


async def count_websocket(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: count a WebSocket when its handshake is answered."""
    if response.status == 101:
        request.app[METRICS].websockets += 1


def bearer_matches(request: web.Request, token: str | None) -> bool:
    """The request carries ``Authorization: Bearer <token>`` (compared in constant time)."""
    given = request.headers.get("Authorization", "").encode("utf-8", "replace")
    expected = f"Bearer {token or ''}".encode()
    return bool(token) and hmac.compare_digest(given, expected)


def unauthorised() -> web.Response:
    """401 for a missing or wrong metrics token."""
    return web.Response(
        status=401,
        text="A metrics token is needed: Authorization: Bearer <token>.\n",
        headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
    )


async def metrics_page(request: web.Request) -> web.Response:
    """GET /metrics: every family, or 401 without the token."""
    if not bearer_matches(request, request.app[CONFIG].metrics_token):
        return unauthorised()
    body = ex.render(collect(request.app))
    return web.Response(
        body=body.encode(), headers={"Content-Type": ex.CONTENT_TYPE, "Cache-Control": "no-store"}
    )


def collect(app: web.Application) -> list[ex.Family]:
    """Read every metric now."""
    metrics = app[METRICS]
    rooms = app[ROOMS].rooms.values()
    media = media_counters(app[SFU])
    metrics.media.update(media)
    totals = metrics.media
    people = sum(len({c.person_id for c in room.joined()}) for room in rooms)
    http = ex.Family("facilitator_http_requests_total", "HTTP requests answered", "counter")
    for name, count in metrics.http.items():
        http.add(count, (("class", name),))
    families = [
        ex.gauge("facilitator_meetings_loaded", "Meetings held in memory", len(rooms)),
        ex.gauge(
            "facilitator_meetings_live",
            "Meetings with at least one open connection",
            sum(1 for room in rooms if room.clients),
        ),
        ex.gauge("facilitator_people_online", "People joined with an open connection", people),
        ex.gauge(
            "facilitator_websockets_open",
            "Open meeting WebSockets",
            sum(len(room.clients) for room in rooms),
        ),
        ex.counter(
            "facilitator_websockets_accepted_total",
            "Meeting WebSockets accepted",
            metrics.websockets,
        ),
        http,
        ex.gauge("facilitator_media_connections", "Open media connections", media.peers),
        ex.gauge(
            "facilitator_media_videos_paused",
            "Videos on screen paused for a subscriber's connection",
            media.videos_paused,
        ),
        ex.gauge(
            "facilitator_media_videos_thinned",
            "Videos on screen sent at a lower frame rate for a subscriber's connection",
            media.videos_thinned,
        ),
        ex.counter(
            "facilitator_media_frames_received_total",
            "Encoded frames received",
            totals.frames_in,
        ),
        ex.counter(
            "facilitator_media_frames_forwarded_total",
            "Frames forwarded to subscribers",
            totals.frames_out,
        ),
        ex.counter(
            "facilitator_media_packets_forwarded_total",
            "RTP packets sent to subscribers",
            totals.packets_out,
        ),
        ex.counter(
            "facilitator_media_bytes_forwarded_total",
            "RTP payload bytes sent to subscribers",
            totals.bytes_out,
        ),
    ]
    loss = ex.Family(
        "facilitator_media_loss_ratio",
        "Packet loss over the last few receiver reports: down (what subscribers lose of what the "
        "server sends) and up (what the server loses of what publishers send)",
        "gauge",
    )
    for direction, (mean, largest) in (("down", media.loss_down), ("up", media.loss_up)):
        loss.add(mean, (("direction", direction), ("stat", "mean")))
        loss.add(largest, (("direction", direction), ("stat", "max")))
    families.append(loss)
    lag = ex.Family(
        "facilitator_event_loop_lag_seconds",
        "How late the event loop woke a sleeping task over the last minute",
        "gauge",
    )
    summary = app[LAG].recent()
    for stat in ("p50", "p99", "max"):
        lag.add(summary[stat] / 1000, (("stat", stat),))
    families.append(lag)
    store = app[STORE]
    if isinstance(store, TimedStore):
        families.append(
            store.writes.family("facilitator_store_write_seconds", "Time taken by store writes")
        )
        errors = store.write_errors
        families.append(
            ex.counter("facilitator_store_write_errors_total", "Store writes that failed", errors)
        )
    draining = int(app[HEALTH].draining)
    families.append(ex.gauge("facilitator_draining", "1 while stopping after SIGTERM", draining))
    if os.path.isdir("/proc/self/fd"):
        files = len(os.listdir("/proc/self/fd"))
        families.append(ex.gauge("facilitator_open_files", "Open file descriptors", files))
    return families
