"""What the SFU has done so far, read in one place for ``/api/stats`` and ``/metrics``.

Counters are summed over the connections that are open now: a connection that closes takes
its counts with it, so readers that need totals that only go up keep their own (see
``server/metrics.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .aiortc_seams import sender_bytes, sender_packets
from .sfu import Sfu


@dataclass(frozen=True)
class MediaCounters:
    """Media connections and what went through them."""

    rooms: int = 0
    """Meetings with a media room."""
    peers: int = 0
    """Media connections (one per person sending or receiving media)."""
    frames_in: int = 0
    """Encoded audio and video frames received from publishers."""
    frames_out: int = 0
    """Frames handed to subscribers."""
    packets_out: int = 0
    """RTP packets sent to subscribers."""
    bytes_out: int = 0
    """RTP payload bytes sent to subscribers."""
    videos_paused: int = 0
    """Videos on someone's screen paused now because their connection cannot take them."""
    videos_thinned: int = 0
    """Videos on someone's screen sent at a lower frame rate now, for the same reason."""
    loss_down: tuple[float, float] = (0.0, 0.0)
    """Mean and largest recent loss subscribers reported of what the server sends them."""
    loss_up: tuple[float, float] = (0.0, 0.0)
    """Mean and largest recent loss of what publishers send the server."""


def media_counters(sfu: Sfu) -> MediaCounters:
    """Sum the counters of every open media connection."""
    peers = frames_in = frames_out = packets_out = bytes_out = paused = thinned = 0
    down: list[float] = []
    up: list[float] = []
    for room in sfu.rooms.values():
        paused += room.allocator.paused
        thinned += room.allocator.thinned
        down.extend(s.recent_loss for s in room.allocator.subscribers.values())
        up.extend(c.recent_loss for c in room.allocator.caps.values() if c.reported_at is not None)
        for peer in room.peers.values():
            peers += 1
            frames_in += peer.audio.frames + peer.video.frames
            frames_out += peer.audio.forwarded + peer.video.forwarded
            for out in peer.outgoing:
                packets_out += sender_packets(out.transceiver.sender)
                bytes_out += sender_bytes(out.transceiver.sender)
    return MediaCounters(
        len(sfu.rooms), peers, frames_in, frames_out, packets_out, bytes_out, paused, thinned,
        _mean_and_max(down), _mean_and_max(up),
    )  # fmt: skip


def _mean_and_max(values: list[float]) -> tuple[float, float]:
    return (sum(values) / len(values), max(values)) if values else (0.0, 0.0)
