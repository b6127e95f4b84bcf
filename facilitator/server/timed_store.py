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
from pathlib import Path
from typing import Any

from ..store import Session, Store
from .exposition import Histogram

WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Upper bounds (seconds) of the write-time histogram."""
PROBE_SECONDS = 2.0
"""A readiness probe that takes longer than this counts as a stuck store."""


class TimedStore(Store):
    """A Store whose writes are timed into ``writes`` and whose failures are counted."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes = Histogram(WRITE_BUCKETS)
        """How long each write took, waiting included."""
        self.write_errors = 0
        """Writes that raised."""
        self.last_write_failed = False
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
            await super().create_meeting(meeting_id, key_hash, snapshot)

    async def save_snapshot(self, meeting_id: str, snapshot: str | dict[str, Any]) -> None:
        """Replace a meeting's snapshot (timed)."""
        async with self.timed():
            await super().save_snapshot(meeting_id, snapshot)

    async def delete_meeting(self, meeting_id: str) -> None:
        """Delete a meeting and everything stored for it (timed)."""
        async with self.timed():
            await super().delete_meeting(meeting_id)

    async def save_session(self, session: Session) -> None:
        """Insert or update a session (timed)."""
        async with self.timed():
            await super().save_session(session)

    async def probe(self) -> str | None:
        """Check the store takes a write statement in time: None when it does, else why not.

        The probe updates no row (no meeting has the empty id), but SQLite still has to begin
        a write, so a closed, read-only or stuck database fails it.
        """
        try:
            await asyncio.wait_for(super().save_snapshot("", "{}"), PROBE_SECONDS)
        except TimeoutError:
            return "the store did not answer in time"
        except Exception as exc:
            return f"the store cannot write: {type(exc).__name__}"
        if self.last_write_failed:
            return "the last save failed"
        return None
