"""The SQLite store: deletions that leave nothing behind, old files, saves that fail and retry.

What every engine must do is in test_store_contract.py."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from facilitator.library import Library, load_library
from facilitator.server.rooms import Rooms
from facilitator.store import (
    UNJOINED_SESSION_SECONDS,
    Session,
    SqliteStore,
    is_disk_full,
)

ROOT = Path(__file__).resolve().parent.parent
SECRET = "okapi-secret-note-text"


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(ROOT / "agendas", ROOT / "icebreakers")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "data" / "facilitator.sqlite3")
    await store.open()
    yield store
    await store.close()


def files_with(folder: Path, text: str) -> list[str]:
    return [p.name for p in folder.iterdir() if p.is_file() and text.encode() in p.read_bytes()]


async def test_deleted_text_is_gone_from_the_database_and_the_wal(
    store: SqliteStore, tmp_path: Path
) -> None:
    await store.create_meeting("m1", "h", '{"notes": {}}')
    for version in range(10):
        await store.save_snapshot("m1", {"notes": {"p1": {"general": f"{SECRET} {version}"}}})
    assert files_with(tmp_path / "data", SECRET)  # the search finds it while it is there
    await store.save_snapshot("m1", {"notes": {}})
    await store.purge()
    assert files_with(tmp_path / "data", SECRET) == []
    assert (await store.load_meeting("m1")) is not None


async def test_a_deleted_meeting_leaves_nothing_readable(
    store: SqliteStore, tmp_path: Path
) -> None:
    chat = [{"text": f"chat line {i} {SECRET}"} for i in range(21)]
    await store.create_meeting("m1", "h", "{}")
    for _ in range(5):
        await store.save_snapshot("m1", {"chat": chat})
    await store.save_session(Session("t1", "m1", "p1", False))
    await store.delete_meeting("m1")
    assert files_with(tmp_path / "data", SECRET) == []
    assert files_with(tmp_path / "data", "chat line") == []
    assert await store.load_meeting("m1") is None
    assert await store.count_sessions("m1") == 0


async def test_an_old_database_gets_the_joined_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE meetings (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL,"
            " snapshot TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);"
            "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, meeting_id TEXT NOT NULL,"
            " person_id TEXT NOT NULL, facilitator INTEGER NOT NULL DEFAULT 0,"
            " created_at REAL NOT NULL);"
            "INSERT INTO meetings VALUES ('m1', 'h', '{}', 0, 0);"
            "INSERT INTO sessions VALUES ('t1', 'm1', 'p1', 0, 0);"
        )
    store = SqliteStore(path)
    await store.open()
    try:
        # Old rows count as joined: they last until their cookie expires, no longer.
        assert await store.forget_old_sessions(UNJOINED_SESSION_SECONDS + 10) == 0
        assert await store.load_session("t1", "m1") == Session("t1", "m1", "p1", False)
    finally:
        await store.close()


def test_disk_full_errors_are_recognised() -> None:
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_disk_full(sqlite3.OperationalError("no such table: x"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("full"))


async def test_a_failed_save_is_retried_not_marked_done(
    store: SqliteStore, library: Library
) -> None:
    rooms = Rooms(store, now=lambda: 1_700_000_000.0)
    room, _ = await rooms.create(library.agendas["quick-check-in"], library.decks)
    room.meeting.arrive("f", "Fay", "facilitator", 1_700_000_000.0)
    room.changed()
    assert await rooms.save(room)
    # A real "database or disk is full": the database may not grow by another page.
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    room.meeting.act("f", "chat", {"text": "x" * 1000}, 1_700_000_001.0)
    room.meeting.act("f", "note", {"about": "general", "text": "y" * 5000}, 1_700_000_001.0)
    room.changed()
    assert not await rooms.save(room)
    assert room.dirty and not rooms.storage.ok and not room.storage.ok
    await rooms.flush()  # still full: still changed, nothing lost
    assert room.dirty
    store.db.execute("PRAGMA max_page_count = 1073741823")
    await rooms.flush()
    assert not room.dirty and rooms.storage.ok
    stored = await store.load_meeting(room.meeting.id)
    assert stored is not None
    assert stored.snapshot["chat"][-1]["text"] == "x" * 1000
