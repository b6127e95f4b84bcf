"""Attacks at the HTTP edge for the attack benchmark (``bench.attacks``), one stranger each.

Every attack runs in the attack process, from the attacker's own loopback address, until its
context says stop, and returns what the server answered (counts by status or outcome).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

Counts = Counter[str]


@dataclass
class AttackContext:
    """Where an attack goes, where it comes from, and how long it runs."""

    base: str
    participant: str
    """The participant link of the attacker's own meeting."""
    facilitator: str
    address: str
    """The attacker's loopback address (the measured visitors use 127.0.0.1)."""
    seconds: float
    data: Path
    """The server's data folder (read only, to count what an attack left behind)."""
    helpers: tuple[str, ...] = ()
    """Further addresses an attack may use (setting up its meeting, a crowd's browsers)."""
    on_start: Callable[[], None] | None = None
    """Called when the measured window begins (set in the attack process)."""
    deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def start(self) -> None:
        """Set-up is done: the measured window begins now."""
        self.deadline = time.monotonic() + self.seconds
        if self.on_start is not None:
            self.on_start()

    def running(self) -> bool:
        """True until the attack's time is up."""
        return time.monotonic() < self.deadline

    def left(self) -> float:
        """Seconds until the attack's time is up."""
        return max(0.0, self.deadline - time.monotonic())


def http_from(address: str, cookies: bool = True) -> aiohttp.ClientSession:
    """An HTTP client whose connections come from ``address`` (no connection limit)."""
    jar: aiohttp.abc.AbstractCookieJar = (
        aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
    )
    connector = aiohttp.TCPConnector(local_addr=(address, 0), limit=0)
    return aiohttp.ClientSession(connector=connector, cookie_jar=jar)


async def flood(
    ctx: AttackContext,
    workers: int,
    one: Callable[[], Awaitable[str]],
    total: int | None = None,
) -> Counts:
    """Run ``one`` from ``workers`` loops until time is up (or ``total`` requests were sent)."""
    counts: Counts = Counter()
    sent = 0

    async def loop() -> None:
        nonlocal sent
        while ctx.running() and (total is None or sent < total):
            sent += 1
            try:
                counts[await one()] += 1
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                counts[type(exc).__name__] += 1
                await asyncio.sleep(0.01)

    await asyncio.gather(*(loop() for _ in range(workers)))
    counts["sent"] = sent
    return counts


async def idle_connections(ctx: AttackContext, count: int = 1100) -> Counts:
    """Slowloris: ``count`` TCP connections that never send a request, reopened when closed."""
    host, port = ctx.base.split("//", 1)[1].rsplit(":", 1)
    counts: Counts = Counter()
    open_: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    def closed(pair: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> bool:
        reader, writer = pair
        return reader.at_eof() or reader.exception() is not None or writer.transport.is_closing()

    async def one() -> None:
        try:
            pair = await asyncio.open_connection(host, int(port), local_addr=(ctx.address, 0))
            open_.append(pair)
            counts["connects"] += 1
        except OSError:
            counts["connect failed"] += 1

    ctx.start()
    await asyncio.gather(*(one() for _ in range(count)))
    await asyncio.sleep(0.5)
    counts["closed at once"] = sum(map(closed, open_))
    while ctx.running():
        await asyncio.sleep(min(1.0, ctx.left()))
        for pair in [p for p in open_ if closed(p)]:
            open_.remove(pair)
            pair[1].close()
            counts["closed by the server"] += 1
        if ctx.running():  # a persistent attacker opens them again
            await asyncio.gather(*(one() for _ in range(count - len(open_))))
    await asyncio.sleep(0.2)
    counts["open at the end"] = sum(not closed(p) for p in open_)
    for _, writer in open_:
        writer.close()
    return counts


def many_documents(size: int = 900_000) -> str:
    """An agenda of ``size`` bytes made of tiny YAML documents."""
    return "---\na: 1\n" * (size // 9)


def unknown_keys(size: int = 880_000) -> str:
    """A valid agenda followed by ``size`` bytes of unknown keys."""
    parts = ["title: X\nitems:\n  - title: A\n    duration: 5m\n"]
    length = len(parts[0])
    while length < size:
        parts.append(f"unknown_{len(parts)}: 1\n")
        length += len(parts[-1])
    return "".join(parts)


def slowest_agenda() -> str:
    """The slowest shape under the 64 KB limit: one flow list of tens of thousands of numbers."""
    return "title: X\nitems: [" + "1," * 32_000 + "]\n"


async def post_agendas(ctx: AttackContext, yaml: str, at_once: int) -> Counts:
    """POST ``yaml`` to /api/agendas/check from ``at_once`` loops."""
    body = {"yaml": yaml}
    async with http_from(ctx.address) as http:

        async def one() -> str:
            async with http.post(f"{ctx.base}/api/agendas/check", json=body) as r:
                await r.read()
                return str(r.status)

        ctx.start()
        return await flood(ctx, at_once, one)


async def create_meetings(ctx: AttackContext, total: int = 5000) -> Counts:
    """``total`` POST /api/meetings as fast as the server answers."""
    async with http_from(ctx.address) as http:

        async def one() -> str:
            body = {"agenda": "quick-check-in"}
            async with http.post(f"{ctx.base}/api/meetings", json=body) as r:
                await r.read()
                return str(r.status)

        ctx.start()
        return await flood(ctx, 4, one, total)


async def page_loop(ctx: AttackContext) -> Counts:
    """GET /api/agendas and the landing page in a loop."""
    async with http_from(ctx.address) as http:
        paths = ["/api/agendas", "/"]
        turn = 0

        async def one() -> str:
            nonlocal turn
            turn += 1
            async with http.get(ctx.base + paths[turn % 2]) as r:
                await r.read()
                return str(r.status)

        ctx.start()
        return await flood(ctx, 4, one)


def session_rows(data: Path) -> int:
    """Session rows in the server's database."""
    with sqlite3.connect(f"file:{data / 'facilitator.sqlite3'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


async def cookieless_pages(ctx: AttackContext, total: int = 20_000) -> Counts:
    """``total`` loads of a meeting page, each without cookies (a new browser every time)."""
    async with http_from(ctx.address, cookies=False) as http:

        async def one() -> str:
            async with http.get(ctx.participant) as r:
                await r.read()
                return str(r.status)

        ctx.start()
        counts = await flood(ctx, 8, one, total)
    counts["session rows"] = session_rows(ctx.data)
    return counts


async def forged_host(ctx: AttackContext) -> Counts:
    """Create meetings with ``Host: evil.example`` and see where the links point."""
    headers = {"Host": "evil.example"}
    async with http_from(ctx.address) as http:

        async def one() -> str:
            body = {"agenda": "quick-check-in"}
            async with http.post(f"{ctx.base}/api/meetings", json=body, headers=headers) as r:
                if r.status != 201:
                    await r.read()
                    return str(r.status)
                links = await r.json()
            evil = "evil.example" in links["participant_url"] + links["facilitator_url"]
            return "evil links" if evil else "201 own links"

        ctx.start()
        return await flood(ctx, 1, one)
