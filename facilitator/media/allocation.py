"""What each subscriber receives when its network cannot take everything: a pure policy.

No aiortc and no asyncio: every method that depends on time takes ``now`` (tests drive it with a
fake clock, like the domain). The SFU feeds it REMBs, receiver-report loss and who is relevant,
and carries out its plans (see docs/media.md, "Allocation"):

- ``DownlinkEstimate`` (in downlink.py): one subscriber's downlink from its REMB and the loss
  it reports, telling congestion from a link's own random loss.
- ``relevance_order``: the featured stream (screen share, icebreaker speaker), the active
  speaker, recent speakers, then tile order; only what the person has on screen.
- ``SubscriberAllocation``: audio first, then video fitted to the budget at full rate, thinned
  (temporal layers) or paused, with hysteresis so streams do not flap.
- ``PublisherCap``: the REMB to send towards a publisher.
- ``KeyframeLimiter`` (in keyframe_limit.py): one subscriber cannot raise everyone's keyframe
  rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .downlink import CEILING_KBPS as CEILING_KBPS
from .downlink import CUT_INTERVAL as CUT_INTERVAL
from .downlink import CUT_LOSS as CUT_LOSS
from .downlink import CUT_SHARE as CUT_SHARE
from .downlink import DEEPER_CUT as DEEPER_CUT
from .downlink import DEEPER_DISTRUST_SECONDS as DEEPER_DISTRUST_SECONDS
from .downlink import DEEPER_SECONDS as DEEPER_SECONDS
from .downlink import FLOOR_KBPS as FLOOR_KBPS
from .downlink import GROW_LOSS as GROW_LOSS
from .downlink import GROWTH_PER_SECOND as GROWTH_PER_SECOND
from .downlink import MAX_GROWTH_STEP as MAX_GROWTH_STEP
from .downlink import PROBE_BACKOFF_MAX_SECONDS as PROBE_BACKOFF_MAX_SECONDS
from .downlink import PROBE_BACKOFF_SECONDS as PROBE_BACKOFF_SECONDS
from .downlink import PROBE_UNDER as PROBE_UNDER
from .downlink import RANDOM_SMOOTHING as RANDOM_SMOOTHING
from .downlink import REMB_BINDING as REMB_BINDING
from .downlink import REMB_CHECK as REMB_CHECK
from .downlink import REMB_DISTRUST_SECONDS as REMB_DISTRUST_SECONDS
from .downlink import REMB_PERSIST as REMB_PERSIST
from .downlink import REPORT_LAG as REPORT_LAG
from .downlink import RESUME_SECONDS as RESUME_SECONDS
from .downlink import SENDING_HEADROOM as SENDING_HEADROOM
from .downlink import STILL_LOSS as STILL_LOSS
from .downlink import DownlinkEstimate as DownlinkEstimate
from .downlink import cut_or_grow as cut_or_grow
from .keyframe_limit import KEYFRAME_INTERVAL as KEYFRAME_INTERVAL
from .keyframe_limit import KEYFRAME_WAIT as KEYFRAME_WAIT
from .keyframe_limit import KeyframeLimiter as KeyframeLimiter

Level = Literal["full", "thin-1", "thin-2", "paused"]
LEVELS: tuple[Level, ...] = ("full", "thin-1", "thin-2", "paused")
"""From best to worst; a plan gives every video stream one of these."""
RATE: dict[Level, float] = {"full": 1.0, "thin-1": 0.6, "thin-2": 0.35, "paused": 0.0}
"""Share of a stream's full bitrate each level costs (VP8 temporal layers, measured roughly)."""
FRAME_RATE: dict[Level, float] = {"full": 1.0, "thin-1": 0.5, "thin-2": 0.25, "paused": 0.0}
"""Share of the frame rate each level keeps."""
MAX_TEMPORAL_LAYER: dict[Level, int | None] = {"full": 2, "thin-1": 1, "thin-2": 0, "paused": None}
"""The temporal layer a forwarder keeps up to for each level (None: forward nothing)."""

AUDIO_KBPS = 40.0
"""What one Opus stream takes, with headers; audio is always served first."""
RESUME_MARGIN = 0.2
"""A stream goes up a level only when the budget exceeds the need by this share, for
RESUME_SECONDS in a row."""
RECENT_SECONDS = 20.0
"""Someone who spoke within this many seconds ranks as a recent speaker."""
CAP_FLOOR_KBPS = 100.0
"""The lowest REMB sent towards a publisher."""
CAP_CEILING_KBPS = 2500.0
"""The highest REMB sent towards a publisher (and an uplink's estimate before any loss)."""
OUTAGE_SECONDS = 2.5
"""No report for this long is an outage (a link down, a phone changing networks); the reports in
as long again after it count the packets lost while it was down, which says nothing about what
the link carries now, so their loss is not counted."""
SLACK_KBPS = 0.01
"""A stream fits a budget it exceeds by less than this (a budget made from that very stream's
rate, minus audio, can come out a rounding error short of it)."""


@dataclass(frozen=True)
class VideoStream:
    """One video a subscriber could receive: a camera or a shared screen."""

    key: str
    """Names the stream in a plan (a person id, or e.g. ``"<person>/screen"``)."""
    person: str
    """Whose it is (visibility and speaking are by person)."""
    kbps: float
    """What it takes at full rate."""
    layered: bool = True
    """It carries VP8 temporal layers, so it can be thinned (else only full or paused)."""

    def levels(self) -> tuple[Level, ...]:
        """The levels this stream can be given, best first."""
        return LEVELS if self.layered else ("full", "paused")


@dataclass(frozen=True)
class Focus:
    """What matters in the room now, the same for every subscriber."""

    featured: tuple[str, ...] = ()
    """Stream keys first of all: the screen share, the icebreaker speaker's camera."""
    speaker: str | None = None
    """The active speaker (a person id)."""
    last_spoke: Mapping[str, float] = field(default_factory=dict)
    """Person id -> when they last were the active speaker."""
    tiles: tuple[str, ...] = ()
    """Person ids in the order the page lays out their tiles."""


def relevance_order(
    streams: Iterable[VideoStream],
    focus: Focus,
    visible: set[str] | None,
    now: float,
    recent: float = RECENT_SECONDS,
) -> list[VideoStream]:
    """The streams a subscriber has on screen, most relevant first.

    ``visible`` is the set of people whose tiles the page shows (None: not reported yet, so
    all; an empty set: a hidden tab or a minimised stage, which gets audio only).
    """
    tile_index = {person: i for i, person in enumerate(focus.tiles)}

    def rank(stream: VideoStream) -> tuple[int, float, str]:
        if stream.key in focus.featured:
            return (0, float(focus.featured.index(stream.key)), stream.key)
        if stream.person == focus.speaker:
            return (1, 0.0, stream.key)
        spoke = focus.last_spoke.get(stream.person)
        if spoke is not None and now - spoke <= recent:
            return (2, -spoke, stream.key)  # the most recent first
        return (3, float(tile_index.get(stream.person, len(tile_index))), stream.key)

    shown = [s for s in streams if visible is None or s.person in visible]
    return sorted(shown, key=rank)


def _cost(stream: VideoStream, level: Level) -> float:
    return stream.kbps * RATE[level]


def _best_fit(stream: VideoStream, current: Level, left: float) -> Level:
    """The best level not below ``current`` whose extra cost fits in ``left``."""
    for level in LEVELS[: LEVELS.index(current) + 1]:
        if level not in stream.levels():
            continue
        if _cost(stream, level) - _cost(stream, current) <= left + SLACK_KBPS:
            return level
    return current


def fit(streams: Sequence[VideoStream], budget: float, leads: int) -> dict[str, Level]:
    """Fit video (most relevant first) into ``budget`` kbit/s.

    The first ``leads`` streams (featured, active speaker) get the best level that fits; then
    every other stream gets the lowest layer if it fits (seeing everyone beats seeing one
    well), and what is left raises streams a level at a time in order of relevance.
    """
    levels: dict[str, Level] = {s.key: "paused" for s in streams}
    left = budget
    for stream in streams[:leads]:
        levels[stream.key] = _best_fit(stream, "paused", left)
        left -= _cost(stream, levels[stream.key])
    for stream in streams[leads:]:
        lowest = stream.levels()[-2]  # thin-2, or full for a stream without layers
        if _cost(stream, lowest) <= left + SLACK_KBPS:
            levels[stream.key] = lowest
            left -= _cost(stream, lowest)
    for stream in streams[leads:]:
        if levels[stream.key] == "paused":
            continue
        before = levels[stream.key]
        levels[stream.key] = _best_fit(stream, before, left)
        left -= _cost(stream, levels[stream.key]) - _cost(stream, before)
    return levels


@dataclass(frozen=True)
class Plan:
    """What one subscriber receives: each video stream's level, and whether it is held back."""

    levels: dict[str, Level]
    """Stream key -> level; streams off screen are paused."""
    constrained: bool
    """True when a stream on screen is thinned or paused for the network (the UI says so)."""

    def kbps(self, streams: Iterable[VideoStream]) -> float:
        """What the plan's video costs."""
        return sum(_cost(s, self.levels.get(s.key, "paused")) for s in streams)


@dataclass
class SubscriberAllocation:
    """One subscriber's plan over time: down at once, up only with margin and after a while."""

    margin: float = RESUME_MARGIN
    hold: float = RESUME_SECONDS
    levels: dict[str, Level] = field(default_factory=dict)
    """The current level of each stream on screen."""
    rising_since: dict[str, float] = field(default_factory=dict)
    """Stream key -> since when it could go up (with margin), continuously."""

    def update(
        self,
        budget: float | None,
        audio_streams: int,
        ordered: Sequence[VideoStream],
        hidden: Iterable[VideoStream],
        now: float,
        leads: int = 1,
    ) -> Plan:
        """The plan for now.

        ``budget``: the downlink estimate (None: unknown, everything full); ``audio_streams``:
        how many audio streams the subscriber receives (served first); ``ordered``: the video
        on screen, most relevant first (``relevance_order``); ``hidden``: video off screen
        (always paused); ``leads``: how many of ``ordered`` are featured or the speaker.
        """
        hidden_levels: dict[str, Level] = {s.key: "paused" for s in hidden}
        if budget is None:
            self.levels = {s.key: "full" for s in ordered}
            self.rising_since.clear()
            return Plan({**hidden_levels, **self.levels}, constrained=False)
        video = max(0.0, budget - audio_streams * AUDIO_KBPS)
        now_fits = fit(ordered, video, leads)
        with_margin = fit(ordered, video / (1.0 + self.margin), leads)
        levels: dict[str, Level] = {}
        resumed: dict[str, float] = {}  # paused streams that go up now -> since when
        thickened = False
        for stream in ordered:
            key = stream.key
            current = self.levels.get(key, now_fits[key])  # a new stream starts where it fits
            fits = now_fits[key]
            if LEVELS.index(fits) > LEVELS.index(current):
                levels[key] = fits  # down at once
                self.rising_since.pop(key, None)
                continue
            # Never above what fits now, so holding levels keeps the plan within the budget.
            target = max(LEVELS.index(with_margin[key]), LEVELS.index(fits))
            if target < LEVELS.index(current):
                since = self.rising_since.setdefault(key, now)
                if now - since >= self.hold:
                    if current == "paused":
                        resumed[key] = since
                    else:
                        thickened = True
                    current = LEVELS[target]
                    self.rising_since.pop(key, None)
            else:
                self.rising_since.pop(key, None)
            levels[key] = current
        if thickened:
            # Thinned streams go back up (thin-2, thin-1, full) before another is unpaused:
            # the paused ones wait for the next step, still counted as ready.
            for key, since in resumed.items():
                levels[key] = "paused"
                self.rising_since[key] = since
        for key in list(self.rising_since):
            if key not in levels:
                del self.rising_since[key]
        self.levels = levels
        constrained = any(level != "full" for level in levels.values())
        return Plan({**hidden_levels, **levels}, constrained)


def allowance(plan: Plan, stream: VideoStream, budget: float | None, spare: float) -> float:
    """What one subscriber can take of a stream: its level's rate, plus the spare budget when
    the stream is at full rate (it could take more), or unlimited when the budget is unknown."""
    level = plan.levels.get(stream.key, "paused")
    if level == "full" and budget is None:
        return float("inf")
    extra = max(0.0, spare) if level == "full" else 0.0
    return _cost(stream, level) + extra


@dataclass
class OutageFilter:
    """Tells which loss reports describe an outage rather than the link (see OUTAGE_SECONDS)."""

    reported_at: float | None = None
    over_at: float = float("-inf")

    def counts(self, now: float) -> bool:
        """Note a report at ``now``; False when its loss is the outage's and must not count."""
        if self.reported_at is not None and now - self.reported_at > OUTAGE_SECONDS:
            self.over_at = now + OUTAGE_SECONDS
        self.reported_at = now
        return now >= self.over_at

    def silent(self, now: float) -> bool:
        """True while no report has come for OUTAGE_SECONDS, or the reports just after such a
        silence come (what else arrives then, a REMB, measures the restart, not the link)."""
        if self.reported_at is not None and now - self.reported_at > OUTAGE_SECONDS:
            return True
        return now < self.over_at


RECENT_SMOOTHING = 0.2
"""How much each new report moves the recent loss shown to operators (about the last five)."""


def recent(average: float, fraction: float) -> float:
    """A loss average that follows the last few reports."""
    return average + RECENT_SMOOTHING * (fraction - average)


@dataclass
class PublisherCap:
    """The REMB to send towards one publisher.

    It is what the publisher's best-served subscriber can take of it, within
    [floor, ceiling], and never more than the publisher's own uplink estimate, which loss on
    its uplink cuts and good reports restore (the same rule as a downlink).
    """

    floor: float = CAP_FLOOR_KBPS
    ceiling: float = CAP_CEILING_KBPS
    uplink: float = CAP_CEILING_KBPS
    """Our estimate of the publisher's uplink."""
    reported_at: float | None = None
    cut_at: float | None = None
    outage: OutageFilter = field(default_factory=OutageFilter)
    recent_loss: float = 0.0
    """The loss on the publisher's uplink over the last few reports (the operator's metrics)."""
    traced: str = ""
    """The last line logged about it (``--log-level debug``)."""

    def on_uplink_loss(self, fraction: float, now: float) -> None:
        """Take the loss the publisher's receiver reports show on its uplink (0..1)."""
        self.recent_loss = recent(self.recent_loss, fraction)
        if not self.outage.counts(now):
            self.reported_at = now
            return
        if fraction > CUT_LOSS and self.cut_at is not None and now - self.cut_at < CUT_INTERVAL:
            return  # one cut a second, as for a downlink
        elapsed = 0.0 if self.reported_at is None else now - self.reported_at
        self.reported_at = now
        if fraction > CUT_LOSS:
            self.cut_at = now
        self.uplink = cut_or_grow(self.uplink, fraction, elapsed, self.floor, self.ceiling)

    def kbps(self, allowances: Iterable[float]) -> float:
        """The REMB to send, given what each subscriber can take (nobody watching: the floor)."""
        best = max(allowances, default=self.floor)
        return max(self.floor, min(best, self.ceiling, self.uplink))
