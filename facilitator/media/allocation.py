"""What each subscriber receives when its network cannot take everything: a pure policy.

No aiortc and no asyncio: every method that depends on time takes ``now`` (tests drive it with a
fake clock, like the domain). The SFU feeds it REMBs, receiver-report loss and who is relevant,
and carries out its plans (see docs/media.md, "Allocation"):

- ``DownlinkEstimate``: one subscriber's downlink from its REMB and the loss it reports
  (Galène's rule: over 10% loss cut, under 2% grow slowly up to the REMB, between hold), telling
  congestion (a REMB well under what arrives, loss that comes with a rise in what is sent or
  falls when it is cut) from a link's own random loss (which it learns and leaves out).
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
FLOOR_KBPS = 150.0
"""A downlink estimate never falls below this (loss alone must not starve a subscriber)."""
CUT_LOSS = 0.10
"""Loss above which the estimate is cut, by a factor (1 - loss / 2)."""
GROW_LOSS = 0.02
"""Loss below which the estimate grows, by GROWTH_PER_SECOND, up to the REMB."""
GROWTH_PER_SECOND = 0.08
"""Growth of an estimate per second of good reports (8%)."""
MAX_GROWTH_STEP = 1.0
"""Seconds counted at most between two reports (a silent subscriber does not grow)."""
RESUME_MARGIN = 0.2
"""A stream goes up a level only when the budget exceeds the need by this share..."""
RESUME_SECONDS = 3.0
"""...for this many seconds in a row."""
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
CUT_INTERVAL = 1.0
"""Loss cuts an estimate at most once in this many seconds (one episode shows in several
reports, and the allocation steps twice a second)."""
SENDING_HEADROOM = 1.5
"""A cut starts from at most this many times what was sent (an estimate can be far above it)."""
REMB_BINDING = 0.5
"""A REMB under this share of what arrives (what was sent, less the loss) is a link cut under
what is sent: a delay-based estimate (aiortc's, a browser's) falls to 85% of what arrives at any
sign of a queue, timing noise included, counts no headers (~5%), and aiortc's dips to ~60% on a
busy machine; only a REMB well under all that is the link's limit (a link cut to half or less).
At or above it, it only says what arrives (smaller shortfalls show in the loss)."""
REMB_PERSIST = 0.5
"""A low REMB binds once it has stayed low this long (two steps): one dip is noise."""
STILL_LOSS = 0.7
"""Loss that stays above this share of itself after the rate was cut did not come from the rate:
it is the link's own (random loss, a Wi-Fi link)."""
CUT_SHARE = 0.9
"""What is sent must fall under this share of the rate of a cut before the loss is compared."""
REPORT_LAG = 2.0
"""Seconds after a REMB cut in which loss reports still describe the rate before it (reports
come about once a second and count the interval before them): they do not cut again."""
REMB_CHECK = 3.0
"""A REMB cut that no loss follows within this many seconds was noise (a cut link loses
packets within a second or two): it is undone, and such REMBs do not bind for a while..."""
REMB_DISTRUST_SECONDS = 10.0
"""...this long, doubled each time again, up to PROBE_BACKOFF_MAX_SECONDS."""
RANDOM_SMOOTHING = 0.05
"""Weight of a new report in the learnt random loss, while the rate is steady (about 14 reports
to learn half of it; meanwhile that loss holds the estimate and takes nothing away)."""
CEILING_KBPS = 20000.0
"""The most a downlink estimate grows to without a REMB that bounds it."""
PROBE_UNDER = 0.9
"""After a cut, growth stays under this share of the rate that failed..."""
PROBE_BACKOFF_SECONDS = 10.0
"""...for this long, doubled each time a probe fails again..."""
PROBE_BACKOFF_MAX_SECONDS = 60.0
"""...up to this."""


def _cut_or_grow(
    estimate: float, loss: float, elapsed: float, floor: float, ceiling: float
) -> float:
    """Galène's rule for one report: cut on high loss, grow slowly on low loss, else hold."""
    if loss > CUT_LOSS:
        estimate *= 1.0 - loss / 2.0
    elif loss < GROW_LOSS:
        step = min(max(elapsed, 0.0), MAX_GROWTH_STEP)
        estimate *= (1.0 + GROWTH_PER_SECOND) ** step
    return max(floor, min(ceiling, estimate))


@dataclass
class DownlinkEstimate:
    """One subscriber's downlink in kbit/s, from the REMB it sends and the loss it reports.

    Given what the SFU sends the subscriber (``sending``), a REMB near or above it only says
    that what arrives arrives (aiortc's and a browser's estimates stay close to what they
    receive), so it is no ceiling: the estimate may grow above it on reports without loss,
    which raises a held-back stream on trial (the probe); loss then cuts it, and it keeps
    under the rate that failed for a while (``PROBE_BACKOFF_SECONDS``, doubling up to
    ``PROBE_BACKOFF_MAX_SECONDS`` while probes keep failing). A REMB well below what arrives
    (``REMB_BINDING``) is congestion: a ceiling at once, undone when no loss follows. Without
    ``sending`` (nothing measured yet) every REMB is a ceiling. Loss counts beyond the link's
    own (``random_loss``, see ``on_loss``), so random loss on a wide link takes nothing away.
    """

    floor: float = FLOOR_KBPS
    remb: float | None = None
    """The subscriber's last REMB (its own estimate)."""
    ceiling: float | None = None
    """What the estimate may not exceed now (None: only ``CEILING_KBPS``)."""
    estimate: float | None = None
    """Our estimate; None until the first REMB or heavy loss (nothing known: nothing held back)."""
    reported_at: float | None = None
    """When the last loss report came."""
    cut_at: float | None = None
    """When loss last cut the estimate (the subscriber is recovering for a while after)."""
    failed_kbps: float | None = None
    """The rate whose loss made the last cut: growth stays under it until ``failed_until``."""
    failed_until: float = 0.0
    backoff: float = 0.0
    """How long the last failed rate is kept (0: no probe failed lately)."""
    loss: float = 0.0
    """The last loss fraction reported."""
    random_loss: float = 0.0
    """The link's own loss, learnt (random loss that does not come from the rate)."""
    remb_bound: bool = False
    """The last REMB was well under what arrives: congestion."""
    remb_judged: bool = False
    """The last REMB could be compared with what arrives (what was sent was known)."""
    remb_cut_at: float | None = None
    """When such a REMB last lowered the estimate."""
    low_since: float | None = None
    """Since when the REMBs have been well under what arrives."""
    remb_undo: float | None = None
    """The estimate before a REMB cut that no loss has confirmed yet."""
    distrust_until: float = float("-inf")
    distrust: float = 0.0
    """REMBs bind again only after ``distrust_until`` (one cut was undone lately)."""
    loss_congested: bool = False
    """The loss said congestion and has not fallen under 2% (beyond the random) since."""
    cut_from: tuple[float, float] | None = None
    """(what was sent, loss) at the last loss cut, to see whether the loss falls with the rate."""

    def on_remb(
        self, kbps: float, now: float, sending: float | None = None, probe: bool = True
    ) -> None:
        """Take a REMB: it starts the estimate, and bounds it unless it is just what arrives.

        ``sending``: what was sent lately (kbit/s, video: a REMB leaves audio out); a REMB well
        under what of it arrives is congestion, a ceiling at once (a cut link shows in the REMB
        before the receiver reports it). ``probe``: something is held back, so the estimate may
        grow past a REMB that only says what arrives; else that REMB bounds it too (the
        allocator then keeps what is sent)."""
        self.remb = max(self.floor, kbps)
        if self.estimate is None:
            self.estimate = self.remb
            self.reported_at = now
        arrives = None if sending is None else sending * (1.0 - self.loss)
        self.remb_judged = arrives is not None
        trusted = now >= self.distrust_until
        if arrives is not None and (self.remb >= REMB_BINDING * arrives or not trusted):
            self.remb_bound, self.low_since = False, None
            self.ceiling = None if probe else self.remb
            if not probe:
                self.estimate = min(self.estimate, self.remb)
            return
        if arrives is not None:
            if self.low_since is None:
                self.low_since = now
            if now - self.low_since < REMB_PERSIST:
                self.ceiling = None if probe else max(self.remb, self.ceiling or self.remb)
                return  # the first low one: wait for the next
        self.ceiling = self.remb
        if arrives is not None:
            self.remb_bound = True
            if self.remb < self.estimate:
                self.remb_cut_at = now  # the loss reports of this episode are still to come
                if self.remb_undo is None:
                    self.remb_undo = self.estimate
        self.estimate = min(self.estimate, self.remb)

    def remb_lapsed(self) -> None:
        """No REMB came lately (its streams are paused, or it stopped): it bounds no more."""
        self.ceiling = None
        self.remb_bound = False

    def _check_remb_cut(self, excess: float, now: float) -> None:
        """A REMB cut is confirmed by the loss that follows it, or undone without any."""
        if self.remb_undo is None or self.remb_cut_at is None:
            return
        if excess >= GROW_LOSS:
            self.remb_undo = None  # the link was full: the loss came
        elif now - self.remb_cut_at >= REMB_CHECK:
            assert self.estimate is not None
            self.estimate = max(self.estimate, self.remb_undo)
            self.remb_undo, self.remb_bound, self.ceiling = None, False, None
            again = now - self.distrust_until < PROBE_BACKOFF_MAX_SECONDS
            self.distrust = (
                min(PROBE_BACKOFF_MAX_SECONDS, 2 * self.distrust)
                if again and self.distrust
                else REMB_DISTRUST_SECONDS
            )
            self.distrust_until = now + self.distrust

    @property
    def congested(self) -> bool:
        """The last REMB or loss said the link is full (not only lossy): a REMB alone may then
        take streams away."""
        return self.remb_bound or self.loss_congested

    def on_loss(
        self, fraction: float, now: float, sending: float | None = None,
        before_rise: float | None = None,
    ) -> None:  # fmt: skip
        """Take the loss fraction (0..1) of a receiver report (``sending``: what the SFU sent
        the subscriber lately, kbit/s; a cut starts from it when the estimate is far above;
        ``before_rise``: what it sent before its plan raised a stream in the last seconds,
        None when it did not: the publishers' own ups and downs are no rise).

        The loss counted is what exceeds the link's own (``random_loss``): loss that stays
        while the rate is steady is learnt, slowly, as the link's (meanwhile 2-10% holds); loss
        that comes with a rise is congestion (back to what carried); loss that stays the same
        when the rate is cut was the link's after all."""
        if self.estimate is None:
            # No REMB yet (a late one, a client that sends none): heavy loss at a known rate
            # still says the link is full, so the estimate starts from what is sent.
            if sending is None or fraction <= CUT_LOSS:
                return
            self.estimate = sending
        self.loss = fraction
        self._unless_still(fraction, now, sending)
        excess = max(0.0, fraction - self.random_loss)
        self._check_remb_cut(excess, now)
        rose = before_rise is not None
        if excess > CUT_LOSS or (excess >= GROW_LOSS and rose):
            self._congestion(excess, now, sending, before_rise if excess <= CUT_LOSS else None)
            return
        after_remb = self.remb_cut_at is not None and now - self.remb_cut_at < REMB_CHECK
        if excess >= GROW_LOSS and (self.remb_bound or after_remb or not self.remb_judged):
            # The REMB has cut for this episode, or it could not be told from what arrives
            # (nothing was measured as sent yet): it decides, and the estimate holds (Galène).
            self.loss_congested = True
        if not self.loss_congested and not rose:
            # At a steady rate, loss that does not grow into a cut is learnt as the link's own,
            # slowly (a link that narrows while the rate is steady loses more and more: cut).
            self.random_loss += RANDOM_SMOOTHING * (min(CUT_LOSS, fraction) - self.random_loss)
        if excess < GROW_LOSS:
            self.loss_congested = False
        elapsed = 0.0 if self.reported_at is None else now - self.reported_at
        self.reported_at = now
        before = self.estimate
        ceiling = CEILING_KBPS if self.ceiling is None else self.ceiling
        if self.failed_kbps is not None:
            if now < self.failed_until:
                ceiling = min(ceiling, max(before, PROBE_UNDER * self.failed_kbps))
            elif before > self.failed_kbps and now - self.failed_until > self.backoff:
                self.failed_kbps, self.backoff = None, 0.0  # it held above: the probe worked
        self.estimate = _cut_or_grow(before, excess, elapsed, self.floor, ceiling)

    def _congestion(
        self, excess: float, now: float, sending: float | None, carried: float | None
    ) -> None:
        """Loss that says the link is full: cut (Galène's factor for the loss beyond the
        random, or back to ``carried``, the rate before a rise that brought it), once per
        episode."""
        self.loss_congested = True
        self.reported_at = now
        assert self.estimate is not None
        if self.cut_at is not None and now - self.cut_at < CUT_INTERVAL:
            return  # the same episode: reports lag, and one cut a second is enough
        if self.remb_cut_at is not None and now - self.remb_cut_at < REPORT_LAG:
            return  # the REMB already cut for this episode; these reports describe before it
        before = self.estimate
        base = before if sending is None else min(before, SENDING_HEADROOM * sending)
        self._failed(base, now)
        if carried is None:
            self.estimate = _cut_or_grow(base, excess, 0.0, self.floor, before)
        else:
            self.estimate = max(self.floor, min(before, carried))
        self.cut_at = now
        if sending is not None:
            self.cut_from = (sending, self.loss)

    def _unless_still(self, fraction: float, now: float, sending: float | None) -> None:
        """After a cut, once less is sent: loss that did not fall with the rate is the link's
        own, so it is learnt as random and the cut's reason is gone."""
        if self.cut_from is None or sending is None or self.cut_at is None:
            return
        rate, loss = self.cut_from
        if sending > CUT_SHARE * rate or now - self.cut_at < REPORT_LAG:
            return
        self.cut_from = None
        if fraction >= GROW_LOSS and fraction >= STILL_LOSS * loss:
            self.random_loss = min(CUT_LOSS, fraction)
            self.loss_congested = False
            self.failed_kbps, self.backoff = None, 0.0

    def _failed(self, kbps: float, now: float) -> None:
        """Loss came at ``kbps``: keep under it for a while, longer each time in a row."""
        again = self.failed_kbps is not None and now - self.failed_until < PROBE_BACKOFF_MAX_SECONDS
        self.backoff = (
            min(PROBE_BACKOFF_MAX_SECONDS, 2 * self.backoff)
            if again and self.backoff
            else PROBE_BACKOFF_SECONDS
        )
        self.failed_kbps, self.failed_until = kbps, now + self.backoff

    def kbps(self) -> float | None:
        """The downlink to plan for (None: unknown, so nothing is held back)."""
        return self.estimate

    def recovering(self, now: float, seconds: float = RESUME_SECONDS) -> bool:
        """True shortly after loss cut the estimate."""
        return self.cut_at is not None and now - self.cut_at < seconds


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

    def on_uplink_loss(self, fraction: float, now: float) -> None:
        """Take the loss the publisher's receiver reports show on its uplink (0..1)."""
        if not self.outage.counts(now):
            self.reported_at = now
            return
        if fraction > CUT_LOSS and self.cut_at is not None and now - self.cut_at < CUT_INTERVAL:
            return  # one cut a second, as for a downlink
        elapsed = 0.0 if self.reported_at is None else now - self.reported_at
        self.reported_at = now
        if fraction > CUT_LOSS:
            self.cut_at = now
        self.uplink = _cut_or_grow(self.uplink, fraction, elapsed, self.floor, self.ceiling)

    def kbps(self, allowances: Iterable[float]) -> float:
        """The REMB to send, given what each subscriber can take (nobody watching: the floor)."""
        best = max(allowances, default=self.floor)
        return max(self.floor, min(best, self.ceiling, self.uplink))
