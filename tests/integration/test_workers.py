"""``--workers 2``: a front on the public port, meetings on the worker that owns them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import urlopen

import aiohttp
import pytest

from facilitator.server.forwarded import address_worker, owner_of

from ..postgres import PostgresServer
from .cluster import free_port, get
from .harness import (
    SHARED_FLAGS,
    MakePeer,
    ServerProcess,
    SharedMeeting,
    running_server,
    sample,
    scrape,
)
from .test_failover import rejoin

TOKEN = "workers-metrics-token"
WORKER_FLAGS = ["--workers", "2", "--metrics", "--metrics-token", TOKEN]


@pytest.fixture
def workers_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A front with two workers, with the start-up meeting."""
    yield from running_server(tmp_path, extra=WORKER_FLAGS, start_timeout=90.0)


def worker_pid(front_pid: int, index: int) -> int:
    """The process id of worker ``index`` of a front (from /proc)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == front_pid and f"{index}/2".encode() in argv and b"--worker" in argv:
            return int(entry)
    raise AssertionError(f"no worker {index}")


def page_worker(url: str) -> int:
    """Which worker answered a page (its X-Facilitator-Worker header)."""
    with urlopen(url, timeout=10) as response:
        return int(response.headers["X-Facilitator-Worker"])


async def wait_ready(base: str, timeout: float = 60.0) -> None:
    """Until the front's /readyz says every worker is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urlopen(f"{base}/readyz", timeout=5) as response:
                if json.loads(response.read())["ok"]:
                    return
        except (HTTPError, OSError):
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("the workers did not become ready")


async def test_meetings_land_on_their_owner_and_a_killed_worker_comes_back(
    workers_server: ServerProcess, peers: MakePeer
) -> None:
    await wait_ready(workers_server.base)
    meetings = [SharedMeeting.create(workers_server) for _ in range(3)]
    while len({owner_of(m.meeting_id, 2) for m in meetings}) < 2:  # one on each, at least
        meetings.append(SharedMeeting.create(workers_server))
    owners = [owner_of(m.meeting_id, 2) for m in meetings]
    for meeting, owner in zip(meetings, owners, strict=True):
        assert page_worker(meeting.participant) == owner
        assert page_worker(f"{meeting.participant}/recap") == owner
    # Pages elsewhere go to either worker, in turn.
    assert {page_worker(f"{workers_server.base}/") for _ in range(4)} == {0, 1}

    joined = [peers(m.participant, f"Person {i}") for i, m in enumerate(meetings)]
    for peer in joined:
        assert (await peer.join())["type"] == "joined"
    samples = scrape(workers_server.base, TOKEN)
    for worker in (0, 1):
        mine = owners.count(worker)
        assert sample(samples, "facilitator_people_online", worker=str(worker)) == mine
        assert sample(samples, "facilitator_websockets_open", worker=str(worker)) == mine
        assert sample(samples, "facilitator_worker_up", worker=str(worker)) == 1

    # The facilitator starts the first meeting; its worker is killed mid-meeting.
    host = peers(meetings[0].facilitator, "Host")
    assert (await host.join())["type"] == "joined"
    await host.action("start")
    await host.action("next-item")
    await joined[0].action("chat", text="still here after the crash")
    await asyncio.sleep(0.4)  # saved within 0.1 s
    assert workers_server.proc is not None
    victim = owners[0]
    os.kill(worker_pid(workers_server.proc.pid, victim), signal.SIGKILL)
    await joined[0].wait_closed(10)
    await wait_ready(workers_server.base)
    samples = scrape(workers_server.base, TOKEN)
    assert sample(samples, "facilitator_worker_restarts_total", worker=str(victim)) == 1
    other = 1 - victim
    assert sample(samples, "facilitator_worker_restarts_total", worker=str(other)) == 0
    # The page reconnects and finds the meeting as it was.
    peer = joined[0]
    peer.ws = None
    peer.messages.clear()
    assert (await peer.join(timeout=10))["type"] == "joined"
    history = await peer.wait_for("chat-history")
    assert [m["text"] for m in history["value"]["messages"]] == ["still here after the crash"]
    state = await peer.fresh_state()
    assert state["clock"]["status"] == "running" and state["clock"]["index"] == 1
    # Meetings on the other worker never noticed.
    survivor = next(p for p, o in zip(joined, owners, strict=True) if o == other)
    assert survivor.ws is not None and not survivor.ws.closed
    assert (await survivor.ping())["type"] == "pong"


def create_from(base: str, source: str) -> int:
    """POST /api/meetings from the local address ``source``; the status."""
    parts = urlsplit(base)
    conn = HTTPConnection(parts.hostname or "", parts.port, timeout=10, source_address=(source, 0))
    try:
        body = json.dumps({"agenda": "network-night"})
        conn.request("POST", "/api/meetings", body, {"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_workers_see_the_client_address_through_the_front(
    workers_server: ServerProcess,
) -> None:
    # New meetings are limited per address (bursts of 10). One address uses its burst up; a
    # second address whose requests go to the same worker may still create: the worker told
    # them apart by the address the front passed on, not the front's own.
    first = "127.0.0.1"
    second = next(
        f"127.0.0.{n}"
        for n in range(2, 250)
        if address_worker(f"127.0.0.{n}", 2) == address_worker(first, 2)
    )
    statuses = [create_from(workers_server.base, first) for _ in range(11)]
    assert statuses[:10] == [201] * 10 and statuses[10] == 429
    assert create_from(workers_server.base, second) == 201
    assert create_from(workers_server.base, first) == 429


async def test_close_codes_and_origin_pass_through_the_front(
    workers_server: ServerProcess, peers: MakePeer
) -> None:
    meeting = SharedMeeting.create(workers_server)
    host = peers(meeting.facilitator, "Host")
    guest = peers(meeting.participant, "Guest")
    for peer in (host, guest):
        assert (await peer.join())["type"] == "joined"
    assert (await host.action("remove", person=guest.person_id()))["type"] == "ok"
    await guest.wait_closed(10)
    assert guest.ws is not None and guest.ws.close_code == 4403  # removed: do not reconnect
    # A page of another site may not open a meeting's WebSocket (the worker checks Origin).
    url = f"{workers_server.base}/m/{meeting.meeting_id}/ws"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await host.http.ws_connect(url, headers={"Origin": "https://elsewhere.example"})
    assert refused.value.status == 403


def leases_in(database: str) -> dict[str, tuple[str | None, str | None, bool]]:
    """Each stored meeting's lease in PostgreSQL: holder, its URL, and whether it is live."""
    import psycopg  # only where PostgreSQL runs (the postgres fixture skips without it)

    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT id, lease_owner, lease_url,"
            " coalesce(lease_expires > EXTRACT(EPOCH FROM clock_timestamp()), false)"
            " FROM meetings"
        ).fetchall()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


async def test_a_node_with_workers_on_postgresql_holds_its_meetings_under_leases(
    tmp_path: Path, postgres: PostgresServer, peers: MakePeer
) -> None:
    database = postgres.new_database()
    port = free_port()
    node_url = f"http://127.0.0.1:{port}"
    extra = ["--workers", "2", "--database", database, "--node-url", node_url, *SHARED_FLAGS]
    node = ServerProcess(
        tmp_path / "data", tmp_path / "node.log", agenda="", extra=extra, start_timeout=90.0
    )
    node.log_path.touch()
    node.start(port=port)
    try:
        await wait_ready(node.base)
        meetings = [SharedMeeting.create(node) for _ in range(2)]
        while len({owner_of(m.meeting_id, 2) for m in meetings}) < 2:  # one on each, at least
            meetings.append(SharedMeeting.create(node))
        expected = {}
        for meeting in meetings:
            worker = owner_of(meeting.meeting_id, 2)
            status, headers, _ = get(meeting.participant)
            assert status == 200
            assert headers["x-facilitator-worker"] == str(worker)
            assert headers["x-facilitator-node"] == node_url  # every worker answers as the node
            expected[meeting.meeting_id] = (f"{node_url} worker {worker}", node_url, True)
        # In PostgreSQL (not a SQLite file of the workers' own), each under its worker's lease.
        assert leases_in(database) == expected
        assert not list(node.data.glob("*.sqlite3*"))

        first = meetings[0]
        sam, ana = peers(first.facilitator, "Sam"), peers(first.participant, "Ana")
        for peer in (sam, ana):
            assert (await peer.join())["type"] == "joined"
        await sam.action("start")
        await sam.action("next-item")
        await ana.action("chat", text="still here after the restart")
        await asyncio.sleep(0.4)  # saved within 0.1 s

        node.terminate(timeout=30)  # a clean stop releases the leases
        assert not any(live for _, _, live in leases_in(database).values())
        node.restart()
        await wait_ready(node.base)
        for peer in (sam, ana):
            assert (await rejoin(peer, time.monotonic() + 15))["type"] == "joined"
        state = await sam.fresh_state(lambda s: len(s["people"]) == 2)
        assert state["clock"]["status"] == "running" and state["clock"]["index"] == 1
        history = await ana.wait_for("chat-history")
        assert [m["text"] for m in history["value"]["messages"]] == ["still here after the restart"]
        assert leases_in(database)[first.meeting_id] == expected[first.meeting_id]
    finally:
        if node.proc is not None and node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait(10)
