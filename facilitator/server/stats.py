"""Server measurements for the load test (``--stats``): event-loop lag and media counters."""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from typing import Any

from aiohttp import web

from ..media.aiortc_seams import sender_packets
from .keys import SFU

INTERVAL = 0.02
"""How often the lag probe wakes up."""


class LoopLag:
    """How late the event loop wakes a sleeping task: the delay every message and packet sees."""

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float]] = deque(maxlen=200_000)

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


LAG = web.AppKey("loop_lag", LoopLag)


async def stats(request: web.Request) -> web.Response:
    """GET /api/stats[?since=MONOTONIC]: media counters and event-loop lag."""
    try:
        since = float(request.query.get("since", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="since must be a number") from None
    frames_in = frames_out = packets_out = peers = 0
    for room in request.app[SFU].rooms.values():
        for peer in room.peers.values():
            peers += 1
            frames_in += peer.audio.frames + peer.video.frames
            frames_out += peer.audio.forwarded + peer.video.forwarded
            packets_out += sum(sender_packets(out.transceiver.sender) for out in peer.outgoing)
    body: dict[str, Any] = {
        "time": time.monotonic(),
        "peers": peers,
        "frames_in": frames_in,
        "frames_out": frames_out,
        "packets_out": packets_out,
        "loop_lag_ms": request.app[LAG].summary(since),
        "tasks": len(asyncio.all_tasks()),
        "fds": len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None,
    }
    return web.json_response(body)
