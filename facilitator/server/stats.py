"""Server measurements for the load test (``--stats``): event-loop lag and media counters."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections import deque
from typing import Any

from aiohttp import web

from ..media.counters import media_counters
from .keys import SFU

INTERVAL = 0.02
"""How often the lag probe wakes up."""
RECENT_SECONDS = 60.0
"""The window ``/metrics`` and ``/readyz`` look at."""


class LoopLag:
    """How late the event loop wakes a sleeping task: the delay every message and packet sees."""

    def __init__(self, keep: int = 200_000) -> None:
        # The load test reads long runs (--stats); otherwise a minute or so is enough.
        self.samples: deque[tuple[float, float]] = deque(maxlen=keep)

    async def run(self) -> None:
        """Sleep INTERVAL over and over, recording how late each wake-up was."""
        while True:
            start = time.monotonic()
            await asyncio.sleep(INTERVAL)
            woke = time.monotonic()
            self.samples.append((woke, max(0.0, woke - start - INTERVAL)))

    def summary(self, since: float) -> dict[str, float]:
        """p50, p99 and max lag in milliseconds for samples after ``since`` (monotonic)."""
        lags = sorted(lag for at, lag in self.samples if at >= since)
        if not lags:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0, "count": 0}
        return {
            "p50": lags[len(lags) // 2] * 1000,
            "p99": lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000,
            "max": lags[-1] * 1000,
            "count": len(lags),
        }

    def recent(self, seconds: float = RECENT_SECONDS) -> dict[str, float]:
        """``summary`` of the last ``seconds``."""
        return self.summary(time.monotonic() - seconds)

    def stalled(self, limit: float) -> bool:
        """The probe has not woken for ``limit`` seconds, or woke that late recently."""
        if not self.samples:
            return False
        at, _ = self.samples[-1]
        now = time.monotonic()
        return now - at > limit or self.summary(now - 10)["max"] > limit * 1000


LAG = web.AppKey("loop_lag", LoopLag)


async def stats(request: web.Request) -> web.Response:
    """GET /api/stats[?since=MONOTONIC]: media counters and event-loop lag."""
    try:
        since = float(request.query.get("since", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="since must be a number") from None
    media = media_counters(request.app[SFU])
    body: dict[str, Any] = {
        "time": time.monotonic(),
        "peers": media.peers,
        "frames_in": media.frames_in,
        "frames_out": media.frames_out,
        "packets_out": media.packets_out,
        "loop_lag_ms": request.app[LAG].summary(since),
        "tasks": len(asyncio.all_tasks()),
        "fds": len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None,
        # Start-up's objects are frozen out of the collector's sweeps (server/run.py).
        "gc": {
            "frozen": gc.get_freeze_count(),
            "collections": [generation["collections"] for generation in gc.get_stats()],
        },
        # RTP packets received from each person's microphone so far (DTX makes silence cheap).
        "audio_packets_in": {
            person: peer.audio.packets
            for room in request.app[SFU].rooms.values()
            for person, peer in room.peers.items()
        },
    }
    return web.json_response(body)
