"""Carries out allocation.py's plans on the live packet path: one timer per room, no packet work.

Every TICK_SECONDS the room calls ``Allocator.step``: each stream's bitrate is measured at its
publisher, each subscriber's downlink estimate takes the loss its receiver reports showed since
the last step (REMBs come in as they arrive), its streams are ordered by relevance and fitted,
and the plan is applied to its PacketSubscribers (``set_paused``, ``max_temporal_layer``). The
publishers' REMB caps follow from what the subscribers can take, and each subscriber is told
(``network``) when what it receives is held back. See docs/media.md, "Allocation".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .allocation import (
    AUDIO_KBPS,
    LEVELS,
    MAX_TEMPORAL_LAYER,
    DownlinkEstimate,
    Focus,
    KeyframeLimiter,
    Level,
    OutageFilter,
    Plan,
    PublisherCap,
    SubscriberAllocation,
    VideoStream,
    allowance,
    recent,
    relevance_order,
)
from .forward import PacketPublisher, PacketSubscriber
from .limits import RetransmitBudget

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
"""How often a room's allocation is worked out again."""
HEADER_BYTES = 50
"""RTP, SRTP, UDP and IP headers per packet, counted in a stream's bitrate."""
RATE_SMOOTHING = 0.5
"""Weight of the newest measurement in a stream's bitrate."""
REMB_FRESH_SECONDS = 3.0
"""A REMB older than this no longer counts (its stream is paused, or gone)."""
KEEP_SLACK_KBPS = 1.0
"""Added to what is kept so that rounding in the sums cannot pause a stream that fits."""
RISE_SECONDS = 4.0
"""Loss reported this long after a plan raised a stream may be that rise's (reports lag)."""
CARRIED_MARGIN = 0.1
"""Loss that came with a rise goes back to what carried before it, at the streams' rates now
and with this much room: a stream's rate moves by about this much from one second to the next,
and without it the streams that were fine (the speaker's) could be paused as well."""
SENT_SECONDS = 5.0
"""A REMB is compared with the least that was sent in this window (it lags what is sent, and
aiortc's REMB for a stream that just started comes after 3 s)."""
UNBOUND_SECONDS = 30.0
"""A subscriber whose link has held everything (no stream held back, no congestion) this long
bounds no publisher: its estimate then only says what arrives, not what it could take, and
capping publishers to it would keep one that had to slow down (its own weak uplink) slow."""
VIDEO_SLOTS = ("video", "screen")
Signal = Callable[[str, dict[str, Any]], None]


def stream_key(person_id: str, slot: str) -> str:
    """The name of a person's camera ("video") or screen in a plan."""
    return person_id if slot == "video" else f"{person_id}/{slot}"


class PeerLike(Protocol):
    """What the allocator needs of one person's media connection (sfu.MediaPeer)."""

    @property
    def person_id(self) -> str: ...

    def publisher(self, slot: str) -> PacketPublisher: ...

    def outlets(self) -> list[tuple[str, PacketSubscriber]]:
        """The subscriber's outgoing streams that carry someone, with their slot."""
        ...

    def cap_publisher(self, slot: str, kbps: float | None) -> None:
        """Cap the REMB sent towards this person's camera or screen (None: no cap)."""
        ...

    def uplink_loss(self, slot: str) -> float | None:
        """Loss on this person's uplink for a slot since the last call (None: nothing came)."""
        ...

    def signal(self, kind: str, value: dict[str, Any]) -> None:
        """Send this person a message."""
        ...


@dataclass
class StreamRate:
    """One published video's bitrate, measured from its publisher's counters."""

    octets: int = 0
    packets: int = 0
    at: float | None = None
    kbps: float = 0.0
    keyframes: int = 0

    def measure(self, publisher: PacketPublisher, now: float) -> None:
        """Take the counters' movement since the last measurement."""
        if self.at is not None and now > self.at:
            packets = publisher.packets - self.packets
            sent = publisher.octets - self.octets + HEADER_BYTES * packets
            fresh = max(0.0, sent) * 8 / (now - self.at) / 1000
            self.kbps = (
                fresh
                if self.kbps == 0
                else (RATE_SMOOTHING * fresh + (1 - RATE_SMOOTHING) * self.kbps)
            )
        self.octets, self.packets, self.at = publisher.octets, publisher.packets, now


@dataclass
class Subscriber:
    """What the allocator keeps for one person as a subscriber."""

    downlink: DownlinkEstimate = field(default_factory=DownlinkEstimate)
    allocation: SubscriberAllocation = field(default_factory=SubscriberAllocation)
    budget: RetransmitBudget = field(default_factory=RetransmitBudget)
    """Retransmissions to this person, all streams together."""
    rembs: dict[frozenset[int], tuple[float, float]] = field(default_factory=dict)
    """The SSRCs of a REMB -> its kbit/s and when it came. A browser's REMB names every
    stream (one entry); aiortc's receivers each send their own (the downlink is their sum)."""
    losses: list[float] = field(default_factory=list)
    """Loss fractions of the receiver reports since the last step."""
    recent_loss: float = 0.0
    """The loss over the last few steps' reports (the operator's metrics)."""
    bounded_at: float | None = None
    """When its link last held something back or was congested (see UNBOUND_SECONDS)."""
    rtt: float | None = None
    outage: OutageFilter = field(default_factory=OutageFilter)
    """Which receiver reports describe an outage, not the link as it is now."""
    plan: Plan | None = None
    leads: set[str] = field(default_factory=set)
    """The featured and speaking streams at the last step."""
    told: tuple[bool, tuple[str, ...]] = (False, ())
    """The last ``network`` message sent (constrained, paused people)."""
    raised: tuple[float, float, Plan | None] | None = None
    """When a plan last raised a stream (resumed it, a level up, a new one), the video it sent
    before, and the plan before (loss soon after is the rise's doing)."""
    traced: str = ""
    """The last state logged at debug level (a line is logged only when it changes)."""
    sent: list[tuple[float, float]] = field(default_factory=list)
    """(when, kbit/s) of the video the plans sent this person, over the last SENT_SECONDS
    (video only: aiortc's REMBs come from its video receivers and leave audio out)."""

    def sending(self, now: float) -> tuple[float, float] | None:
        """The least and the latest of what was sent lately (None: nothing planned yet)."""
        self.sent = [(t, kbps) for t, kbps in self.sent if now - t <= SENT_SECONDS]
        # Plans that sent nothing (no rate measured yet, all paused) say nothing to compare with.
        sent = [kbps for _, kbps in self.sent if kbps > 0]
        if not sent:
            return None
        return min(sent), sent[-1]


@dataclass
class Allocator:
    """One room's live allocation (state between steps; the policy is in allocation.py)."""

    clock: Callable[[], float] = time.monotonic
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    rates: dict[str, StreamRate] = field(default_factory=dict)
    """Stream key -> its measured bitrate."""
    caps: dict[str, PublisherCap] = field(default_factory=dict)
    limiter: KeyframeLimiter = field(default_factory=KeyframeLimiter)
    last_spoke: dict[str, float] = field(default_factory=dict)
    keys: dict[PacketPublisher, str] = field(default_factory=dict)
    """Each live video publisher's stream key (for the keyframe gate)."""
    paused: int = 0
    """Video streams on screen paused for the network, over all subscribers, at the last step."""
    thinned: int = 0
    """Video streams on screen thinned for the network at the last step."""

    def subscriber(self, person_id: str) -> Subscriber:
        """One person's state (made on first use)."""
        found = self.subscribers.get(person_id)
        if found is None:
            found = self.subscribers[person_id] = Subscriber()
            found.budget.clock = self.clock
        return found

    def on_remb(self, person_id: str, kbps: float, ssrcs: Iterable[int] = ()) -> None:
        """A REMB from a subscriber: its estimate for the streams ``ssrcs`` (all of them, from
        a browser); one naming any of the same streams replaces an earlier one."""
        rembs = self.subscriber(person_id).rembs
        key = frozenset(ssrcs)
        for other in [k for k in rembs if k & key or not k]:
            del rembs[other]
        rembs[key] = (kbps, self.clock())

    def on_report(self, person_id: str, fraction: float, rtt: float | None) -> None:
        """One receiver report block from a subscriber (loss, and the sender's round trip)."""
        found = self.subscriber(person_id)
        # Reports come about once a second per stream; those just after an outage do not count.
        if found.outage.counts(self.clock()) and len(found.losses) < 256:
            found.losses.append(fraction)
        if rtt is not None:
            found.rtt = rtt

    def keyframe_gate(self, person_id: str) -> Callable[[PacketSubscriber], bool]:
        """Decides whether one of this subscriber's keyframe requests goes on to the publisher."""

        def gate(outlet: PacketSubscriber) -> bool:
            key = self.keys.get(outlet.publisher) if outlet.publisher is not None else None
            return key is None or self.limiter.request(person_id, key, self.clock())

        return gate

    def focus(
        self, peers: Sequence[PeerLike], sharing: str | None, featured: str | None, now: float,
        speaker: str | None,
    ) -> Focus:  # fmt: skip
        """What matters in the room now: the screen share and the icebreaker speaker first."""
        if speaker is not None:
            self.last_spoke[speaker] = now
        first = []
        if sharing is not None:
            first.append(stream_key(sharing, "screen"))
        if featured is not None:
            first.append(stream_key(featured, "video"))
        return Focus(
            featured=tuple(first),
            speaker=speaker,
            last_spoke=dict(self.last_spoke),
            tiles=tuple(p.person_id for p in peers),
        )

    def step(self, peers: Sequence[PeerLike], visible: Mapping[str, set[str]], focus: Focus,
             now: float) -> None:  # fmt: skip
        """Work out and apply every subscriber's plan and every publisher's cap."""
        streams = self._measure(peers, now)
        allowances: dict[str, list[float]] = {}
        self.paused = self.thinned = 0
        for peer in peers:
            for key, value in self._allocate(peer, streams, visible, focus, now).items():
                allowances.setdefault(key, []).append(value)
        for peer in peers:
            for slot in VIDEO_SLOTS:
                key = stream_key(peer.person_id, slot)
                cap = self.caps.setdefault(key, PublisherCap())
                loss = peer.uplink_loss(slot)
                if loss is not None:
                    cap.on_uplink_loss(loss, now)
                wanted = allowances.get(key)
                kbps = cap.kbps(wanted) if wanted else None
                peer.cap_publisher(slot, kbps)
                if log.isEnabledFor(logging.DEBUG):
                    line = f"uplink {cap.uplink:.0f} loss {loss or 0:.2f} remb {kbps or 0:.0f}"
                    _trace_changed(cap, f"publisher {key}", line)
        self._forget_gone({p.person_id for p in peers})

    def _measure(self, peers: Iterable[PeerLike], now: float) -> dict[str, VideoStream]:
        """Every published video's bitrate, and keyframes sent since the last step."""
        self.keys.clear()
        streams: dict[str, VideoStream] = {}
        for peer in peers:
            for slot in VIDEO_SLOTS:
                publisher = peer.publisher(slot)
                key = stream_key(peer.person_id, slot)
                self.keys[publisher] = key
                rate = self.rates.setdefault(key, StreamRate())
                rate.measure(publisher, now)
                if publisher.keyframes != rate.keyframes:
                    rate.keyframes = publisher.keyframes
                    self.limiter.on_keyframe(key)
                layered = any(p.tid is not None for p in publisher.recent)
                streams[key] = VideoStream(key, peer.person_id, rate.kbps, layered)
        return streams

    def _allocate(
        self, peer: PeerLike, streams: Mapping[str, VideoStream], visible: Mapping[str, set[str]],
        focus: Focus, now: float,
    ) -> dict[str, float]:  # fmt: skip
        """Plan one subscriber's streams and apply the plan; return what it can take of each."""
        state = self.subscriber(peer.person_id)
        outlets = peer.outlets()
        audio = sum(1 for slot, _ in outlets if slot == "audio")
        fresh = {k: v for k, v in state.rembs.items() if now - v[1] <= REMB_FRESH_SECONDS}
        state.rembs = fresh
        sending = state.sending(now)
        least, latest = (None, None) if sending is None else sending
        if fresh and not state.outage.silent(now):
            # Only while something is held back does the estimate probe above a REMB that is
            # just what arrives (else there is nothing to try, and the REMB bounds it). Just
            # after an outage a REMB measures the restart, not the link: it waits.
            probing = state.plan is not None and state.plan.constrained
            remb = sum(kbps for kbps, _ in fresh.values())
            covers = None if least is None else least * _coverage(fresh, state.plan)
            state.downlink.on_remb(remb, now, covers, probing)
        elif not fresh:
            state.downlink.remb_lapsed()
        if state.losses:
            loss = sum(state.losses) / len(state.losses)
            state.recent_loss = recent(state.recent_loss, loss)
            total = None if latest is None else latest + audio * AUDIO_KBPS
            rise = state.raised
            before = None
            if rise is not None and now - rise[0] <= RISE_SECONDS:
                _, sent, prior = rise
                kept = sent if prior is None else max(sent, prior.kbps(streams.values()))
                before = kept * (1.0 + CARRIED_MARGIN) + audio * AUDIO_KBPS
            state.downlink.on_loss(loss, now, total, before)
            state.losses.clear()
        budget = state.downlink.kbps()
        state.budget.set_kbps(budget)
        carried = []
        for slot, outlet in outlets:
            if slot in VIDEO_SLOTS and outlet.publisher is not None:
                found = streams.get(stream_key(outlet.publisher.person_id, slot))
                if found is not None:  # else its publisher is leaving
                    carried.append((found, outlet))
        seen = visible.get(peer.person_id)
        shown = [s for s, _ in carried if _on_screen(s, seen)]
        hidden = [s for s, _ in carried if not _on_screen(s, seen)]
        ordered = relevance_order(shown, focus, None, now)
        if budget is not None and not state.downlink.congested:
            # What arrives fits unless the link is full: a REMB that only says what arrives
            # (aiortc's follows what it receives closely, and its per-stream REMBs come at
            # different times) never takes a stream away, nor does the link's own random loss;
            # a REMB well under what arrives, or loss that comes with the rate, does. A stream
            # not planned yet counts at full rate: it fits until then (aiortc's first REMBs
            # are far below the link).
            budget = max(budget, _keeping(state, ordered, audio))
        leads = {s.key for s in ordered if s.key in focus.featured or s.person == focus.speaker}
        for key in leads - state.leads:
            state.allocation.levels.pop(key, None)  # a new speaker starts where it fits, at once
        state.leads = leads
        if budget is not None and state.downlink.unconfirmed:
            # A REMB cut that no loss has confirmed yet (aiortc's estimate can dip to a third
            # of what arrives on jitter alone, and a cut link loses packets within a second):
            # meanwhile the first streams (the featured and the speaker's, or the most relevant
            # one, as ``update`` counts them) keep what they have.
            budget = max(budget, _keeping(state, ordered[: max(1, len(leads))], audio))
        plan = state.allocation.update(budget, audio, ordered, hidden, now, max(1, len(leads)))
        if _raises(state.plan, plan, ordered) and latest is not None:
            state.raised = (now, latest, state.plan)
        state.plan = plan
        recovering = state.downlink.cut_at == now
        for stream, outlet in carried:
            level = plan.levels.get(stream.key, "paused")
            self._apply(peer.person_id, stream.key, outlet, level, recovering, now)
        self._tell(peer, plan, shown)
        state.sent.append((now, plan.kbps(shown)))
        if log.isEnabledFor(logging.DEBUG):
            _trace(peer.person_id, state, latest)
        if plan.constrained or state.downlink.congested:
            state.bounded_at = now
        unbound = state.bounded_at is None or now - state.bounded_at >= UNBOUND_SECONDS
        if budget is None or unbound:
            return {s.key: allowance(plan, s, None, 0.0) for s in shown}
        spare = budget - audio * AUDIO_KBPS - plan.kbps(shown)
        return {s.key: allowance(plan, s, budget, spare) for s in shown}

    def _apply(
        self, person_id: str, key: str, outlet: PacketSubscriber, level: Level, recovering: bool,
        now: float,
    ) -> None:  # fmt: skip
        paused = level == "paused"
        if outlet.rewriter.paused != paused:
            outlet.set_paused(paused)  # resuming asks the publisher for a keyframe itself
            if not paused:
                self.limiter.wait_for_keyframe(person_id, key, now)
        elif recovering and not paused:
            self.limiter.wait_for_keyframe(person_id, key, now)
        outlet.rewriter.max_temporal_layer = None if level == "full" else MAX_TEMPORAL_LAYER[level]

    def _tell(self, peer: PeerLike, plan: Plan, shown: Sequence[VideoStream]) -> None:
        """Send ``network`` when what is held back for this subscriber changed."""
        cameras = [s for s in shown if "/" not in s.key]
        paused = tuple(sorted(s.person for s in cameras if plan.levels.get(s.key) == "paused"))
        self.paused += sum(1 for s in shown if plan.levels.get(s.key) == "paused")
        self.thinned += sum(1 for s in shown if plan.levels.get(s.key) in ("thin-1", "thin-2"))
        told = (plan.constrained, paused)
        state = self.subscriber(peer.person_id)
        if told != state.told:
            state.told = told
            peer.signal("network", {"constrained": plan.constrained, "paused": list(paused)})

    def _forget_gone(self, present: set[str]) -> None:
        for person_id in [p for p in self.subscribers if p not in present]:
            del self.subscribers[person_id]
            self.limiter.forget(person_id)
            self.limiter.forget(stream_key(person_id, "screen"))
            self.last_spoke.pop(person_id, None)
            for slot in VIDEO_SLOTS:
                self.rates.pop(stream_key(person_id, slot), None)
                self.caps.pop(stream_key(person_id, slot), None)


def _keeping(state: Subscriber, streams: Sequence[VideoStream], audio: int) -> float:
    """The budget that keeps ``streams`` at their current levels (a new one at full rate),
    with the audio."""
    held = {s.key: state.allocation.levels.get(s.key, "full") for s in streams}
    return Plan(held, False).kbps(streams) + audio * AUDIO_KBPS + KEEP_SLACK_KBPS


def _trace(person_id: str, state: Subscriber, sending: float | None) -> None:
    """Log one subscriber's estimate and plan when they change (``--log-level debug``)."""
    down = state.downlink
    levels = (
        ""
        if state.plan is None
        else " ".join(
            f"{key.split('/')[0][-4:]}:{level}" for key, level in sorted(state.plan.levels.items())
        )
    )
    line = (
        f"estimate {down.estimate or 0:.0f} remb {down.remb or 0:.0f} sending {sending or 0:.0f} "
        f"loss {down.loss:.2f} own {down.random_loss:.2f} "
        f"congested {int(down.remb_bound)}{int(down.loss_congested)} plan {levels}"
    )
    _trace_changed(state, f"allocation {person_id}", line)


def _trace_changed(owner: Subscriber | PublisherCap, what: str, line: str) -> None:
    """Log ``what: line`` at debug level when it differs from the last line logged for it."""
    if line != owner.traced:
        owner.traced = line
        log.debug("%s: %s", what, line)


def _coverage(rembs: Mapping[frozenset[int], object], plan: Plan | None) -> float:
    """The share of the video sent that the REMBs speak for: aiortc's come one per stream, and
    a stream's first comes seconds after its packets (a browser's names every stream)."""
    if plan is None or not rembs or any(not ssrcs for ssrcs in rembs):
        return 1.0
    sent = sum(1 for level in plan.levels.values() if level != "paused")
    named = len(frozenset().union(*rembs))
    return 1.0 if sent == 0 else min(1.0, named / sent)


def _raises(before: Plan | None, after: Plan, shown: Iterable[VideoStream]) -> bool:
    """Whether ``after`` sends a stream on screen at a better level than ``before`` did."""
    if before is None:
        return False
    for stream in shown:
        old = before.levels.get(stream.key, "paused")
        if LEVELS.index(after.levels.get(stream.key, "paused")) < LEVELS.index(old):
            return True
    return False


def _on_screen(stream: VideoStream, seen: set[str] | None) -> bool:
    """Whether the page shows a stream: a camera when its tile is visible, a shared screen
    whenever the page shows anything (a hidden tab reports nothing visible)."""
    if seen is None:
        return True
    if "/" in stream.key:
        return bool(seen)
    return stream.person in seen
