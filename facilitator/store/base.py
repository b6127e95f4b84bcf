"""What every store offers: meetings as JSON snapshots, sessions, leases, and their records.

``Store`` is the interface the server uses; ``sqlite.py`` (one machine, the default) and
``postgres.py`` (a database that several machines share) implement it with the same data.
"""

from __future__ import annotations

import errno
import sqlite3
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

UNJOINED_SESSION_SECONDS = 24 * 3600
"""A session whose browser never joined the meeting is forgotten after a day."""
SESSION_SECONDS = 30 * 24 * 3600
"""Every session is forgotten when its cookie has expired (the cookie lives 30 days)."""
DISK_FULL_SQLSTATE = "53100"
"""PostgreSQL's "disk full" error code."""


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
    """The browser opened the facilitator link (with the right key)."""
    role: str = ""
    """The role in the meeting its token was handed out for ("": the one ``facilitator``
    gives); when the person's role is another, the token is replaced."""
    joined: bool = field(default=False, compare=False)
    """Its browser joined the meeting (so it lasts as long as its cookie)."""


@dataclass(frozen=True)
class MeetingTimes:
    """What retention needs to know of a stored meeting."""

    id: str
    ended_at: float | None
    updated_at: float
    scheduled_at: float | None


@dataclass(frozen=True)
class Lease:
    """Which process runs a meeting, until when, and who asked to take it over."""

    owner: str
    """The owning node's id (its ``--node-url``)."""
    url: str
    """Where that node can be reached."""
    expires_in: float
    """Seconds until the lease runs out (negative: it has), by the database's clock."""
    wanted_by: str | None
    """A node that was sent this meeting's requests and asked for it."""


class StoreError(Exception):
    """A database error from a store whose driver has its own exceptions (PostgreSQL)."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class LeaseLost(StoreError):
    """This process no longer holds the meeting's lease: another one may be running it."""


class SchemaTooNew(StoreError):
    """The database was upgraded by a newer facilitator than this one."""


STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError, StoreError)
"""What a store raises when it cannot read or write."""


class Store(ABC):
    """Meetings, sessions and leases; every method is a coroutine that never blocks the loop."""

    @abstractmethod
    async def open(self) -> None:
        """Connect, and bring the tables up to this version's schema (see ``migrate``)."""

    @abstractmethod
    async def close(self) -> None:
        """Finish pending writes and disconnect."""

    @abstractmethod
    async def migrate(self) -> tuple[int, int]:
        """Run the migrations this database has not had; return (version before, after)."""

    # Meetings

    @abstractmethod
    async def create_meeting(self, meeting_id: str, key_hash: str, snapshot: str) -> None:
        """Insert a new meeting."""

    @abstractmethod
    async def save_snapshot(
        self, meeting_id: str, snapshot: str | dict[str, Any], owner: str | None = None
    ) -> None:
        """Replace a meeting's snapshot; a dict is turned into JSON off the event loop.

        A dict must not change after it is handed over (``Meeting.to_dict`` builds a fresh
        one). With ``owner``, the write happens only while that node holds the meeting's
        lease, else ``LeaseLost``. Raises a ``STORE_ERRORS`` error when it cannot be written.
        """

    @abstractmethod
    async def purge(self) -> None:
        """Make deleted data unreadable in the database's files (called after deletions)."""

    @abstractmethod
    async def load_meeting(self, meeting_id: str) -> StoredMeeting | None:
        """Read one meeting, or None."""

    @abstractmethod
    async def delete_meeting(self, meeting_id: str) -> None:
        """Delete a meeting and everything stored for it."""

    @abstractmethod
    async def meeting_times(self) -> list[MeetingTimes]:
        """When each stored meeting ended (if it did), was last saved, and was scheduled for."""

    # Sessions

    @abstractmethod
    async def save_session(self, session: Session) -> None:
        """Insert or update a session."""

    @abstractmethod
    async def claim_session(self, session: Session) -> Session:
        """Record that a session's browser joined, creating its row if it has none yet.

        Returns the stored session: when another tab of the same browser got there first,
        its person is the one this browser is.
        """

    @abstractmethod
    async def person_has_other_session(self, session: Session) -> bool:
        """True when another token already speaks for this session's person."""

    @abstractmethod
    async def delete_session(self, token_hash: str) -> None:
        """Forget one session."""

    @abstractmethod
    async def replace_session(self, old_hash: str, session: Session) -> None:
        """Give a session a new token (the old one stops working), e.g. on a role change; a
        session that had joined stays joined."""

    @abstractmethod
    async def delete_person_sessions(self, meeting_id: str, person_ids: list[str]) -> None:
        """Forget every session of these people (the meeting forgot them)."""

    @abstractmethod
    async def count_sessions(self, meeting_id: str) -> int:
        """How many sessions one meeting has."""

    @abstractmethod
    async def forget_old_sessions(self, now: float | None = None) -> int:
        """Delete sessions that never joined within a day (a facilitator link's page views
        too), and expired ones; return how many."""

    @abstractmethod
    async def load_session(self, token_hash: str, meeting_id: str) -> Session | None:
        """Find a browser's session in one meeting."""

    # Leases (see leases.py)

    @abstractmethod
    async def take_lease(self, meeting_id: str, node: str, url: str, seconds: float) -> bool:
        """Take or renew a meeting's lease for ``seconds``: one atomic UPDATE that succeeds
        only when nobody holds it, its lease has run out, or ``node`` already holds it."""

    @abstractmethod
    async def want_lease(self, meeting_id: str, node: str) -> None:
        """Ask the node holding a meeting's lease to hand it over to ``node``."""

    @abstractmethod
    async def release_lease(self, meeting_id: str, node: str) -> None:
        """Give up a lease ``node`` holds, so another node may take it at once."""

    @abstractmethod
    async def lease_of(self, meeting_id: str) -> Lease | None:
        """Who holds a meeting's lease (None: nobody ever did, or no such meeting)."""


def is_disk_full(exc: BaseException) -> bool:
    """True when a store error means the disk (or the database) has no room left."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()
    if isinstance(exc, StoreError):
        return exc.sqlstate == DISK_FULL_SQLSTATE
    return False
