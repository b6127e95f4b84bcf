"""The application factory: routes, templates, storage and background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import jinja2
from aiohttp import web
from aiortc import RTCIceServer

from ..library import LibraryCache
from ..media.aiortc_seams import (
    check_seams,
    guard_datagrams,
    quiet_failed_connects,
    restrict_host_addresses,
    tolerant_consent,
)
from ..media.sfu import MediaConfig, Sfu
from ..store import open_store
from ..store.leases import Leases, Node
from . import api, pages, recap, sessions, touch
from .agendas import OFFER, PARSER, Offer
from .forwarded import name_worker, owner_of, trust_front
from .health import HEALTH, Health, readyz, refuse_while_draining
from .keys import CONFIG, ROOMS, SFU, STORE, TEMPLATES, Config
from .limits import LIMITS, Limits, hang_up_on_unread_bodies
from .logs import meeting_context
from .metrics import (
    METRICS,
    Metrics,
    count_requests,
    count_websocket,
    metrics_page,
    sample_media,
)
from .ownership import keep_leases
from .parsing import AgendaParser
from .rooms import Rooms
from .security import security_headers
from .stats import LAG, LoopLag, stats
from .timed_store import timed
from .ws import meeting_socket

RECENT_LAG_SAMPLES = 4000
"""Lag samples kept without --stats: a bit over a minute (for /metrics and /readyz)."""


def create_app(config: Config, now: Callable[[], float] | None = None) -> web.Application:
    """Build the aiohttp application for ``config``."""
    # Bodies are small: a 64 KB agenda, even JSON-escaped, fits in 512 KB.
    middlewares = [
        hang_up_on_unread_bodies,
        count_requests,
        meeting_context,
        refuse_while_draining,
        security_headers,
    ]
    if config.worker is not None:
        middlewares.insert(0, trust_front)  # first, so every later step sees the real client
    app = web.Application(middlewares=middlewares, client_max_size=512 * 1024)
    app[CONFIG] = config
    app[HEALTH] = Health()
    app[METRICS] = Metrics()
    app[LIMITS] = Limits.for_meetings_per_hour(config.meetings_per_hour)
    app[OFFER] = Offer(LibraryCache(config.agendas_dir, config.decks_dir))
    app[PARSER] = AgendaParser()
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(config.web_dir / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    store = timed(open_store(config.database, config.data_dir))
    app[STORE] = store
    browser_servers = [dict(s) for s in config.ice_servers]
    # With --node-url this process is one node of several: it runs the meetings it leases.
    node = node_of(config)
    leases = Leases(store, node) if node is not None else None
    owns = _owner_check(config)
    app[ROOMS] = Rooms(store, now or time.time, browser_servers, leases, owns=owns)
    if config.node_url:
        app.on_response_prepare.append(_node_header)
    app[touch.TOUCH_LIMITS] = touch.TouchLimits()
    check_seams()
    guard_datagrams()
    tolerant_consent()
    restrict_host_addresses(config.ice_addresses)
    servers = [RTCIceServer(**server) for server in config.ice_servers]
    app[pages.CREATED] = pages.CreatedViews()
    app[sessions.RENEWED] = sessions.Renewed()
    app[SFU] = Sfu(MediaConfig(ice_servers=servers, transcode=config.transcode))
    app[LAG] = LoopLag() if config.stats else LoopLag(keep=RECENT_LAG_SAMPLES)
    app.cleanup_ctx.append(_lag_probe)
    if config.stats:
        app.router.add_get("/api/stats", stats)
    if config.metrics_token:
        app.router.add_get("/metrics", metrics_page)
        app.cleanup_ctx.append(_media_sampler)
    app.on_response_prepare.append(count_websocket)
    app.on_response_prepare.append(name_worker)
    app.cleanup_ctx.append(_storage)
    app.on_cleanup.append(_stop_parser)
    app.cleanup_ctx.append(_background)
    app.on_shutdown.append(_goodbye)

    app.router.add_get("/", pages.landing)
    app.router.add_post("/meetings", pages.create_meeting)
    app.router.add_get("/meetings/{id}/created", pages.created_page)
    app.router.add_get("/m/{id}", pages.meeting_page)
    app.router.add_get("/m/{id}/ws", meeting_socket)
    app.router.add_get("/m/{id}/recap", recap.recap_page)
    app.router.add_get("/m/{id}/recap.md", recap.recap_markdown)
    app.router.add_get("/m/{id}/recap.json", recap.recap_json)
    app.router.add_get("/m/{id}/notes/{person}", recap.person_notes)
    app.router.add_post("/m/{id}/notes/delete", recap.delete_notes)
    app.router.add_post("/m/{id}/delete", recap.delete_meeting)
    app.router.add_post("/m/{id}/touch", touch.save_touch)
    app.router.add_get("/m/{id}/touch/{person}.vcf", touch.vcard)
    app.router.add_get("/api/agendas", api.list_agendas)
    app.router.add_post("/api/agendas/check", api.check_agenda)
    app.router.add_post("/api/meetings", api.create_meeting)
    app.router.add_get("/healthz", api.health)
    app.router.add_get("/readyz", readyz)
    app.router.add_static("/static", config.web_dir / "static", append_version=False)
    return app


def node_of(config: Config) -> Node | None:
    """This process in the leases (None without ``--node-url``): the node's URL, which every
    worker of it answers at, and as its id the URL or, under ``--workers``, the URL and the
    worker. Distinct ids keep two workers of one node from both holding a meeting; a worker
    started again has its index, so it takes its own meetings' leases back at once."""
    if not config.node_url:
        return None
    if config.worker is None:
        return Node(config.node_url, config.node_url)
    return Node(f"{config.node_url} worker {config.worker}", config.node_url)


def _owner_check(config: Config) -> Callable[[str], bool] | None:
    """Under --workers: which meetings this worker keeps in memory once it has created them."""
    worker, count = config.worker, config.workers
    if worker is None:
        return None
    return lambda meeting_id: owner_of(meeting_id, count) == worker


async def _node_header(request: web.Request, response: web.StreamResponse) -> None:
    # Which node answered: for operators, the proxy's logs and the failover tests.
    response.headers["X-Facilitator-Node"] = request.app[CONFIG].node_url or ""


async def _storage(app: web.Application) -> AsyncIterator[None]:
    await app[STORE].open()
    yield
    await app[ROOMS].release_all()
    await app[STORE].close()


async def _stop_parser(app: web.Application) -> None:
    app[PARSER].close()


async def _background(app: web.Application) -> AsyncIterator[None]:
    rooms = app[ROOMS]
    quiet_failed_connects(asyncio.get_running_loop())
    keep_days = app[CONFIG].keep_days
    await rooms.expire(keep_days)  # at start-up, before anyone can open an expired meeting
    tasks = [
        asyncio.create_task(rooms.run_expiry(keep_days)),
        asyncio.create_task(rooms.run_ticker()),
        asyncio.create_task(rooms.run_saver()),
        asyncio.create_task(rooms.run_speakers(app[SFU])),
    ]
    if rooms.leases is not None:
        tasks.append(asyncio.create_task(keep_leases(rooms, rooms.leases)))
    yield
    await app[SFU].close()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _media_sampler(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(sample_media(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _lag_probe(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[LAG].run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _goodbye(app: web.Application) -> None:
    await app[ROOMS].say_goodbye()
