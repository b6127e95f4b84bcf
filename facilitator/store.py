"""SQLite storage for meetings and sessions, with every write off the event loop.

One thread owns the connection and runs every query in order, so the event loop never waits
on the disk and writes never interleave. The meeting itself is stored as a JSON snapshot
(agenda, clock deadlines, people and roles, removals, chat, event log): restoring it after a
crash gives back the meeting with the downtime counted as elapsed time.
"""

from __future__ import annotations

import asyncio
import errno
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

UNJOINED_SESSION_SECONDS = 24 * 3600
"""A session whose browser never joined the meeting is forgotten after a day."""
SESSION_SECONDS = 30 * 24 * 3600
"""Every session is forgotten when its cookie has expired (the cookie lives 30 days)."""

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
    created_at REAL NOT NULL,
    joined INTEGER NOT NULL DEFAULT 0
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
        # Deleted rows are overwritten with zeros, not just unlinked (see ``purge``).
        db.execute("PRAGMA secure_delete=ON")
        db.executescript(SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
        if "joined" not in columns:  # a database from before sessions were cleaned up
            db.execute("ALTER TABLE sessions ADD COLUMN joined INTEGER NOT NULL DEFAULT 1")
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

    async def save_snapshot(self, meeting_id: str, snapshot: str | dict[str, Any]) -> None:
        """Replace a meeting's snapshot; a dict is turned into JSON on the store's thread.

        A dict must not change after it is handed over (``Meeting.to_dict`` builds a fresh
        one). Raises ``sqlite3.Error`` or ``OSError`` when it cannot be written.
        """

        def update() -> None:
            text = snapshot if isinstance(snapshot, str) else json.dumps(snapshot)
            self.db.execute(
                "UPDATE meetings SET snapshot = ?, updated_at = ? WHERE id = ?",
                (text, time.time(), meeting_id),
            )

        await self._run(update)

    async def purge(self) -> None:
        """Move everything into the database file and empty the write-ahead log.

        Called after deletions: with ``secure_delete`` the freed pages are zeroed in the
        database file, and the old copies of those pages in the WAL are gone with it.
        """

        def checkpoint() -> None:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._run(checkpoint)

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
        await self.purge()

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
        await self._run(self._upsert_session, session)

    def _upsert_session(self, session: Session) -> None:
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

    async def claim_session(self, session: Session) -> Session:
        """Record that a session's browser joined, creating its row if it has none yet.

        Returns the stored session: when another tab of the same browser got there first,
        its person is the one this browser is.
        """

        def claim() -> Session:
            self.db.execute(
                "INSERT INTO sessions"
                " (token_hash, meeting_id, person_id, facilitator, created_at, joined)"
                " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(token_hash) DO UPDATE SET joined = 1",
                (
                    session.token_hash,
                    session.meeting_id,
                    session.person_id,
                    int(session.facilitator),
                    time.time(),
                ),
            )
            stored = self._select_session(session.token_hash, session.meeting_id)
            assert stored is not None
            return stored

        return await self._run(claim)

    async def person_has_other_session(self, session: Session) -> bool:
        """True when another token already speaks for this session's person."""

        def select() -> bool:
            row = self.db.execute(
                "SELECT 1 FROM sessions WHERE meeting_id = ? AND person_id = ? AND token_hash != ?",
                (session.meeting_id, session.person_id, session.token_hash),
            ).fetchone()
            return row is not None

        return await self._run(select)

    async def delete_session(self, token_hash: str) -> None:
        """Forget one session."""

        def delete() -> None:
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

        await self._run(delete)

    async def replace_session(self, old_hash: str, session: Session) -> None:
        """Give a session a new token (the old one stops working), e.g. on a role change."""

        def replace() -> None:
            with self.db:
                self.db.execute("BEGIN")
                self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (old_hash,))
                self._upsert_session(session)

        await self._run(replace)

    async def count_sessions(self, meeting_id: str) -> int:
        """How many sessions one meeting has."""

        def count() -> int:
            row = self.db.execute(
                "SELECT COUNT(*) FROM sessions WHERE meeting_id = ?", (meeting_id,)
            ).fetchone()
            return int(row[0])

        return await self._run(count)

    async def forget_old_sessions(self, now: float | None = None) -> int:
        """Delete participants' sessions that never joined within a day, and expired ones
        (a facilitator's lasts until its cookie expires); return how many."""

        def delete() -> int:
            at = time.time() if now is None else now
            cursor = self.db.execute(
                "DELETE FROM sessions WHERE (joined = 0 AND facilitator = 0 AND created_at < ?)"
                " OR created_at < ?",
                (at - UNJOINED_SESSION_SECONDS, at - SESSION_SECONDS),
            )
            return cursor.rowcount

        return await self._run(delete)

    async def load_session(self, token_hash: str, meeting_id: str) -> Session | None:
        """Find a browser's session in one meeting."""

        return await self._run(self._select_session, token_hash, meeting_id)

    def _select_session(self, token_hash: str, meeting_id: str) -> Session | None:
        row = self.db.execute(
            "SELECT token_hash, meeting_id, person_id, facilitator FROM sessions"
            " WHERE token_hash = ? AND meeting_id = ?",
            (token_hash, meeting_id),
        ).fetchone()
        return Session(row[0], row[1], row[2], bool(row[3])) if row else None


def is_disk_full(exc: BaseException) -> bool:
    """True when a store error means the disk (or the database) has no room left."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()
    return False
