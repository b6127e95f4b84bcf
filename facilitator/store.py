"""SQLite storage for meetings and sessions, with every write off the event loop.

One thread owns the connection and runs every query in order, so the event loop never waits
on the disk and writes never interleave. The meeting itself is stored as a JSON snapshot
(agenda, clock deadlines, people and roles, removals, chat, event log): restoring it after a
crash gives back the meeting with the downtime counted as elapsed time.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    person_id TEXT NOT NULL,
    facilitator INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_meeting ON sessions(meeting_id);
"""


@dataclass(frozen=True)
class StoredMeeting:
    """A meeting row: its secret's hash and its latest snapshot."""

    id: str
    key_hash: str
    snapshot: dict[str, Any]


@dataclass(frozen=True)
class Session:
    """A browser's seat in one meeting: which person it is and whether it proved the key."""

    token_hash: str
    meeting_id: str
    person_id: str
    facilitator: bool


@dataclass(frozen=True)
class MeetingTimes:
    """What retention needs to know of a stored meeting."""

    id: str
    ended_at: float | None
    updated_at: float
    scheduled_at: float | None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class Store:
    """The SQLite database under ``--data``; every method is a coroutine run on one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create the folder, the file and the tables if needed."""
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
        self._db = db

    async def close(self) -> None:
        """Finish pending writes and close the database."""
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection (only ever used on the store's thread)."""
        assert self._db is not None, "Store.open() first"
        return self._db

    # Meetings

    async def create_meeting(self, meeting_id: str, key_hash: str, snapshot: str) -> None:
        """Insert a new meeting."""

        def insert() -> None:
            now = time.time()
            self.db.execute(
                "INSERT INTO meetings (id, key_hash, snapshot, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (meeting_id, key_hash, snapshot, now, now),
            )

        await self._run(insert)

    async def save_snapshot(self, meeting_id: str, snapshot: str) -> None:
        """Replace a meeting's snapshot."""

        def update() -> None:
            self.db.execute(
                "UPDATE meetings SET snapshot = ?, updated_at = ? WHERE id = ?",
                (snapshot, time.time(), meeting_id),
            )

        await self._run(update)

    async def load_meeting(self, meeting_id: str) -> StoredMeeting | None:
        """Read one meeting, or None."""

        def select() -> StoredMeeting | None:
            row = self.db.execute(
                "SELECT id, key_hash, snapshot FROM meetings WHERE id = ?", (meeting_id,)
            ).fetchone()
            return StoredMeeting(row[0], row[1], json.loads(row[2])) if row else None

        return await self._run(select)

    async def delete_meeting(self, meeting_id: str) -> None:
        """Delete a meeting and everything stored for it."""

        def delete() -> None:
            self.db.execute("DELETE FROM sessions WHERE meeting_id = ?", (meeting_id,))
            self.db.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))

        await self._run(delete)

    async def meeting_times(self) -> list[MeetingTimes]:
        """When each stored meeting ended (if it did), was last saved, and was scheduled for."""

        def select() -> list[MeetingTimes]:
            rows = self.db.execute(
                "SELECT id, json_extract(snapshot, '$.clock.ended_at'), updated_at,"
                " json_extract(snapshot, '$.scheduled_at') FROM meetings"
            ).fetchall()
            return [MeetingTimes(str(r[0]), _float(r[1]), float(r[2]), _float(r[3])) for r in rows]

        return await self._run(select)

    # Sessions

    async def save_session(self, session: Session) -> None:
        """Insert or update a session."""

        def upsert() -> None:
            self.db.execute(
                "INSERT INTO sessions (token_hash, meeting_id, person_id, facilitator, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(token_hash) DO UPDATE SET"
                " facilitator = excluded.facilitator",
                (
                    session.token_hash,
                    session.meeting_id,
                    session.person_id,
                    int(session.facilitator),
                    time.time(),
                ),
            )

        await self._run(upsert)

    async def load_session(self, token_hash: str, meeting_id: str) -> Session | None:
        """Find a browser's session in one meeting."""

        def select() -> Session | None:
            row = self.db.execute(
                "SELECT token_hash, meeting_id, person_id, facilitator FROM sessions"
                " WHERE token_hash = ? AND meeting_id = ?",
                (token_hash, meeting_id),
            ).fetchone()
            return Session(row[0], row[1], row[2], bool(row[3])) if row else None

        return await self._run(select)
