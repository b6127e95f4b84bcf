"""The store with its writes timed, for ``/metrics`` and ``/readyz``.

Every write the server makes goes through one of these methods, so timing them here times
them all, without touching the store itself. The time includes waiting for the store's thread:
that wait is what a meeting feels when saves pile up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from ..store import Session, Store
from .exposition import Histogram

WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Upper bounds (seconds) of the write-time histogram."""
PROBE_SECONDS = 2.0
"""A readiness probe that takes longer than this counts as a stuck store."""


class TimedStore(Store):
    """A Store whose writes are timed into ``writes`` and whose failures are counted.

    A mixin over whichever engine ``open_store`` chose (SQLite or PostgreSQL): ``timed`` makes
    the store that engine's timed kind, so nothing is timed twice and no engine knows of it.
    Its ``super()`` calls reach that engine, never the abstract Store (hence the ignores).
    """

    writes: Histogram
    """How long each write took, waiting included."""
    write_errors: int
    """Writes that raised."""
    last_write_failed: bool
    """The most recent write raised (cleared by the next one that works)."""

    @asynccontextmanager
    async def timed(self) -> AsyncIterator[None]:
        """Time one write and note whether it worked."""
        started = time.monotonic()
        try:
            yield
        except Exception:
            self.write_errors += 1
            self.last_write_failed = True
            raise
        finally:
            self.writes.observe(time.monotonic() - started)
        self.last_write_failed = False

    async def create_meeting(self, meeting_id: str, key_hash: str, snapshot: str) -> None:
        """Insert a new meeting (timed)."""
        async with self.timed():
            await super().create_meeting(meeting_id, key_hash, snapshot)  # type: ignore[safe-super]

    async def save_snapshot(
        self, meeting_id: str, snapshot: str | dict[str, Any], owner: str | None = None
    ) -> None:
        """Replace a meeting's snapshot (timed)."""
        async with self.timed():
            await super().save_snapshot(meeting_id, snapshot, owner)  # type: ignore[safe-super]

    async def delete_meeting(self, meeting_id: str) -> None:
        """Delete a meeting and everything stored for it (timed)."""
        async with self.timed():
            await super().delete_meeting(meeting_id)  # type: ignore[safe-super]

    async def save_session(self, session: Session) -> None:
        """Insert or update a session (timed)."""
        async with self.timed():
            await super().save_session(session)  # type: ignore[safe-super]

    async def probe(self) -> str | None:
        """Check the store takes a write statement in time: None when it does, else why not.

        The probe updates no row (no meeting has the empty id), but SQLite still has to begin
        a write, so a closed, read-only or stuck database fails it.
        """
        try:
            await asyncio.wait_for(super().save_snapshot("", "{}"), PROBE_SECONDS)  # type: ignore[safe-super]
        except TimeoutError:
            return "the store did not answer in time"
        except Exception as exc:
            return f"the store cannot write: {type(exc).__name__}"
        if self.last_write_failed:
            return "the last save failed"
        return None


def timed(store: Store) -> TimedStore:
    """The same store (not yet opened), with its writes timed from now on."""
    engine = type(store)
    kind = type(f"Timed{engine.__name__}", (TimedStore, engine), {})
    store.__class__ = kind  # the same object and state; only its writes are now timed
    timed_store = cast(TimedStore, store)
    timed_store.writes = Histogram(WRITE_BUCKETS)
    timed_store.write_errors = 0
    timed_store.last_write_failed = False
    return timed_store
