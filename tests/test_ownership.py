"""Meeting ownership in the server: a meeting runs where its lease is, and nowhere else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from unittest import mock

import pytest

from facilitator.domain.retention import DAY
from facilitator.library import Library, load_library
from facilitator.server import ownership
from facilitator.server.app import node_of
from facilitator.server.forwarded import owner_of
from facilitator.server.keys import Config
from facilitator.server.ownership import MeetingElsewhere, keep_leases
from facilitator.server.rooms import Rooms
from facilitator.store import SqliteStore
from facilitator.store.leases import Leases, Node, Renewal

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(ROOT / "agendas", ROOT / "icebreakers")


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    """Two processes' connections to one database file."""
    one, two = (SqliteStore(tmp_path / "shared.sqlite3") for _ in range(2))
    await one.open()
    await two.open()
    yield one, two
    await one.close()
    await two.close()


def node_rooms(store: SqliteStore, name: str, seconds: float = 6.0) -> Rooms:
    leases = Leases(store, Node(name, f"http://{name}"), seconds)
    return Rooms(store, now=lambda: NOW, leases=leases)


async def test_a_new_meeting_runs_where_its_first_request_goes(
    stores: tuple[SqliteStore, SqliteStore], library: Library
) -> None:
    a, b = node_rooms(stores[0], "a"), node_rooms(stores[1], "b")
    room, _ = await a.create(library.agendas["quick-check-in"], library.decks)
    mid = room.meeting.id
    assert a.live_ids() == []  # created, not run: the proxy decides where it runs
    assert await b.get(mid) is not None
    assert b.live_ids() == [mid]
    lease = await stores[0].lease_of(mid)
    assert lease is not None and lease.owner == "b"
    assert await b.get("no-such-meeting") is None


async def test_a_live_owner_keeps_its_meeting(
    stores: tuple[SqliteStore, SqliteStore], library: Library
) -> None:
    a = node_rooms(stores[0], "a")
    b = node_rooms(stores[1], "b", seconds=0.5)  # b waits about one (short) lease of its own
    room, _ = await a.create(library.agendas["quick-check-in"], library.decks)
    assert await a.get(room.meeting.id) is not None
    with pytest.raises(MeetingElsewhere):
        await b.get(room.meeting.id)
    assert b.live_ids() == []
    lease = await stores[0].lease_of(room.meeting.id)
    assert lease is not None and lease.owner == "a" and lease.wanted_by == "b"


async def test_a_node_whose_lease_ran_out_stops_and_cannot_overwrite(
    stores: tuple[SqliteStore, SqliteStore], library: Library
) -> None:
    a, b = node_rooms(stores[0], "a", seconds=0.3), node_rooms(stores[1], "b")
    created, _ = await a.create(library.agendas["quick-check-in"], library.decks)
    mid = created.meeting.id
    room_a = await a.get(mid)
    assert room_a is not None
    await asyncio.sleep(0.4)  # a stalled: its lease ran out, and b was sent the meeting
    assert await b.get(mid) is not None
    room_a.meeting.arrive("f", "Fay", "facilitator", NOW)
    room_a.changed()
    assert not await a.save(room_a)
    assert a.live_ids() == [] and b.live_ids() == [mid]
    assert a.storage.ok  # not a storage failure: the meeting is simply elsewhere
    stored = await stores[1].load_meeting(mid)
    assert stored is not None
    assert [p["id"] for p in stored.snapshot["people"]] == []  # a's change was not written


async def test_a_wanted_meeting_is_saved_and_handed_over(
    stores: tuple[SqliteStore, SqliteStore], library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ownership, "RENEW_SECONDS", 0.1)
    a, b = node_rooms(stores[0], "a"), node_rooms(stores[1], "b")
    created, _ = await a.create(library.agendas["quick-check-in"], library.decks)
    mid = created.meeting.id
    room_a = await a.get(mid)
    assert room_a is not None and a.leases is not None
    room_a.meeting.arrive("f", "Fay", "facilitator", NOW)
    room_a.changed()  # not saved yet when b asks for it
    renewing = asyncio.create_task(keep_leases(a, a.leases))
    try:
        room_b = await asyncio.wait_for(b.get(mid), 5)
    finally:
        renewing.cancel()
    assert room_b is not None and "f" in room_b.meeting.people
    assert a.live_ids() == [] and b.live_ids() == [mid]
    lease = await stores[0].lease_of(mid)
    assert lease is not None and lease.owner == "b" and lease.wanted_by is None


async def renewing_node(
    store: SqliteStore, library: Library, monkeypatch: pytest.MonkeyPatch
) -> tuple[Rooms, str, asyncio.Task[None]]:
    """Node "a" with one running meeting, renewing its 1 s lease every 0.1 s."""
    monkeypatch.setattr(ownership, "RENEW_SECONDS", 0.1)
    a = node_rooms(store, "a", seconds=1.0)
    created, _ = await a.create(library.agendas["quick-check-in"], library.decks)
    mid = created.meeting.id
    assert await a.get(mid) is not None and a.leases is not None
    return a, mid, asyncio.create_task(keep_leases(a, a.leases))


async def test_a_short_database_outage_is_survived_a_long_one_stops_the_meeting(
    stores: tuple[SqliteStore, SqliteStore], library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, mid, renewing = await renewing_node(stores[0], library, monkeypatch)
    try:
        await asyncio.sleep(0.3)
        stores[0].db.execute("PRAGMA query_only = ON")  # every renewal fails from now on
        await asyncio.sleep(0.3)
        assert a.live_ids() == [mid]  # the lease has not run out yet: keep going
        stores[0].db.execute("PRAGMA query_only = OFF")
        await asyncio.sleep(0.3)
        stores[0].db.execute("PRAGMA query_only = ON")
        await asyncio.sleep(1.2)
        assert a.live_ids() == []  # stopped before its lease could run out
    finally:
        renewing.cancel()
        stores[0].db.execute("PRAGMA query_only = OFF")
    lease = await stores[0].lease_of(mid)
    assert lease is not None and lease.owner == "a"


async def test_a_renewal_that_hangs_stops_the_meeting_before_its_lease_runs_out(
    stores: tuple[SqliteStore, SqliteStore], library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, mid, renewing = await renewing_node(stores[0], library, monkeypatch)
    try:
        await asyncio.sleep(0.3)
        assert a.live_ids() == [mid]
        stuck = asyncio.Event()
        hung_at = time.monotonic()

        async def hang(meeting_id: str) -> Renewal:
            await stuck.wait()  # a database that never answers
            raise AssertionError("unreachable")

        assert a.leases is not None
        monkeypatch.setattr(a.leases, "renew", hang)
        while a.live_ids() and time.monotonic() - hung_at < 3:
            await asyncio.sleep(0.02)
        # Stopped within the lease (1 s after the last renewal that worked), not never.
        assert a.live_ids() == []
        assert time.monotonic() - hung_at < 1.0
    finally:
        renewing.cancel()


def worker_rooms(store: SqliteStore, node_url: str, worker: int, seconds: float = 6.0) -> Rooms:
    """Worker ``worker`` of two of one node, as ``create_app`` makes its rooms."""
    node = node_of(Config(node_url=node_url, worker=worker, workers=2))
    assert node is not None
    return Rooms(store, now=lambda: NOW, leases=Leases(store, node, seconds))


async def test_two_workers_of_one_node_never_both_run_a_meeting(
    stores: tuple[SqliteStore, SqliteStore], library: Library
) -> None:
    url = "http://node1:8080"
    assert node_of(Config(node_url=url)) == Node(url, url)
    assert node_of(Config()) is None
    ids = {node_of(Config(node_url=url, worker=w, workers=2)) for w in (0, 1)}
    assert {n.url for n in ids if n} == {url} and len({n.id for n in ids if n}) == 2
    first, second = worker_rooms(stores[0], url, 0), worker_rooms(stores[1], url, 1, 0.1)
    created, _ = await first.create(library.agendas["quick-check-in"], library.decks)
    mid = created.meeting.id
    assert await first.get(mid) is not None
    with pytest.raises(MeetingElsewhere):  # the lease says no, whatever the routing does
        await second.get(mid)
    assert second.live_ids() == []
    # Worker 0 started again (its old process is gone) takes its meeting back at once.
    again = worker_rooms(stores[1], url, 0)
    assert await asyncio.wait_for(again.get(mid), 0.5) is not None
    lease = await stores[0].lease_of(mid)
    assert lease is not None and lease.owner == f"{url} worker 0" and lease.url == url


async def test_each_worker_expires_only_the_meetings_it_serves(
    stores: tuple[SqliteStore, SqliteStore], library: Library
) -> None:
    later = time.time() + 400 * DAY  # every meeting is long past its keep

    def worker(index: int) -> Rooms:
        return Rooms(stores[index], now=lambda: later, owns=lambda mid: owner_of(mid, 2) == index)

    workers = [worker(0), worker(1)]
    made: dict[int, list[str]] = {0: [], 1: []}
    while len(made[0]) < 2 or not made[1]:
        created, _ = await workers[1].create(library.agendas["quick-check-in"], library.decks)
        made[owner_of(created.meeting.id, 2)].append(created.meeting.id)
    busy = made[0][0]
    room = await workers[0].get(busy)
    assert room is not None
    room.clients.add(mock.Mock())  # someone is in it now: only worker 0's memory knows
    assert sorted(await workers[1].expire(30)) == sorted(made[1])
    assert await stores[0].load_meeting(busy) is not None
    assert sorted(await workers[0].expire(30)) == sorted(made[0][1:])
    assert await stores[0].load_meeting(busy) is not None
    assert workers[0].live_ids() == [busy]
