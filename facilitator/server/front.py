"""The front of ``--workers N``: one public port, N worker processes that own whole meetings.

Why a front and not N processes sharing one port (SO_REUSEPORT): the kernel would spread a
meeting's page, WebSocket and reconnects over every process, and a meeting must live in one.
Here the front routes ``/m/<id>/...`` to the worker that owns the meeting, a stable function
of its id (``forwarded.owner_of``), so no table is shared and a restarted worker owns the same
meetings. POSTs elsewhere (new meetings, agenda checks) go to the worker of the client's
address, so the per-address limits count all of one client's; anything else (landing page,
static files) goes to the workers in turn. A meeting
created by one worker is written to the shared store and its owner loads it on first use.

The front passes HTTP requests and WebSockets through (close codes, Origin and cookies as
they are) and tells the worker the client's address; media never passes through it: each
worker has its own ICE ports and browsers send media to it directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import signal
import ssl
import sys
import threading

import aiohttp
from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from . import exposition as ex
from .forwarded import WORKER_HEADER, address_worker, meeting_in_path, owner_of
from .keys import Config
from .limits import KEEPALIVE_SECONDS, GuardedSite, connection_caps, raise_fd_limit
from .metrics import bearer_matches, unauthorised
from .protocol import MAX_MESSAGE_BYTES, Close
from .workers import Supervisor, Worker, worker_env

log = logging.getLogger("facilitator.front")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "x-forwarded-for",
        "x-forwarded-proto",
    }
)
"""Headers that belong to one connection (or that only the front may set)."""
WS_SKIP = frozenset({"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"})
"""Handshake headers the front's own WebSocket client makes for itself."""
RESTARTING = "This part of the server is restarting. Please try again in a moment."


class Front:
    """Routing state: the workers and the HTTP client that talks to them."""

    def __init__(self, config: Config, supervisor: Supervisor) -> None:
        self.config = config
        self.supervisor = supervisor
        self.turn = itertools.count()
        self.draining = False
        self.http: aiohttp.ClientSession | None = None

    @property
    def client(self) -> aiohttp.ClientSession:
        """The shared client (no cookie jar: cookies pass through, they are never kept)."""
        if self.http is None:
            self.http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=None),
            )
        return self.http

    def pick(self, request: web.Request) -> Worker | None:
        """Who answers: a meeting's owner; for a POST (creating a meeting, checking an agenda:
        the requests limited per address) the worker of the client's address, so one worker
        sees all of them; otherwise the next worker that is up."""
        workers = self.supervisor.workers
        meeting_id = meeting_in_path(request.path)
        if meeting_id is not None:
            worker = workers[owner_of(meeting_id, len(workers))]
            return worker if worker.port is not None else None
        if request.method == "POST":
            worker = workers[address_worker(request.remote, len(workers))]
            if worker.port is not None:
                return worker
        up = self.supervisor.up()
        return up[next(self.turn) % len(up)] if up else None


FRONT = web.AppKey("front", Front)


def upstream_headers(request: web.Request) -> CIMultiDict[str]:
    """The request's headers for a worker, with the client's address and scheme."""
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        if name.lower() not in HOP_BY_HOP:
            headers.add(name, value)
    headers["X-Forwarded-For"] = request.remote or ""
    headers["X-Forwarded-Proto"] = request.scheme
    return headers


async def proxy(request: web.Request) -> web.StreamResponse:
    """Pass a request (or a WebSocket) to the worker that should answer it."""
    front = request.app[FRONT]
    worker = front.pick(request)
    if worker is None or worker.port is None:
        return web.Response(status=503, text=RESTARTING, headers={"Retry-After": "2"})
    url = f"http://127.0.0.1:{worker.port}{request.rel_url}"
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await proxy_websocket(request, front, worker, url)
    body = await request.read() if request.can_read_body else None
    try:
        async with front.client.request(
            request.method,
            url,
            headers=upstream_headers(request),
            data=body,
            allow_redirects=False,
        ) as upstream:
            data = await upstream.read()
            headers: CIMultiDict[str] = CIMultiDict()
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    headers.add(name, value)
            return web.Response(status=upstream.status, body=data, headers=headers)
    except aiohttp.ClientError:
        return web.Response(status=503, text=RESTARTING, headers={"Retry-After": "2"})


async def proxy_websocket(
    request: web.Request, front: Front, worker: Worker, url: str
) -> web.StreamResponse:
    """Connect to the worker first (its refusal is the client's), then pipe both ways."""
    headers = upstream_headers(request)
    for name in WS_SKIP:
        headers.popall(name, None)
    try:
        upstream = await front.client.ws_connect(
            url, headers=headers, autoping=True, max_msg_size=0, autoclose=False
        )
    except aiohttp.WSServerHandshakeError as exc:
        return web.Response(status=exc.status, text=exc.message or "refused")
    except aiohttp.ClientError:
        return web.Response(status=503, text=RESTARTING, headers={"Retry-After": "2"})
    ws = web.WebSocketResponse(
        heartbeat=front.config.heartbeat,
        max_msg_size=MAX_MESSAGE_BYTES,
        autoclose=False,
    )
    ws.headers[WORKER_HEADER] = str(worker.index)
    try:
        await ws.prepare(request)
        to_worker = asyncio.create_task(_pipe(ws, upstream))
        to_client = asyncio.create_task(_pipe(upstream, ws))
        _, pending = await asyncio.wait({to_worker, to_client}, return_when="FIRST_COMPLETED")
        if pending:  # the other side is closing too: let it finish the closing handshake
            await asyncio.wait(pending, timeout=5)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        if not upstream.closed:
            await upstream.close(code=_passable(ws.close_code))
        if not ws.closed:
            await ws.close(code=Close.RESTARTING, message=b"restarting")
    return ws


async def _pipe(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    """Copy messages until ``source`` closes, then close ``sink`` with the same code."""
    while True:
        msg = await source.receive()
        if msg.type == WSMsgType.TEXT:
            await sink.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        elif msg.type == WSMsgType.CLOSE:
            reason = (msg.extra or "").encode()[:120] if isinstance(msg.extra, str) else b""
            if not source.closed:
                await source.close(code=_passable(msg.data))
            if not sink.closed:
                await sink.close(code=_passable(msg.data), message=reason)
            return
        elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            # Gone without a close frame (a worker that died): the page should reconnect.
            if not sink.closed:
                await sink.close(code=Close.RESTARTING, message=b"restarting")
            return


def _passable(code: int | None) -> int:
    """A close code that may be sent on (1005, 1006 and 1015 only describe what happened)."""
    if code is None or code in (1005, 1006, 1015) or not 1000 <= code <= 4999:
        return int(Close.RESTARTING)
    return code


async def health(request: web.Request) -> web.Response:
    """GET /healthz on the front: it answers, and how many workers are up."""
    front = request.app[FRONT]
    up = len(front.supervisor.up())
    return web.json_response({"ok": True, "workers": len(front.supervisor.workers), "up": up})


async def readyz(request: web.Request) -> web.Response:
    """GET /readyz on the front: not draining, and every worker up and ready."""
    front = request.app[FRONT]
    workers = []
    for worker in front.supervisor.workers:
        workers.append({"index": worker.index, "up": worker.port is not None, "ready": False})
        if worker.port is None:
            continue
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            url = f"http://127.0.0.1:{worker.port}/readyz"
            timeout = aiohttp.ClientTimeout(total=3)
            async with front.client.get(url, timeout=timeout) as response:
                workers[-1]["ready"] = response.status == 200
    ok = not front.draining and all(w["ready"] for w in workers)
    body = {"ok": ok, "draining": front.draining, "workers": workers}
    return web.json_response(body, status=200 if ok else 503, headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics on the front: every worker's metrics labelled ``worker``, and the front's."""
    front = request.app[FRONT]
    token = front.config.metrics_token
    if token is None:
        raise web.HTTPNotFound()
    auth = {"Authorization": f"Bearer {token}"}
    if not bearer_matches(request, token):
        return unauthorised()
    workers = front.supervisor.workers
    parts: list[tuple[ex.Labels, str]] = []
    for worker in workers:
        if worker.port is None:
            continue
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            url = f"http://127.0.0.1:{worker.port}/metrics"
            timeout = aiohttp.ClientTimeout(total=5)
            async with front.client.get(url, headers=auth, timeout=timeout) as response:
                if response.status == 200:
                    parts.append(((("worker", str(worker.index)),), await response.text()))
    up = ex.Family("facilitator_worker_up", "1 while the worker is listening", "gauge")
    restarts = ex.Family(
        "facilitator_worker_restarts_total", "Times the front restarted the worker", "counter"
    )
    for worker in workers:
        labels = (("worker", str(worker.index)),)
        up.add(int(worker.port is not None), labels)
        restarts.add(worker.restarts, labels)
    stopping = int(front.draining)
    draining = ex.gauge("facilitator_front_draining", "1 while the front stops", stopping)
    text = ex.render([up, restarts, draining]) + ex.merge(parts)
    return web.Response(
        body=text.encode(), headers={"Content-Type": ex.CONTENT_TYPE, "Cache-Control": "no-store"}
    )


def create_front(config: Config, supervisor: Supervisor) -> web.Application:
    """The front's application: its own health and metrics, everything else passed on."""
    # Twice the workers' limit, so a worker answers a too-large body in its own words.
    app = web.Application(client_max_size=1024 * 1024)
    app[FRONT] = Front(config, supervisor)
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", readyz)
    if config.metrics_token:
        app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/{tail:.*}", proxy)
    app.on_cleanup.append(_close_client)
    return app


async def _close_client(app: web.Application) -> None:
    http = app[FRONT].http
    if http is not None:
        await http.close()


def serve_front(args: argparse.Namespace, config: Config) -> int:
    """Run the front and its workers until SIGTERM or Ctrl-C; return the exit status."""
    try:
        return asyncio.run(_run_front(args, config))
    except OSError as exc:
        print(
            f"facilitator: cannot listen on {config.host}:{config.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1


async def _run_front(args: argparse.Namespace, config: Config) -> int:
    soft, _ = raise_fd_limit()
    guard = connection_caps(soft, config.max_connections_per_address)
    env = worker_env()
    if config.metrics_token:
        env["FACILITATOR_METRICS_TOKEN"] = config.metrics_token
    supervisor = Supervisor(args, config.workers, "", env)
    app = create_front(config, supervisor)
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=2.0, keepalive_timeout=KEEPALIVE_SECONDS
    )
    await runner.setup()
    ssl_context = None
    if config.tls_cert and config.tls_key:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(config.tls_cert, config.tls_key)
    site = GuardedSite(runner, config.host, config.port, guard, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else config.port
    supervisor.public_url = dataclasses.replace(config, port=port).base_url()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("starting %d workers", config.workers)
    starting = asyncio.create_task(supervisor.start())
    await asyncio.wait({starting, asyncio.create_task(stop.wait())}, return_when="FIRST_COMPLETED")
    started = starting.done() and starting.result()
    if started:
        print(f"Listening on {supervisor.public_url}", flush=True)
        await stop.wait()
    elif starting.done():
        log.error("the workers did not start; stopping")
    watchdog = threading.Timer(config.drain_seconds + 2, os._exit, (1,))
    watchdog.daemon = True
    watchdog.start()
    app[FRONT].draining = True
    log.info("draining: stopping the workers")
    await supervisor.stop(config.drain_seconds)
    await runner.cleanup()
    return 0 if started or not starting.done() else 1
