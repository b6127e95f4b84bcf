"""Meeting ownership: a meeting runs in exactly one process, the one holding its lease.

With a shared store every node holds a lease on each meeting it runs and renews it every
RENEW_SECONDS. Another node takes a meeting over only once its lease has run out (its owner
died) or its owner handed it over (it was asked to, because requests now reach the other
node). Taking is one atomic UPDATE checked by its row count, so two nodes never both succeed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from enum import Enum

from .base import Store

LEASE_SECONDS = 6.0
"""How long a lease lasts unless renewed: a dead node's meetings move after at most this."""
RENEW_SECONDS = 2.0
"""How often a node renews its leases (a third of their length: two renewals may fail)."""
POLL_SECONDS = 0.25
"""How often a node waiting for a meeting looks whether its lease is free."""


@dataclass(frozen=True)
class Node:
    """This process as other nodes see it."""

    id: str
    """Unique among the nodes sharing a database (the ``--node-url``)."""
    url: str
    """Where it can be reached."""


class Renewal(Enum):
    """What renewing one lease found."""

    KEPT = "kept"
    """Still ours."""
    WANTED = "wanted"
    """Still ours, but another node is being sent this meeting's requests: hand it over."""
    LOST = "lost"
    """No longer ours: stop running the meeting at once."""


class Leases:
    """This node's side of the leases, over the store's atomic operations."""

    def __init__(self, store: Store, node: Node, seconds: float = LEASE_SECONDS) -> None:
        self.store = store
        self.node = node
        self.seconds = seconds

    async def take(self, meeting_id: str) -> bool:
        """Take (or renew) one meeting's lease; False when another node holds it."""
        return await self.store.take_lease(meeting_id, self.node.id, self.node.url, self.seconds)

    async def claim(self, meeting_id: str, patience: float | None = None) -> bool:
        """Take a meeting's lease, asking its holder to hand it over and waiting for that or
        for the lease to run out, at most ``patience`` seconds (default: one lease and a
        little). False when it is still held by a live node after that."""
        if await self.take(meeting_id):
            return True
        await self.store.want_lease(meeting_id, self.node.id)
        give_up = time.monotonic() + (self.seconds + 1.0 if patience is None else patience)
        while time.monotonic() < give_up:
            await asyncio.sleep(POLL_SECONDS)
            if await self.take(meeting_id):
                return True
        return False

    async def renew(self, meeting_id: str) -> Renewal:
        """Renew one lease and say whether another node asked for the meeting."""
        if not await self.take(meeting_id):
            return Renewal.LOST
        lease = await self.store.lease_of(meeting_id)
        if lease is None or lease.owner != self.node.id:
            return Renewal.LOST
        wanted = lease.wanted_by is not None and lease.wanted_by != self.node.id
        return Renewal.WANTED if wanted else Renewal.KEPT

    async def release(self, meeting_id: str) -> None:
        """Let another node take the meeting now."""
        await self.store.release_lease(meeting_id, self.node.id)
