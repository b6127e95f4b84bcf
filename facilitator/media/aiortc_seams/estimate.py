"""Seam 18: aiortc's REMB bitrate estimator with the same answers for less work per packet.

aiortc's ``RemoteBitrateEstimator`` runs for every video packet a publisher sends. Two of its
parts do work that does not need to be done per packet: its ``RateCounter`` walks a ring of
1,000 one-millisecond buckets, one step per millisecond since the last packet (and twice per
packet), and its ``OveruseEstimator`` finds the shortest of the last 60 frame periods with a
Python loop per frame. ``LeanBitrateEstimator`` is the same estimator with those two parts
replaced by ones that keep only the milliseconds that hold data and use the built-in ``min``;
every estimate it sends is the one aiortc's would (``tests/test_receive_estimate.py`` feeds both
the same packets).
"""

from __future__ import annotations

from collections import deque

from aiortc import RTCRtpReceiver
from aiortc.rate import (
    MIN_FRAME_PERIOD_HISTORY_LENGTH,
    OveruseEstimator,
    RateCounter,
    RemoteBitrateEstimator,
)

from .base import RECEIVER as _RECEIVER
from .base import SeamError


class LeanRateCounter(RateCounter):
    """aiortc's RateCounter (bytes over a sliding window of 1 ms buckets), with the same
    rates, keeping only the buckets that hold something.

    aiortc's ring has a bucket for every millisecond of the window and, on every call, clears
    one bucket per millisecond the window moved. Here the non-empty buckets sit in a deque in
    time order, as ``[ms, count, value]``, and moving the window drops those that fell out.
    """

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        self.held: deque[list[int]] = deque()
        self.count = 0
        self.value = 0
        super().__init__(window_size, scale)

    def reset(self) -> None:
        """Forget everything (the window starts again at the next ``add``)."""
        self._origin_ms = None
        self.held.clear()
        self.count = self.value = 0

    def add(self, value: int, now_ms: int) -> None:
        """Count ``value`` at ``now_ms``."""
        origin = self._origin_ms
        if origin is None:
            origin = self._origin_ms = now_ms
        else:
            origin = self._move(now_ms)
        # The ring's bucket for now_ms: itself inside the window (a time before the window's
        # start lands where aiortc's modulo puts it, one window later).
        at = origin + (now_ms - origin) % self._window_size
        held = self.held
        if held and held[-1][0] == at:
            last = held[-1]
            last[1] += 1
            last[2] += value
        elif not held or held[-1][0] < at:
            held.append([at, 1, value])
        else:
            self._insert(at, value)
        self.count += 1
        self.value += value

    def rate(self, now_ms: int) -> int | None:
        """Bits per second over the window ending at ``now_ms`` (None: nothing counted)."""
        if self._origin_ms is not None:
            origin = self._move(now_ms)
            active_window_size = now_ms - origin + 1
            if self.count > 0 and active_window_size > 1:
                return round(self._scale * self.value / active_window_size)
        return None

    def _move(self, now_ms: int) -> int:
        """Move the window's start up to ``now_ms`` and drop what fell out; the start."""
        origin = self._origin_ms
        assert origin is not None
        start = now_ms - self._window_size + 1
        if origin < start:
            origin = self._origin_ms = start
            held = self.held
            while held and held[0][0] < origin:
                _, count, value = held.popleft()
                self.count -= count
                self.value -= value
        return origin

    def _insert(self, at: int, value: int) -> None:
        """Count ``value`` in the bucket of ``at``, earlier than the newest one (rare: a
        clock that stepped back)."""
        held = self.held
        for index in range(len(held) - 1, -1, -1):
            bucket = held[index]
            if bucket[0] == at:
                bucket[1] += 1
                bucket[2] += value
                return
            if bucket[0] < at:
                held.insert(index + 1, [at, 1, value])
                return
        held.appendleft([at, 1, value])


class LeanOveruseEstimator(OveruseEstimator):
    """aiortc's OveruseEstimator, finding the shortest recent frame period with ``min``."""

    def __init__(self) -> None:
        super().__init__()
        self.periods: deque[float] = deque()

    def update_min_frame_period(self, ts_delta: float) -> float:
        """The shortest of ``ts_delta`` and the last 59 before it; then remember ``ts_delta``."""
        periods = self.periods
        if len(periods) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:
            periods.popleft()
        shortest = min(ts_delta, min(periods)) if periods else ts_delta
        periods.append(ts_delta)
        return shortest


class LeanBitrateEstimator(RemoteBitrateEstimator):
    """aiortc's RemoteBitrateEstimator with a LeanRateCounter and a LeanOveruseEstimator."""

    def __init__(self) -> None:
        super().__init__()
        counter = self.incoming_bitrate
        self.incoming_bitrate = LeanRateCounter(counter._window_size, counter._scale)
        self.estimator = LeanOveruseEstimator()


def lean_estimator(receiver: RTCRtpReceiver) -> LeanBitrateEstimator | None:
    """Give a video receiver a LeanBitrateEstimator, before any packet (audio: None, as
    aiortc keeps no estimate for audio)."""
    name = _RECEIVER + "remote_bitrate_estimator"
    if not hasattr(receiver, name):
        raise SeamError("RTCRtpReceiver has no __remote_bitrate_estimator")
    current = getattr(receiver, name)
    if current is None or isinstance(current, LeanBitrateEstimator):
        return current
    estimator = LeanBitrateEstimator()
    setattr(receiver, name, estimator)
    return estimator
