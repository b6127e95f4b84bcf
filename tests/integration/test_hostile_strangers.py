"""Hostile strangers at the HTTP edge: idle sockets, huge agendas, floods, forged Host headers.

Each attack runs against a real server process; where it matters, another meeting is measured
while it runs, and the test asserts the attack was refused or limited and that the other client
still got its answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from facilitator.server.limits import IDLE_SECONDS_ENV
from facilitator.server.parsing import PARSE_SECONDS_ENV, TOO_LONG

from .harness import MakePeer, Peer, ServerProcess, running_server

SocketPair = tuple[asyncio.StreamReader, asyncio.StreamWriter]

ATTACKER = "127.0.0.2"
"""Attacks come from another loopback address, so the visitors (127.0.0.1) have their own budget."""


def attacker_session() -> aiohttp.ClientSession:
    """An HTTP client whose connections come from ATTACKER."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(ATTACKER, 0)))


@pytest.fixture
def server(own_server: ServerProcess) -> ServerProcess:
    """Every test here limits, fills or measures its server: each gets one of its own."""
    return own_server


@pytest.fixture
def agendas_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server offering the agendas of a folder the test may edit."""
    folder = tmp_path / "agendas"
    folder.mkdir()
    (folder / "mine.yaml").write_text(
        "title: First title\nitems:\n  - title: A\n    duration: 5m\n"
    )
    yield from running_server(tmp_path, extra=["--agendas", str(folder)])


async def ping_round_trip(peer: Peer) -> float:
    """Seconds for one ping/pong on a joined peer's WebSocket."""
    started = time.monotonic()
    reply = await peer.request("ping", {"t": started}, want=("pong",))
    assert reply["type"] == "pong"
    return time.monotonic() - started


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server started with only 256 file descriptors (as on a small host): 128 connections
    in all, 32 per address."""
    yield from running_server(tmp_path, prefix=["prlimit", "--nofile=256:256", "--"])


async def open_idle(count: int, port: int, address: str) -> list[SocketPair]:
    """``count`` TCP connections from ``address`` that send nothing."""
    pairs = []
    for _ in range(count):
        pairs.append(await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0)))
    return pairs


async def count_closed(pairs: list[SocketPair]) -> int:
    """How many of these connections the server has closed."""
    closed = 0
    for reader, _ in pairs:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):
                try:
                    closed += await reader.read(1) == b""
                except ConnectionError:
                    closed += 1
    return closed


async def landing_page(base: str) -> None:
    """A new visitor from 127.0.0.1 loads the landing page."""
    async with aiohttp.ClientSession() as http:
        async with asyncio.timeout(10):
            async with http.get(f"{base}/") as r:
                assert r.status == 200
                assert "Create meeting" in await r.text()


async def test_idle_connections_from_one_address_do_not_lock_out_visitors(
    small_server: ServerProcess, peers: MakePeer
) -> None:
    server = small_server
    assert "this process may open only 256 files" in server.log()  # said at start-up
    ana = peers(server.participant, "Ana")
    await ana.join()
    pairs: list[SocketPair] = []
    try:
        # (Without the caps the server stops accepting, and connecting hangs: bound it.)
        async with asyncio.timeout(30):
            pairs += await open_idle(300, server.port, ATTACKER)
        # One address holds at most 32 of the 128: a new visitor still gets the landing page,
        # and Ana's meeting still answers.
        await landing_page(server.base)
        rtt = await ping_round_trip(ana)
        print(f"ping round trip during 300 idle connections: {rtt * 1000:.1f} ms")
        assert await count_closed(pairs) >= 300 - 32
        # Several addresses together reach the total: more are closed at once (connecting
        # never hangs) and the process stays below its descriptor limit.
        crowd: list[SocketPair] = []
        async with asyncio.timeout(30):
            for n in range(3, 9):
                crowd += await open_idle(40, server.port, f"127.0.0.{n}")
        assert await count_closed(crowd) >= 6 * 40 - (128 - 32)
        await ping_round_trip(ana)  # Ana's connection was in before the crowd
        pairs += crowd
    finally:
        for _, writer in pairs:
            writer.close()
    # Once the crowd has gone, visitors get in again.
    deadline = time.monotonic() + 10
    while True:
        try:
            await landing_page(server.base)
            break
        except (aiohttp.ClientError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    assert "Too many open files" not in server.log()


async def test_idle_connections_are_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    for server in running_server(tmp_path, env={IDLE_SECONDS_ENV: "1"}):
        started = time.monotonic()
        silent = await open_idle(1, server.port, ATTACKER)
        # One that sent a request and then nothing more is closed the same way.
        used = await open_idle(1, server.port, ATTACKER)
        reader, writer = used[0]
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        for reader, writer in silent + used:
            async with asyncio.timeout(5):
                while await reader.read(65536):
                    pass  # the rest of the answer; then the server's close
            writer.close()
        waited = time.monotonic() - started
        assert 0.9 < waited < 4, waited


async def test_a_huge_agenda_is_refused_before_it_is_read(server: ServerProcess) -> None:
    huge = "---\na: 1\n" * 100_000  # 900 KB of tiny documents
    async with aiohttp.ClientSession() as http:
        # Too large to read at all: refused before the body is in.
        async with http.post(f"{server.base}/api/agendas/check", json={"yaml": huge}) as r:
            assert r.status == 413
            data = await r.json()
        assert data["ok"] is False and "64 KB" in data["errors"][0], data
        # Over the agenda limit: refused before parsing, saying the limit.
        big = huge[:100_000]
        async with http.post(f"{server.base}/api/agendas/check", json={"yaml": big}) as r:
            assert r.status == 200
            data = await r.json()
        assert data["ok"] is False
        assert len(data["errors"]) == 1 and "64 KB" in data["errors"][0], data["errors"]
        async with http.post(f"{server.base}/api/meetings", json={"yaml": big}) as r:
            assert r.status == 400
            assert "64 KB" in (await r.json())["errors"][0]
        form = aiohttp.FormData()
        form.add_field("agenda", "custom")
        form.add_field("yaml_file", big.encode(), filename="big.yaml")
        async with http.post(f"{server.base}/meetings", data=form) as r:
            assert r.status == 400
            assert "64 KB" in await r.text()


async def test_errors_are_capped_at_twenty(server: ServerProcess) -> None:
    text = "title: X\nitems:\n  - title: A\n    duration: 5m\n"
    text += "".join(f"unknown_{i}: 1\n" for i in range(4000))  # about 60 KB of unknown keys
    url = f"{server.base}/api/agendas/check"
    async with aiohttp.ClientSession() as http, http.post(url, json={"yaml": text}) as r:
        errors = (await r.json())["errors"]
    assert len(errors) == 21, len(errors)
    assert "unknown_0" in errors[0]
    assert errors[-1].endswith("and 3980 more problems; fix the ones above first")


async def test_a_slow_agenda_does_not_freeze_other_meetings(
    server: ServerProcess, peers: MakePeer
) -> None:
    ana = peers(server.participant, "Ana")
    await ana.join()
    await ping_round_trip(ana)
    # The slowest shape at the size limit: one flow list of tens of thousands of numbers.
    slow = "title: X\nitems: [" + "1," * 32_000 + "]\n"
    async with aiohttp.ClientSession() as http:
        order: list[str] = []

        async def check() -> None:
            async with http.post(f"{server.base}/api/agendas/check", json={"yaml": slow}) as r:
                assert r.status == 200
                assert (await r.json())["ok"] is False
            order.append("check")

        async def pings() -> None:
            await asyncio.sleep(0.2)  # the parse is under way
            rtt = await ping_round_trip(ana)
            order.append("pong")
            print(f"ping round trip while a 64 KB agenda is parsed: {rtt * 1000:.1f} ms")

        await asyncio.gather(check(), pings())
    # The meeting answered while the agenda was still being read.
    assert order == ["pong", "check"], order


async def test_creating_meetings_is_rate_limited(server: ServerProcess, peers: MakePeer) -> None:
    ana = peers(server.participant, "Ana")
    await ana.join()
    statuses: list[int] = []
    async with attacker_session() as http:
        for _ in range(30):
            async with http.post(
                f"{server.base}/api/meetings", json={"agenda": "network-night"}
            ) as r:
                statuses.append(r.status)
                if r.status == 429:
                    data = await r.json()
                    retry = int(r.headers["Retry-After"])
                    assert retry >= 1
                    assert data["error"] == "rate-limited" and "Try again in" in data["message"]
        async with http.post(f"{server.base}/meetings", data={"agenda": "network-night"}) as r:
            assert r.status == 429
            assert r.headers["X-Frame-Options"] == "DENY"
            assert "Try again in" in await r.text()
    assert statuses.count(201) == 10 and statuses.count(429) == 20, statuses
    # The flood cost Ana nothing, and a visitor from elsewhere can still create a meeting.
    await ping_round_trip(ana)
    body = {"agenda": "quick-check-in"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base}/api/meetings", json=body) as r,
    ):
        assert r.status == 201


async def test_pages_and_checks_are_rate_limited(agendas_server: ServerProcess) -> None:
    server = agendas_server
    async with attacker_session() as http:
        statuses = []
        for _ in range(300):
            async with http.get(f"{server.base}/api/agendas") as r:
                statuses.append(r.status)
        assert 429 in statuses and statuses[:200] == [200] * 200, statuses
        async with http.get(f"{server.base}/") as r:
            assert r.status == 429 and "Retry-After" in r.headers
        checks = []
        for _ in range(40):
            async with http.post(f"{server.base}/api/agendas/check", json={"yaml": "a: 1"}) as r:
                checks.append(r.status)
        assert 429 in checks, checks
    async with aiohttp.ClientSession() as http, http.get(f"{server.base}/") as r:
        assert r.status == 200


async def test_an_edited_agenda_file_shows_up(agendas_server: ServerProcess) -> None:
    server = agendas_server
    folder = server.data.parent / "agendas"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base}/api/agendas") as r:
            assert [a["title"] for a in (await r.json())["agendas"]] == ["First title"]
        (folder / "mine.yaml").write_text(
            "title: Second title\nitems:\n  - title: A\n    duration: 5m\n"
        )
        (folder / "more.yaml").write_text(
            "title: Another\nitems:\n  - title: B\n    duration: 3m\n"
        )
        titles: list[str] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            async with http.get(f"{server.base}/api/agendas") as r:
                titles = sorted(a["title"] for a in (await r.json())["agendas"])
            if titles == ["Another", "Second title"]:
                break
            await asyncio.sleep(0.2)
        assert titles == ["Another", "Second title"]
        async with http.get(f"{server.base}/") as r:
            page = await r.text()
        assert "Second title" in page and "First title" not in page


async def test_links_ignore_a_forged_host_header(server: ServerProcess) -> None:
    headers = {"Host": "evil.example"}
    # The form redirects to a page only its creator's cookie opens (an IP host needs unsafe=True).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        body = {"agenda": "quick-check-in"}
        async with http.post(f"{server.base}/api/meetings", json=body, headers=headers) as r:
            assert r.status == 201
            data = await r.json()
        form = {"agenda": "quick-check-in"}
        async with http.post(f"{server.base}/meetings", data=form, headers=headers) as r:
            page = await r.text()
    assert data["participant_url"].startswith(f"{server.base}/m/")
    assert data["facilitator_url"].startswith(f"{server.base}/m/")
    assert "evil.example" not in page and f"{server.base}/m/" in page


async def test_a_full_disk_gets_a_friendly_page_with_the_headers(server: ServerProcess) -> None:
    assert server.proc is not None
    # Writes past the first byte of any file fail (EFBIG), as they would on a full disk.
    _, hard = resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (1, hard))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.base}/meetings", data={"agenda": "network-night"}) as r:
                assert r.status == 503
                assert r.headers["X-Frame-Options"] == "DENY"
                assert "Content-Security-Policy" in r.headers
                assert "disk may be full" in await r.text()
            body = {"agenda": "network-night"}
            async with http.post(f"{server.base}/api/meetings", json=body) as r:
                assert r.status == 503
                assert (await r.json())["error"] == "store-failed"
    finally:
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))
    async with aiohttp.ClientSession() as http, http.get(f"{server.base}/") as r:
        assert r.status == 200


async def test_a_creation_key_can_be_required(tmp_path: Path) -> None:
    for server in running_server(tmp_path, extra=["--create-key", "s3cret"]):
        url = f"{server.base}/api/meetings"
        body = {"agenda": "quick-check-in"}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(url, json=body) as r:
                assert r.status == 403
                assert "creation key" in (await r.json())["message"]
            async with http.post(url, json=body, headers={"X-Create-Key": "wrong"}) as r:
                assert r.status == 403
            async with http.post(url, json=body, headers={"X-Create-Key": "s3cret"}) as r:
                assert r.status == 201
            async with http.post(url, json={**body, "create_key": "s3cret"}) as r:
                assert r.status == 201
            async with http.get(f"{server.base}/") as r:
                assert 'name="create_key"' in await r.text()
            form = {"agenda": "quick-check-in"}
            async with http.post(f"{server.base}/meetings", data=form) as r:
                assert r.status == 403
                assert "creation key is not right" in await r.text()
            async with http.post(
                f"{server.base}/meetings", data={**form, "create_key": "s3cret"}
            ) as r:
                assert r.status == 200
                assert "/m/" in await r.text()


async def test_data_files_are_private(server: ServerProcess) -> None:
    assert stat.S_IMODE(server.data.stat().st_mode) == 0o700
    files = list(server.data.iterdir())
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def children(pid: int) -> list[int]:
    """The process ids whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def cmdline(pid: int) -> bytes:
    """A process's command line (empty once it is gone)."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    return b""


def nice_of(pid: int) -> int:
    """A process's nice value (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


async def test_the_agenda_parser_ends_with_a_killed_server(server: ServerProcess) -> None:
    assert server.proc is not None
    async with aiohttp.ClientSession() as http:
        body = {"yaml": "title: T\nitems:\n  - title: A\n    duration: 5m\n"}
        async with http.post(f"{server.base}/api/agendas/check", json=body) as r:
            assert r.status == 200
    workers = children(server.proc.pid)
    assert workers, "the parse ran in no worker process"
    # The worker yields the CPU to the server's event loop (a lower priority: a higher nice).
    parsers = [p for p in workers if b"resource_tracker" not in cmdline(p)]
    assert parsers
    for pid in parsers:
        assert nice_of(pid) >= nice_of(server.proc.pid) + 10, (nice_of(pid), cmdline(pid))
    server.kill()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert not alive, f"parser processes outlived the server: {alive}"


async def test_a_parse_over_its_budget_is_ended_with_a_clear_error(tmp_path: Path) -> None:
    for server in running_server(tmp_path, env={PARSE_SECONDS_ENV: "0.3"}):
        assert server.proc is not None
        url = f"{server.base}/api/agendas/check"
        small = {"yaml": "title: T\nitems:\n  - title: A\n    duration: 5m\n"}
        slow = {"yaml": "title: X\nitems: [" + "1," * 32_000 + "]\n"}  # about a second
        async with aiohttp.ClientSession() as http:
            # Starting the worker process is not part of the budget: a small agenda passes.
            async with http.post(url, json=small) as r:
                assert (await r.json())["ok"] is True
            parsers = [
                p for p in children(server.proc.pid) if b"resource_tracker" not in cmdline(p)
            ]
            assert parsers
            started = time.monotonic()
            async with http.post(url, json=slow) as r:
                data = await r.json()
            assert time.monotonic() - started < 1.5
            assert data["ok"] is False and data["errors"] == [TOO_LONG]
            # The worker that ran over is ended, and a fresh one checks the next agenda.
            deadline = time.monotonic() + 10
            while any(Path(f"/proc/{pid}").exists() for pid in parsers):
                assert time.monotonic() < deadline, "the parse outlived its budget"
                await asyncio.sleep(0.1)
            async with http.post(url, json=small) as r:
                assert (await r.json())["ok"] is True
        assert "ran over 0.3s" in server.log()


async def refused_early(port: int, length: int, send: int) -> tuple[bytes, float]:
    """Post ``send`` bytes of a ``length``-byte body from ATTACKER; the server's status line (if
    it arrived) and the seconds until the server ended the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
    head = (
        f"POST /api/agendas/check HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    writer.write(head.encode() + b'{"yaml": "' + b"a" * (send - 10))
    started = time.monotonic()
    status = b""  # a reset can overtake the answer: the body was still coming
    try:
        async with asyncio.timeout(8):
            status = await reader.readline()
            while await reader.read(65536):  # the rest of the answer, then the end
                pass
    except ConnectionError:
        pass
    finally:
        writer.close()
    return status, time.monotonic() - started


async def test_refused_large_bodies_are_not_read(server: ServerProcess, peers: MakePeer) -> None:
    # Reading the rest of a refused 900 KB body (to throw it away) kept the event loop busy:
    # the server answers and hangs up instead, and the sender's bytes stop mattering.
    ana = peers(server.participant, "Ana")
    await ana.join()
    status, seconds = await refused_early(server.port, 900_000, 600_000)
    assert status in (b"", b"HTTP/1.1 413 Request Entity Too Large\r\n"), status
    assert seconds < 3, f"the connection stayed open {seconds:.1f} s after the answer"
    async with attacker_session() as http:
        for _ in range(40):  # the agenda checks' budget (bursts of 30)
            async with http.post(f"{server.base}/api/agendas/check", json={"yaml": "a: 1"}):
                pass
    status, seconds = await refused_early(server.port, 900_000, 100_000)
    assert status in (b"", b"HTTP/1.1 429 Too Many Requests\r\n"), status
    assert seconds < 3, f"the connection stayed open {seconds:.1f} s after the answer"
    await ping_round_trip(ana)
