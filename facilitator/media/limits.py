"""Bounds on the work one participant's RTP and RTCP can make the server do.

Pure Python with an injected clock (``aiortc_seams`` installs them into aiortc): a NACK flood
gets a bounded number of retransmissions, and a jump in sequence numbers never costs work
in proportion to its size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

RETRANSMITS_PER_PACKET = 3
"""A packet is sent again at most this many times, however often it is asked for."""
SPACING_FLOOR = 0.03
"""Seconds between two retransmissions of one packet when the round trip is unknown or shorter."""
SPACING_CEILING = 1.0
"""The round trip used for spacing is capped here (a bogus report must not stop recovery)."""
RETRANSMIT_SHARE = 0.2
"""Retransmissions earned per packet sent: a fifth of the stream, enough to repair 20% loss."""
RETRANSMIT_FLOOR_RATE = 20.0
"""Retransmissions earned per second whatever the packet rate (audio, slow video)."""
RETRANSMIT_BURST = 64.0
"""Most retransmissions allowed at once (a lost keyframe is a few dozen packets)."""
HISTORY = 128
"""Packets a sender keeps for retransmission (aiortc's ``RTP_HISTORY_SIZE``)."""
NACK_TRIES = 5
"""A missing packet is NACKed at most this many times (then the receiver waits for a keyframe)."""
NACK_RETRY_SECONDS = 0.1
"""Seconds before a packet still missing is NACKed again while the round trip is unknown
(libwebrtc's default round trip)."""
NACK_RETRY_FLOOR = 0.02
"""Seconds at least between two NACKs of one packet (a round trip on loopback is ~1 ms)."""
MAX_JUMP = 500
"""A sequence number further ahead than this is a restarted stream, not a loss to NACK."""
MAX_SSRCS_PER_RECEIVER = 4
"""SSRCs one receiver accepts, the negotiated ones included (video and its RTX need two)."""
MAX_RTCP_SSRCS = 256
"""SSRCs one connection may send RTCP from (an aiortc peer uses one per m-line: 2 per person)."""


def seq_newer(a: int, b: int) -> bool:
    """True when 16-bit sequence number ``a`` comes after ``b`` (RFC 1982 arithmetic)."""
    return a != b and (a - b) % 65536 < 32768


SUBSCRIBER_RETRANSMIT_SHARE = 0.15
"""Share of a subscriber's downlink estimate its retransmissions may take, all streams together."""
RETRANSMIT_PACKET_BYTES = 1100
"""Bytes counted per retransmission when a budget in kbit/s is turned into packets."""


@dataclass
class RetransmitBudget:
    """A token bucket shared by one subscriber's senders: retransmissions within a share of its
    downlink (LiveKit's rule), so repairing loss never crowds out what it receives first."""

    clock: Callable[[], float] = time.monotonic
    rate: float | None = None
    """Retransmissions allowed per second (None: no budget known, no limit beyond the limiter)."""
    tokens: float = RETRANSMIT_BURST
    refilled_at: float | None = None
    refused: int = 0

    def set_kbps(self, kbps: float | None, share: float = SUBSCRIBER_RETRANSMIT_SHARE) -> None:
        """Follow the subscriber's downlink estimate (None: unknown)."""
        self.rate = None if kbps is None else kbps * 1000 * share / (8 * RETRANSMIT_PACKET_BYTES)

    def take(self) -> bool:
        """True when one more retransmission fits now."""
        if self.rate is None:
            return True
        now = self.clock()
        if self.refilled_at is not None:
            earned = (now - self.refilled_at) * self.rate
            self.tokens = min(max(RETRANSMIT_BURST, self.rate), self.tokens + earned)
        self.refilled_at = now
        if self.tokens < 1:
            self.refused += 1
            return False
        self.tokens -= 1
        return True


@dataclass
class _Sent:
    seq: int
    count: int = 0
    last: float = float("-inf")


@dataclass
class RetransmitLimiter:
    """Decides which packets a NACK gets retransmitted, for one sender.

    Each packet goes out again at most RETRANSMITS_PER_PACKET times, at least one round trip
    apart (duplicates within a NACK, or NACKs repeated faster than a round trip, get nothing),
    and a token bucket caps retransmissions at a share of the packets sent plus a small floor.
    """

    clock: Callable[[], float] = time.monotonic
    history: int = HISTORY
    tokens: float = RETRANSMIT_BURST
    """Retransmissions allowed right now."""
    refilled_at: float | None = None
    packets_seen: int = 0
    """The sender's packet count at the last refill."""
    slots: dict[int, _Sent] = field(default_factory=dict)
    """Per history slot (seq modulo ``history``): the packet in it and its retransmissions."""
    retransmitted: int = 0
    refused: int = 0
    budget: RetransmitBudget | None = None
    """The subscriber's budget, shared by its senders (None: this sender's bucket only)."""

    def select(self, lost: Iterable[int], rtt: float | None, packets_sent: int) -> list[int]:
        """The sequence numbers to send again for one NACK (each at most once, in order).

        ``rtt`` is the sender's round-trip estimate in seconds (None when unknown) and
        ``packets_sent`` its running count of RTP packets.
        """
        now = self.clock()
        self._refill(now, packets_sent)
        spacing = max(SPACING_FLOOR, min(rtt or 0.0, SPACING_CEILING))
        unique = dict.fromkeys(seq % 65536 for seq in lost)
        chosen: list[int] = []
        for seq in unique:
            if self.tokens < 1:
                break
            if self._allow(seq, now, spacing):
                if self.budget is not None and not self.budget.take():
                    break
                self.tokens -= 1
                chosen.append(seq)
        self.retransmitted += len(chosen)
        self.refused += len(unique) - len(chosen)
        return chosen

    def _allow(self, seq: int, now: float, spacing: float) -> bool:
        index = seq % self.history
        sent = self.slots.get(index)
        if sent is None or sent.seq != seq:
            if sent is not None and seq_newer(sent.seq, seq):
                return False  # older than the packet in that slot: no longer kept
            sent = self.slots[index] = _Sent(seq)
        if sent.count >= RETRANSMITS_PER_PACKET or now - sent.last < spacing:
            return False
        sent.count += 1
        sent.last = now
        return True

    def _refill(self, now: float, packets_sent: int) -> None:
        if self.refilled_at is not None:
            earned = (now - self.refilled_at) * RETRANSMIT_FLOOR_RATE
            earned += max(0, packets_sent - self.packets_seen) * RETRANSMIT_SHARE
            self.tokens = min(RETRANSMIT_BURST, self.tokens + earned)
        self.refilled_at = now
        self.packets_seen = packets_sent


class _Numbered(Protocol):
    @property
    def sequence_number(self) -> int: ...


class BoundedNackGenerator:
    """Tracks missing packets to NACK, like aiortc's NackGenerator, in bounded work per packet,
    and asks again for what stays missing (as a browser does).

    aiortc marks every sequence number of a jump missing (up to 32,767) and then walks them all
    to keep the last 128: about 10-18 ms per packet, so 50 packets a second fill a core. Here
    only the last ``window`` numbers of a gap are marked, and a jump over ``max_jump`` counts as
    a restarted stream: nothing is marked and nothing is NACKed.

    aiortc NACKs only when a new gap shows, so a lost NACK or a lost retransmission waits for
    the next loss; a frame waits with it. Here a packet still missing one round trip after it
    was asked for (``rtt``; NACK_RETRY_SECONDS while unknown) is asked for again, up to
    NACK_TRIES times (libwebrtc's NACK module does the same). ``add`` returns True when a NACK
    is due; the NACK lists every missing packet (``missing``), as aiortc's does.
    """

    def __init__(
        self,
        max_jump: int = MAX_JUMP,
        window: int = HISTORY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_seq: int | None = None
        self.missing: set[int] = set()
        """Sequence numbers to NACK (at most ``window``, all within ``window`` of max_seq)."""
        self.asked: dict[int, tuple[int, float]] = {}
        """Missing sequence number -> (times NACKed, when last)."""
        self.max_jump = max_jump
        self.window = window
        self.clock = clock
        self.rtt: float | None = None
        """The round trip to the sender in seconds, when known (set from receiver reports)."""
        self.earliest_ask = float("-inf")
        """The earliest last NACK of a missing packet: none is due again before it is a round
        trip old (then the walk over them is skipped)."""
        self.restarts = 0
        self.given_up = 0
        """Packets no longer asked for after NACK_TRIES."""

    def add(self, packet: _Numbered) -> bool:
        """Note one received packet; return whether a NACK is due (new or still missing ones)."""
        seq = packet.sequence_number
        if self.max_seq is None:
            self.max_seq = seq
            return False
        ahead = (seq - self.max_seq) % 65536
        if ahead >= 32768:  # late or retransmitted
            self._found(seq)
        elif ahead > self.max_jump:
            self.restarts += 1
            self.missing.clear()
            self.asked.clear()
            self.max_seq = seq
            return False
        elif ahead > 0:
            for gap in range(max(1, ahead - self.window), ahead):
                self.missing.add((self.max_seq + gap) % 65536)
            self.max_seq = seq
            self.truncate()
            if ahead > 1:
                self.earliest_ask = float("-inf")  # newly missing packets: NACK them now
        return bool(self.missing) and self._due()

    def _found(self, seq: int) -> None:
        self.missing.discard(seq)
        self.asked.pop(seq, None)

    def _due(self) -> bool:
        """Count a NACK for each missing packet never asked for or asked for a round trip ago;
        True when there is any (a packet asked for NACK_TRIES times is given up)."""
        now = self.clock()
        spacing = NACK_RETRY_SECONDS if self.rtt is None else self.rtt
        spacing = max(NACK_RETRY_FLOOR, min(spacing, SPACING_CEILING))
        if now - self.earliest_ask < spacing:
            return False  # nothing is due yet: no walk over the missing packets per packet
        due = False
        earliest = float("inf")
        for seq in list(self.missing):
            count, last = self.asked.get(seq, (0, float("-inf")))
            if now - last < spacing:
                earliest = min(earliest, last)
                continue
            if count >= NACK_TRIES:
                self._found(seq)
                self.given_up += 1
                continue
            self.asked[seq] = (count + 1, now)
            earliest = min(earliest, now)
            due = True
        self.earliest_ask = earliest
        return due

    def truncate(self) -> None:
        """Forget missing packets more than ``window`` behind the newest (the sender has not
        kept them)."""
        if self.max_seq is None:
            return
        newest = self.max_seq
        stale = [s for s in self.missing if (newest - s) % 65536 > self.window]
        for seq in stale:
            self._found(seq)
