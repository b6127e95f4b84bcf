"""Which node runs a meeting, when several share one database (see docs/scaling.md).

A node runs only the meetings whose lease it holds (``store/leases.py``). It renews them every
RENEW_SECONDS; when a renewal fails it stops running that meeting at once, and when another
node asked for it (the proxy now sends it that meeting's requests) it saves it, closes its
connections with 1012 so the pages reconnect through the proxy, and lets go.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from aiohttp import web

from ..store.leases import RENEW_SECONDS, Leases, Renewal

log = logging.getLogger(__name__)

MOVING = "This meeting is moving to another server. Try again in a moment."


class MeetingElsewhere(web.HTTPServiceUnavailable):
    """503: another live node runs this meeting and has not handed it over yet."""

    def __init__(self) -> None:
        super().__init__(text=MOVING, headers={"Retry-After": "1"})


class RoomsWithLeases(Protocol):
    """What ``keep_leases`` needs of ``Rooms``."""

    def live_ids(self) -> list[str]:
        """The meetings running here."""
        ...

    async def drop(self, meeting_id: str) -> None:
        """Stop running a meeting without saving it (another node may own it now)."""
        ...

    async def hand_over(self, meeting_id: str) -> None:
        """Save a meeting, close its connections and release its lease."""
        ...


async def keep_leases(rooms: RoomsWithLeases, leases: Leases) -> None:
    """Renew this node's leases every RENEW_SECONDS; stop or hand over what it must."""
    renewed: dict[str, float] = {}
    """When each meeting's last successful renewal started (monotonic), by this loop."""
    while True:
        await asyncio.sleep(RENEW_SECONDS)
        live = rooms.live_ids()
        for gone in set(renewed) - set(live):
            del renewed[gone]
        # All at once, each with a deadline: a renewal that hangs (a stuck database, a long
        # lock) must not hold up the others, and counts as failed.
        outcomes = await asyncio.gather(*(_renew(leases, meeting_id) for meeting_id in live))
        for meeting_id, (started, renewal) in zip(live, outcomes, strict=True):
            if renewal is None:
                since = time.monotonic() - renewed.setdefault(meeting_id, started)
                # One failed renewal is survivable; stop before the lease can run out, after
                # which another node may take the meeting.
                if since + 1.5 * RENEW_SECONDS < leases.seconds:
                    continue
                renewal = Renewal.LOST
            else:
                renewed[meeting_id] = started
            if renewal is Renewal.LOST:
                log.warning("meeting %s: lease lost, no longer running it", meeting_id[:6])
                renewed.pop(meeting_id, None)
                await rooms.drop(meeting_id)
            elif renewal is Renewal.WANTED:
                log.info("meeting %s: handing it over to another node", meeting_id[:6])
                renewed.pop(meeting_id, None)
                await rooms.hand_over(meeting_id)


async def _renew(leases: Leases, meeting_id: str) -> tuple[float, Renewal | None]:
    """When the renewal started, and its outcome (None: it failed or took too long)."""
    started = time.monotonic()
    try:
        return started, await asyncio.wait_for(leases.renew(meeting_id), RENEW_SECONDS)
    except TimeoutError:
        log.warning("renewing the lease of meeting %s takes too long", meeting_id[:6])
    except Exception:
        log.exception("cannot renew the lease of meeting %s", meeting_id[:6])
    return started, None
