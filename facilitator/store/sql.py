"""The queries both engines share, run in order on one thread of the store's own.

One thread owns the connection and runs every query in order, so the event loop never waits
on the database and writes never interleave. Queries are written with ``?`` placeholders;
an engine translates them when its driver wants another style.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from .base import (
    SESSION_SECONDS,
    UNJOINED_SESSION_SECONDS,
    Lease,
    LeaseLost,
    MeetingTimes,
    Session,
    Store,
    StoredMeeting,
)

T = TypeVar("T")


class Cursor(Protocol):
    """What the store reads of a query's result (sqlite3's and psycopg's cursors agree)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class SqlStore(Store):
    """A ``Store`` over one database connection used only on the store's thread."""

    NOW_SQL = ""
    """The database's clock in seconds since the epoch, as an SQL expression (for leases)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    TIMES_QUERY = ""
    """Each meeting's id, clock.ended_at, updated_at and scheduled_at (JSON reads differ)."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement (``?`` placeholders) on the store's thread."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Statements inside this block are committed together, or not at all."""

    def shutdown(self) -> None:
        """Stop the store's thread once pending work is done."""
        self._executor.shutdown(wait=True)

    # Meetings

    async def create_meeting(self, meeting_id: str, key_hash: str, snapshot: str) -> None:
        """Insert a new meeting."""

        def insert() -> None:
            now = time.time()
            self.execute(
                "INSERT INTO meetings (id, key_hash, snapshot, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (meeting_id, key_hash, snapshot, now, now),
            )

        await self._run(insert)

    async def save_snapshot(
        self, meeting_id: str, snapshot: str | dict[str, Any], owner: str | None = None
    ) -> None:
        """Replace a meeting's snapshot (only while ``owner`` holds its lease, if given)."""

        def update() -> None:
            text = snapshot if isinstance(snapshot, str) else json.dumps(snapshot)
            if owner is None:
                self.execute(
                    "UPDATE meetings SET snapshot = ?, updated_at = ? WHERE id = ?",
                    (text, time.time(), meeting_id),
                )
                return
            cursor = self.execute(
                "UPDATE meetings SET snapshot = ?, updated_at = ? WHERE id = ? AND lease_owner = ?",
                (text, time.time(), meeting_id, owner),
            )
            if cursor.rowcount != 1:
                raise LeaseLost(f"meeting {meeting_id[:6]} is no longer ours")

        await self._run(update)

    async def load_meeting(self, meeting_id: str) -> StoredMeeting | None:
        """Read one meeting, or None."""

        def select() -> StoredMeeting | None:
            row = self.execute(
                "SELECT id, key_hash, snapshot FROM meetings WHERE id = ?", (meeting_id,)
            ).fetchone()
            return StoredMeeting(row[0], row[1], json.loads(row[2])) if row else None

        return await self._run(select)

    async def delete_meeting(self, meeting_id: str) -> None:
        """Delete a meeting and everything stored for it."""

        def delete() -> None:
            with self.transaction():
                self.execute("DELETE FROM sessions WHERE meeting_id = ?", (meeting_id,))
                self.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))

        await self._run(delete)
        await self.purge()

    # Sessions

    async def save_session(self, session: Session) -> None:
        """Insert or update a session."""
        await self._run(self._upsert_session, session)

    def _upsert_session(self, session: Session, joined: bool = False) -> None:
        self.execute(
            "INSERT INTO sessions"
            " (token_hash, meeting_id, person_id, facilitator, role, created_at, joined)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(token_hash) DO UPDATE SET"
            " facilitator = excluded.facilitator, role = excluded.role",
            (
                session.token_hash,
                session.meeting_id,
                session.person_id,
                int(session.facilitator),
                session.role,
                time.time(),
                int(joined),
            ),
        )

    async def claim_session(self, session: Session) -> Session:
        """Record that a session's browser joined; return the stored session."""

        def claim() -> Session:
            self.execute(
                "INSERT INTO sessions"
                " (token_hash, meeting_id, person_id, facilitator, role, created_at, joined)"
                " VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT(token_hash) DO UPDATE SET joined = 1",
                (
                    session.token_hash,
                    session.meeting_id,
                    session.person_id,
                    int(session.facilitator),
                    session.role,
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
            row = self.execute(
                "SELECT 1 FROM sessions WHERE meeting_id = ? AND person_id = ? AND token_hash != ?",
                (session.meeting_id, session.person_id, session.token_hash),
            ).fetchone()
            return row is not None

        return await self._run(select)

    async def delete_session(self, token_hash: str) -> None:
        """Forget one session."""

        def delete() -> None:
            self.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

        await self._run(delete)

    async def replace_session(self, old_hash: str, session: Session) -> None:
        """Give a session a new token (the old one stops working), e.g. on a role change."""

        def replace() -> None:
            with self.transaction():
                row = self.execute(
                    "SELECT joined FROM sessions WHERE token_hash = ?", (old_hash,)
                ).fetchone()
                self.execute("DELETE FROM sessions WHERE token_hash = ?", (old_hash,))
                self._upsert_session(session, joined=bool(row and row[0]))

        await self._run(replace)

    async def delete_person_sessions(self, meeting_id: str, person_ids: list[str]) -> None:
        """Forget every session of these people (the meeting forgot them)."""

        def delete() -> None:
            for person_id in person_ids:
                self.execute(
                    "DELETE FROM sessions WHERE meeting_id = ? AND person_id = ?",
                    (meeting_id, person_id),
                )

        await self._run(delete)

    async def count_sessions(self, meeting_id: str) -> int:
        """How many sessions one meeting has."""

        def count() -> int:
            row = self.execute(
                "SELECT COUNT(*) FROM sessions WHERE meeting_id = ?", (meeting_id,)
            ).fetchone()
            return int(row[0])

        return await self._run(count)

    async def forget_old_sessions(self, now: float | None = None) -> int:
        """Delete sessions never joined within a day, and expired ones; return how many."""

        def delete() -> int:
            at = time.time() if now is None else now
            cursor = self.execute(
                "DELETE FROM sessions WHERE (joined = 0 AND created_at < ?) OR created_at < ?",
                (at - UNJOINED_SESSION_SECONDS, at - SESSION_SECONDS),
            )
            return cursor.rowcount

        return await self._run(delete)

    async def load_session(self, token_hash: str, meeting_id: str) -> Session | None:
        """Find a browser's session in one meeting."""
        return await self._run(self._select_session, token_hash, meeting_id)

    def _select_session(self, token_hash: str, meeting_id: str) -> Session | None:
        row = self.execute(
            "SELECT token_hash, meeting_id, person_id, facilitator, role, joined FROM sessions"
            " WHERE token_hash = ? AND meeting_id = ?",
            (token_hash, meeting_id),
        ).fetchone()
        if row is None:
            return None
        return Session(row[0], row[1], row[2], bool(row[3]), str(row[4] or ""), bool(row[5]))

    # Leases

    async def take_lease(self, meeting_id: str, node: str, url: str, seconds: float) -> bool:
        """Take or renew a lease: one UPDATE, and its row count says whether it worked."""

        def update() -> bool:
            now = self.NOW_SQL
            cursor = self.execute(
                f"UPDATE meetings SET lease_owner = ?, lease_url = ?, lease_expires = {now} + ?,"
                " lease_wanted = CASE WHEN lease_wanted = ? THEN NULL ELSE lease_wanted END"
                " WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ?"
                f" OR lease_expires < {now})",
                (node, url, seconds, node, meeting_id, node),
            )
            return cursor.rowcount == 1

        return await self._run(update)

    async def want_lease(self, meeting_id: str, node: str) -> None:
        """Ask the holder of a meeting's lease to hand it over to ``node``."""

        def update() -> None:
            self.execute(
                "UPDATE meetings SET lease_wanted = ? WHERE id = ? AND lease_owner != ?",
                (node, meeting_id, node),
            )

        await self._run(update)

    async def release_lease(self, meeting_id: str, node: str) -> None:
        """Give up a lease this node holds."""

        def update() -> None:
            self.execute(
                "UPDATE meetings SET lease_owner = NULL, lease_expires = NULL"
                " WHERE id = ? AND lease_owner = ?",
                (meeting_id, node),
            )

        await self._run(update)

    async def lease_of(self, meeting_id: str) -> Lease | None:
        """Who holds a meeting's lease, by the database's clock."""

        def select() -> Lease | None:
            row = self.execute(
                f"SELECT lease_owner, lease_url, lease_expires - {self.NOW_SQL}, lease_wanted"
                " FROM meetings WHERE id = ? AND lease_owner IS NOT NULL",
                (meeting_id,),
            ).fetchone()
            return Lease(row[0], row[1] or "", float(row[2]), row[3]) if row else None

        return await self._run(select)

    async def meeting_times(self) -> list[MeetingTimes]:
        """When each stored meeting ended (if it did), was last saved, and was scheduled for."""

        def select() -> list[MeetingTimes]:
            rows = self.execute(self.TIMES_QUERY).fetchall()
            return [MeetingTimes(str(r[0]), _float(r[1]), float(r[2]), _float(r[3])) for r in rows]

        return await self._run(select)


def numbered(migrations: Sequence[T]) -> Iterator[tuple[int, T]]:
    """Migrations with their version numbers, from 1."""
    return ((number, migration) for number, migration in enumerate(migrations, start=1))


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
