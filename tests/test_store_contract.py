"""What every store engine does the same: SQLite and PostgreSQL run each of these tests.

Meetings, sessions, migrations and leases (one owner at a time, taken atomically).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from facilitator.store import (
    SESSION_SECONDS,
    UNJOINED_SESSION_SECONDS,
    LeaseLost,
    SchemaTooNew,
    Session,
    SqliteStore,
    Store,
    is_shared,
    open_store,
)
from facilitator.store.leases import Leases, Node, Renewal

StoreMaker = Callable[[], Store]


@pytest.fixture
def make_store(database: str, tmp_path: Path) -> StoreMaker:
    """Stores on that database: each call is another connection to it."""
    return lambda: open_store(database, tmp_path / "data")


@pytest.fixture
async def store(make_store: StoreMaker) -> AsyncIterator[Store]:
    store = make_store()
    await store.open()
    yield store
    await store.close()


async def test_the_url_picks_the_engine(tmp_path: Path) -> None:
    assert isinstance(open_store(None, tmp_path), SqliteStore)
    default = open_store(None, tmp_path)
    assert isinstance(default, SqliteStore) and default.path == tmp_path / "facilitator.sqlite3"
    plain = open_store(str(tmp_path / "x.db"), tmp_path)
    assert isinstance(plain, SqliteStore) and plain.path == tmp_path / "x.db"
    url = open_store(f"sqlite://{tmp_path}/y.db", tmp_path)
    assert isinstance(url, SqliteStore) and url.path == tmp_path / "y.db"
    for store in (default, plain, url):
        await store.close()


async def test_snapshots_may_be_handed_over_as_dicts(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    await store.save_snapshot("m1", {"title": "Näme", "n": [1, 2]})
    stored = await store.load_meeting("m1")
    assert stored is not None and stored.snapshot == {"title": "Näme", "n": [1, 2]}
    assert stored.key_hash == "h"
    assert await store.load_meeting("m2") is None


async def test_claiming_a_session_stores_it_once(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    first = await store.claim_session(Session("t1", "m1", "p1", False))
    again = await store.claim_session(Session("t1", "m1", "p-other-tab", False))
    assert first == again == Session("t1", "m1", "p1", False)
    assert await store.count_sessions("m1") == 1


async def test_a_replaced_token_stops_working(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    await store.claim_session(Session("old", "m1", "p1", False))
    await store.replace_session("old", Session("new", "m1", "p1", True, "facilitator"))
    assert await store.load_session("old", "m1") is None
    stored = await store.load_session("new", "m1")
    assert stored == Session("new", "m1", "p1", True, "facilitator")
    assert await store.person_has_other_session(Session("old", "m1", "p1", False))
    assert not await store.person_has_other_session(Session("new", "m1", "p1", True))
    # A session that had joined stays joined under its new token: it lasts as long.
    assert await store.forget_old_sessions(time.time() + UNJOINED_SESSION_SECONDS + 1) == 0
    assert await store.load_session("new", "m1") is not None


async def test_unused_and_expired_sessions_are_forgotten(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    await store.save_session(Session("never-joined", "m1", "p1", False))
    # A facilitator link's page view that never joined goes after a day like any other.
    await store.save_session(Session("host-not-joined", "m1", "p2", True, "facilitator"))
    await store.claim_session(Session("joined", "m1", "p3", False))
    await store.claim_session(Session("creator", "m1", "p4", True, "facilitator"))
    now = time.time() + 1  # just after every session was created
    assert await store.forget_old_sessions(now) == 0
    assert await store.forget_old_sessions(now + UNJOINED_SESSION_SECONDS) == 2
    assert await store.load_session("never-joined", "m1") is None
    assert await store.load_session("host-not-joined", "m1") is None
    assert await store.load_session("joined", "m1") is not None
    assert await store.load_session("creator", "m1") is not None
    assert await store.forget_old_sessions(now + SESSION_SECONDS) == 2
    assert await store.count_sessions("m1") == 0


async def test_the_sessions_of_forgotten_people_are_deleted(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    await store.create_meeting("m2", "h", "{}")
    for token, meeting, person in [("a", "m1", "p1"), ("b", "m1", "p2"), ("c", "m2", "p1")]:
        await store.claim_session(Session(token, meeting, person, False))
    await store.delete_person_sessions("m1", ["p1", "nobody"])
    assert await store.load_session("a", "m1") is None
    assert await store.load_session("b", "m1") is not None
    assert await store.load_session("c", "m2") is not None


async def test_deleting_a_meeting_deletes_its_sessions(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    await store.create_meeting("m2", "h", "{}")
    await store.save_session(Session("t1", "m1", "p1", False))
    await store.save_session(Session("t2", "m2", "p1", False))
    await store.delete_meeting("m1")
    assert await store.load_meeting("m1") is None
    assert await store.count_sessions("m1") == 0
    assert await store.load_session("t2", "m2") is not None


async def test_meeting_times_read_the_snapshot(store: Store) -> None:
    await store.create_meeting("ended", "h", '{"clock": {"ended_at": 1700000123.5}}')
    await store.create_meeting("later", "h", '{"clock": {"ended_at": null}, "scheduled_at": 7}')
    before = time.time()
    await store.save_snapshot("later", {"clock": {"ended_at": None}, "scheduled_at": 1.7e9})
    times = {t.id: t for t in await store.meeting_times()}
    assert times["ended"].ended_at == 1700000123.5 and times["ended"].scheduled_at is None
    assert times["later"].ended_at is None and times["later"].scheduled_at == 1.7e9
    assert times["later"].updated_at >= before - 1


async def test_migrations_are_versioned_and_run_once(make_store: StoreMaker) -> None:
    first = make_store()
    before, after = await first.migrate()  # a new database: every migration
    assert before == 0 and after >= 2
    await first.create_meeting("m1", "h", "{}")
    await first.close()
    again = make_store()
    assert await again.migrate() == (after, after)
    assert await again.load_meeting("m1") is not None  # nothing was dropped
    await again.close()


async def test_a_database_from_a_newer_version_is_refused(
    make_store: StoreMaker, database: str
) -> None:
    store = make_store()
    _, version = await store.migrate()
    await store.close()
    _set_version(database, version + 1)  # as a newer facilitator would have left it
    refused = make_store()
    with pytest.raises(SchemaTooNew, match="schema version"):
        await refused.open()
    await refused.close()


def _set_version(database: str, version: int) -> None:
    if is_shared(database):
        import psycopg

        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("UPDATE schema_version SET version = %s", (version,))
    else:
        with sqlite3.connect(database.removeprefix("sqlite://")) as db:
            db.execute("UPDATE schema_version SET version = ?", (version,))


async def test_a_lease_has_one_owner_until_it_runs_out(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    assert await store.lease_of("m1") is None
    assert await store.take_lease("m1", "a", "http://a", 0.6)
    assert not await store.take_lease("m1", "b", "http://b", 6)
    assert await store.take_lease("m1", "a", "http://a", 0.6)  # renewing
    lease = await store.lease_of("m1")
    assert lease is not None and (lease.owner, lease.url) == ("a", "http://a")
    assert 0 < lease.expires_in <= 0.6
    await asyncio.sleep(0.7)
    assert await store.take_lease("m1", "b", "http://b", 6)  # a's ran out
    assert not await store.take_lease("m1", "a", "http://a", 6)
    assert not await store.take_lease("missing", "a", "http://a", 6)


async def test_saving_needs_the_lease_when_an_owner_is_given(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    assert await store.take_lease("m1", "a", "http://a", 6)
    await store.save_snapshot("m1", {"by": "a"}, owner="a")
    with pytest.raises(LeaseLost):
        await store.save_snapshot("m1", {"by": "b"}, owner="b")
    stored = await store.load_meeting("m1")
    assert stored is not None and stored.snapshot == {"by": "a"}


async def test_a_wanted_meeting_is_handed_over(store: Store) -> None:
    await store.create_meeting("m1", "h", "{}")
    a = Leases(store, Node("a", "http://a"))
    b = Leases(store, Node("b", "http://b"))
    assert await a.take("m1")
    assert await a.renew("m1") is Renewal.KEPT
    claim = asyncio.create_task(b.claim("m1", patience=5))
    await asyncio.sleep(0.3)
    assert await a.renew("m1") is Renewal.WANTED
    await a.release("m1")
    assert await claim
    assert await a.renew("m1") is Renewal.LOST
    lease = await store.lease_of("m1")
    assert lease is not None and lease.owner == "b" and lease.wanted_by is None
    assert await b.renew("m1") is Renewal.KEPT


async def test_a_lease_race_always_ends_with_exactly_one_owner(make_store: StoreMaker) -> None:
    one, two = make_store(), make_store()  # two connections, each on its own thread
    await one.open()
    await two.open()
    try:
        await one.create_meeting("m1", "h", "{}")
        for round_ in range(100):
            assert await one.take_lease("m1", f"dead-{round_}", "", -1.0)  # expired already
            won = await asyncio.gather(
                one.take_lease("m1", "one", "http://one", 6),
                two.take_lease("m1", "two", "http://two", 6),
            )
            assert sorted(won) == [False, True], f"round {round_}: {won}"
            lease = await one.lease_of("m1")
            assert lease is not None
            assert lease.owner == ("one" if won[0] else "two")
            assert not await (two if won[0] else one).take_lease(
                "m1", "two" if won[0] else "one", "", 6
            )
            # The winner lets it lapse at once, for the next round.
            assert await one.take_lease("m1", lease.owner, "", -1.0)
    finally:
        await one.close()
        await two.close()
