"""Bounds per client address: request rates (token buckets) and open connections.

One stranger must not be able to stall every meeting, so each address gets its own budget for
the expensive requests (pages, agenda checks, new meetings) and for open sockets. Idle sockets
never reach a handler, so connections are counted where they are accepted (``GuardedSite``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import resource
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

log = logging.getLogger("facilitator.limits")

MAX_TRACKED = 10_000
"""Addresses remembered per limiter; the least recently seen are forgotten first."""
FD_RESERVE = 128
"""Descriptors kept free for the database, media sockets and log files."""
IDLE_SECONDS_ENV = "FACILITATOR_IDLE_SECONDS"
"""Sets KEEPALIVE_SECONDS (for tests, or a host that wants idle sockets gone sooner)."""


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable ``name``, else ``default``."""
    text = os.environ.get(name, "")
    try:
        value = float(text)
    except ValueError:
        return default
    return value if 0 < value < math.inf else default


KEEPALIVE_SECONDS = env_seconds(IDLE_SECONDS_ENV, 15.0)
"""An idle connection (no request under way) is closed after this long."""
MAX_SHARE_PER_ADDRESS = 4
"""One address may hold at most a quarter of all connections, so it cannot lock others out."""
LOW_FD_LIMIT = 4096
UNREAD_BODY_BYTES = 64 * 1024
"""A refused request whose body is larger than this is answered, then hung up on (not read)."""


def client_key(address: str | None) -> str:
    """The address a budget belongs to: IPv4 as is, IPv6 by its /64 (one home or host)."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; each request takes one."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> float:
        """Take a token: 0 when allowed, else the seconds until one is available."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class RateLimiter:
    """One token bucket per client address, for one kind of request."""

    rate: float
    burst: float
    shared: bool = False
    """One bucket for everyone (a server-wide budget) instead of one per address."""
    clock: Callable[[], float] = time.monotonic
    buckets: OrderedDict[str, TokenBucket] = field(default_factory=OrderedDict)

    def take(self, address: str | None) -> float:
        """Charge one request to ``address``: 0 when allowed, else seconds to wait."""
        key = "*" if self.shared else client_key(address)
        bucket = self.buckets.pop(key, None) or TokenBucket(self.rate, self.burst)
        self.buckets[key] = bucket
        while len(self.buckets) > MAX_TRACKED:
            self.buckets.popitem(last=False)
        return bucket.take(self.clock())


@dataclass
class Limits:
    """The per-address budgets of the HTTP edge."""

    pages: RateLimiter = field(default_factory=lambda: RateLimiter(rate=10.0, burst=200))
    """Landing and meeting pages: 10 a second, bursts of 200 (a room of people behind one
    address reloading at once); cached, each costs well under a millisecond."""
    checks: RateLimiter = field(default_factory=lambda: RateLimiter(rate=2.0, burst=30))
    """Agenda checks (the landing page checks as you type): 2 a second, bursts of 30."""
    creates: RateLimiter = field(default_factory=lambda: RateLimiter(rate=1 / 10, burst=10))
    """New meetings: one every 10 s, bursts of 10."""
    creates_hourly: RateLimiter = field(
        default_factory=lambda: RateLimiter(rate=60 / 3600, burst=60)
    )
    """New meetings: at most 60 an hour."""
    creates_total: RateLimiter = field(
        default_factory=lambda: RateLimiter(rate=1000 / 3600, burst=200, shared=True)
    )
    """New meetings from everyone together: 1,000 an hour, bursts of 200."""

    @classmethod
    def for_meetings_per_hour(cls, per_hour: int) -> Limits:
        """The default budgets, with ``per_hour`` new meetings per address (default 60)."""
        burst = max(10, per_hour // 6)
        return cls(
            creates=RateLimiter(rate=max(1 / 10, per_hour / 3600), burst=burst),
            creates_hourly=RateLimiter(rate=per_hour / 3600, burst=per_hour),
            creates_total=RateLimiter(
                rate=max(1000, per_hour) / 3600, burst=max(200, burst), shared=True
            ),
        )


LIMITS = web.AppKey("limits", Limits)


def retry_after(request: web.Request, *limiters: RateLimiter) -> float:
    """Charge the request to each limiter; 0 when allowed, else seconds to wait."""
    waits = [limiter.take(request.remote) for limiter in limiters]
    return max(waits, default=0.0)


def retry_header(seconds: float) -> dict[str, str]:
    """A ``Retry-After`` header (whole seconds, at least 1)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def wait_text(seconds: float) -> str:
    """How long to wait, in words."""
    whole = max(1, math.ceil(seconds))
    if whole < 90:
        return f"{whole} second{'s' if whole != 1 else ''}"
    return f"{math.ceil(whole / 60)} minutes"


class ConnectionGuard:
    """Counts open connections per client address and refuses those over the caps."""

    def __init__(self, per_address: int, total: int) -> None:
        self.per_address = per_address
        self.total = total
        self.open: dict[str, int] = {}
        self.count = 0
        self.refused = 0

    def admit(self, address: str | None) -> str | None:
        """Count a new connection; its key, or None when it must be closed."""
        key = client_key(address)
        if self.count >= self.total or self.open.get(key, 0) >= self.per_address:
            self.refused += 1
            if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
                log.warning("refused connections over the limits: %d so far", self.refused)
            return None
        self.open[key] = self.open.get(key, 0) + 1
        self.count += 1
        return key

    def release(self, key: str) -> None:
        """Forget a closed connection."""
        left = self.open.get(key, 0) - 1
        if left > 0:
            self.open[key] = left
        else:
            self.open.pop(key, None)
        self.count -= 1


class GuardedProtocol(asyncio.Protocol):
    """Wraps aiohttp's request handler: counts the connection, or closes it over the caps."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.key: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.key = self.guard.admit(peer[0] if isinstance(peer, tuple) and peer else None)
        if self.key is None:
            # Abort: no response is owed, and a refused socket must cost nothing more.
            if isinstance(transport, asyncio.Transport | asyncio.WriteTransport):
                transport.abort()
            else:
                transport.close()
            return
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.key is None:
            return
        self.guard.release(self.key)
        self.key = None
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.key is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.key is not None else None

    def pause_writing(self) -> None:
        if self.key is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.key is not None:
            self.inner.resume_writing()


class GuardedSite(web.BaseSite):
    """A TCP site like ``web.TCPSite`` whose connections pass through a ConnectionGuard."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        guard: ConnectionGuard,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self.app_runner = runner
        self.host = host
        self.port = port
        self.guard = guard
        self.ssl = ssl_context

    @property
    def name(self) -> str:
        """The site's URL, as aiohttp names sites."""
        scheme = "https" if self.ssl else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen, wrapping every accepted connection."""
        await super().start()
        server = self.app_runner.server
        assert server is not None, "call runner.setup() first"
        guard = self.guard

        def factory() -> asyncio.Protocol:
            return GuardedProtocol(server(), guard)

        loop = asyncio.get_running_loop()
        # BaseSite.stop() and runner.addresses read the listening server from ``_server``.
        self._server = await loop.create_server(factory, self.host, self.port, ssl=self.ssl)


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard one; return (soft, hard) afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft, hard


def connection_caps(soft_fd_limit: int, per_address: int) -> ConnectionGuard:
    """Caps that keep the process below its descriptor limit, whatever clients do.

    One address gets at most a quarter of the total: on a small host (256 descriptors: 128
    connections) a single attacker holding its whole per-address cap would otherwise be the
    total, and lock every other visitor out.
    """
    total = max(32, soft_fd_limit - FD_RESERVE) if soft_fd_limit > 0 else 100_000
    share = max(1, total // MAX_SHARE_PER_ADDRESS)
    return ConnectionGuard(per_address=max(1, min(per_address, share)), total=total)


@web.middleware
async def hang_up_on_unread_bodies(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer a request refused before its large body arrived, then close the connection.

    Otherwise aiohttp reads the rest of the body on the event loop to throw it away ("lingering",
    up to 10 s): a stranger posting 900 KB agendas in a loop, each refused with 429 or 413, made
    the server read about 70 MB a second and every other meeting wait.
    """
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if _large_and_unread(request):
            await _answer_and_hang_up(request, exc)
        raise
    if _large_and_unread(request) and not response.prepared:
        await _answer_and_hang_up(request, response)
    return response


async def _answer_and_hang_up(request: web.Request, response: web.StreamResponse) -> None:
    response.force_close()
    with contextlib.suppress(ConnectionError):
        await response.prepare(request)
        await response.write_eof()
    # The response is in the transport's buffer: closing sends it, then the connection ends.
    request.protocol.force_close()


def _large_and_unread(request: web.Request) -> bool:
    return (request.content_length or 0) > UNREAD_BODY_BYTES and not request.content.is_eof()
