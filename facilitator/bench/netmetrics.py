"""What a subscriber saw of one stream in a time window: frames, freezes, keyframes, bytes.

Pure functions over arrival timelines ((time, bytes, keyframe) per frame, monotonic seconds),
so the network lab's workers compute them where the frames arrive and tests check them alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

Arrival = tuple[float, int, bool]
"""(monotonic arrival time, bytes, is keyframe) of one frame."""
NOMINAL_INTERVAL = 1 / 30
"""The publishers' frame interval: the average until a stream has frames of its own."""
FREEZE_EXTRA = 0.150
STEADY_SECONDS = 2.0
"""A stream has recovered once it runs this long without a freeze."""
USABLE_FROZEN = 0.05
"""A stream frozen for at most this share of a window counts as usable."""


def freeze_threshold(average: float) -> float:
    """Chromium's definition: a gap longer than max(3 x average interval, average + 150 ms)."""
    return max(3 * average, average + FREEZE_EXTRA)


@dataclass(frozen=True)
class StreamWindow:
    """One stream as one subscriber saw it between two times."""

    seconds: float
    frames: int
    keyframes: int
    bytes: int
    frozen_s: float
    """Video: time spent in freezes (gaps above the threshold, edges of the window included)."""
    longest_freeze_s: float
    freezes: int

    @property
    def fps(self) -> float:
        """Frames per second over the window."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def frozen_share(self) -> float:
        """Share of the window frozen (0..1)."""
        return min(1.0, self.frozen_s / self.seconds) if self.seconds > 0 else 0.0

    @property
    def keyframes_per_min(self) -> float:
        """Keyframes received per minute."""
        return 60 * self.keyframes / self.seconds if self.seconds > 0 else 0.0

    @property
    def kbps(self) -> float:
        """Media received, kilobits per second (payload: no headers, no retransmissions)."""
        return 8 * self.bytes / self.seconds / 1000 if self.seconds > 0 else 0.0

    @property
    def usable(self) -> bool:
        """Frozen for at most USABLE_FROZEN of the window."""
        return self.frozen_share <= USABLE_FROZEN


def gaps(times: Sequence[float]) -> list[tuple[float, float]]:
    """(gap, threshold) for each interval, with the running average of the last 30 intervals."""
    out = []
    recent: list[float] = []
    for before, after in itertools.pairwise(times):
        average = sum(recent) / len(recent) if recent else NOMINAL_INTERVAL
        gap = after - before
        threshold = freeze_threshold(average)
        out.append((gap, threshold))
        if gap <= threshold:  # freezes do not raise the average
            recent.append(gap)
            if len(recent) > 30:
                recent.pop(0)
    return out


def window(arrivals: Sequence[Arrival], start: float, end: float, video: bool) -> StreamWindow:
    """The stream between ``start`` and ``end``; for video, its freezes (edges count too)."""
    inside = [a for a in arrivals if start <= a[0] < end]
    frozen = longest = 0.0
    count = 0
    if video:
        # Frames just before the window set the average; without any, the window's start
        # stands for a frame (a stream that never came is frozen from the start).
        before = [a[0] for a in arrivals if a[0] < start][-31:]
        times = [*(before or [start]), *(a[0] for a in inside), end]
        for (gap, threshold), at in zip(gaps(times), times[1:], strict=True):
            if gap > threshold and at > start:
                # Only the part of a freeze inside the window counts.
                part = min(gap, at - start)
                frozen += part
                longest = max(longest, part)
                count += 1
    return StreamWindow(
        seconds=end - start,
        frames=len(inside),
        keyframes=sum(1 for a in inside if a[2]),
        bytes=sum(a[1] for a in inside),
        frozen_s=frozen,
        longest_freeze_s=longest,
        freezes=count,
    )


def recovery(arrivals: Sequence[Arrival], since: float, end: float) -> float | None:
    """Seconds from ``since`` until the stream ran STEADY_SECONDS without a freeze (None: never).

    A stream already steady at ``since`` recovers in 0 s.
    """
    # The window's ends stand for frames, so a stream frozen at the end has not recovered.
    times = [since, *(a[0] for a in arrivals if since <= a[0] < end), end]
    steady_from = since
    for (gap, threshold), at in zip(gaps(times), times[1:], strict=True):
        if gap > threshold:
            steady_from = at
        elif at - steady_from >= STEADY_SECONDS:
            return steady_from - since
    return None


def sent_in(sent: Sequence[tuple[float, int]], start: float, end: float) -> tuple[int, int]:
    """(frames, bytes) a publisher sent between ``start`` and ``end``."""
    inside = [size for at, size in sent if start <= at < end]
    return len(inside), sum(inside)


def loss(received: int, sent: int) -> float:
    """Share of frames that did not arrive (0..1; 0 when nothing was sent)."""
    return max(0.0, 1 - received / sent) if sent > 0 else 0.0
