"""RTP packets as the SFU forwards them: header parsing and per-subscriber rewriting, pure Python.

A received packet is looked at once (``Incoming``: its VP8 payload descriptor, keyframe start,
temporal layer, audio level); each subscriber then gets its own sequence numbers, timestamps,
picture ids, SSRC, payload type and header extensions (``StreamRewriter`` and ``RtpWriter``).
Nothing here imports aiortc: the seams module sends what this module builds.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

SEQ_MODULUS = 1 << 16
TS_MODULUS = 1 << 32
MAX_STEPS = 32
MAX_JUMP = 1000
"""A source that jumps further ahead than this many packets starts a new run: passing the gap on
would tell the subscriber it lost them all (and cut its downlink estimate for nothing)."""
SILENCE_SECONDS = 1.0
"""Nor is a gap passed on after this long without packets: what the publisher's link lost while
it was down is gone for everyone, and the subscribers' links did not lose it."""
"""Renumbering steps kept for late packets (each drop or restart makes one)."""
HISTORY = 128
"""Packets kept per subscriber for retransmission (aiortc's ``RTP_HISTORY_SIZE``)."""
NTP_UNIX_OFFSET = 2_208_988_800
"""Seconds from the NTP epoch (1900) to the Unix epoch (1970)."""
MIN_GAP = {"audio": 960, "video": 3000}
"""Timestamp ticks between the last packet of one source and the first of the next, at least."""
CLOCK_RATE = {"audio": 48_000, "video": 90_000}

_HEADER = struct.Struct("!BBHLL")


def ntp_time(unix_seconds: float) -> int:
    """A 64-bit NTP timestamp (32.32 fixed point since 1900) for a Unix time."""
    return int((unix_seconds + NTP_UNIX_OFFSET) * (1 << 32))


def abs_send_time(ntp: int) -> int:
    """The 24-bit abs-send-time value (6.18 fixed-point seconds) for an NTP timestamp."""
    return (ntp >> 14) & 0xFFFFFF


class Incoming:
    """One received packet, looked at once for every subscriber.

    For VP8 the payload descriptor (RFC 7741) is read: where the picture id and TL0PICIDX are,
    the temporal layer, and whether this packet starts a frame and a keyframe.
    """

    __slots__ = (
        "frame_start",
        "keyframe",
        "level",
        "marker",
        "payload",
        "picture_at",
        "picture_bits",
        "picture_id",
        "seq",
        "tid",
        "tl0",
        "tl0_at",
        "ts",
        "valid",
    )

    def __init__(
        self,
        seq: int,
        ts: int,
        marker: int,
        payload: bytes,
        video: bool,
        level: int | None = None,
    ) -> None:
        self.seq = seq
        self.ts = ts
        self.marker = marker
        self.payload = payload
        self.level = level
        """Audio level byte (V bit and -dBov), or None."""
        self.frame_start = True
        self.keyframe = False
        self.tid: int | None = None
        self.picture_id: int | None = None
        self.picture_bits = 0
        self.picture_at = 0
        self.tl0: int | None = None
        self.tl0_at = 0
        self.valid = True
        if video:
            self._read_vp8(payload)

    def _read_vp8(self, p: bytes) -> None:
        size = len(p)
        if size < 2:
            self.valid = self.frame_start = False  # padding only or broken: nothing to decode
            return
        first = p[0]
        at = 1
        if first & 0x80:
            extended = p[1]
            at = 2
            if extended & 0x80 and at < size:
                self.picture_at = at
                if p[at] & 0x80:
                    if at + 1 >= size:
                        self.valid = False
                        return
                    self.picture_id = ((p[at] & 0x7F) << 8) | p[at + 1]
                    self.picture_bits = 15
                    at += 2
                else:
                    self.picture_id = p[at]
                    self.picture_bits = 7
                    at += 1
            if extended & 0x40:
                self.tl0_at = at
                self.tl0 = p[at] if at < size else None
                at += 1
            if extended & 0x30:
                if extended & 0x20 and at < size:
                    self.tid = p[at] >> 6
                at += 1
        if at >= size:
            self.valid = self.frame_start = False
            return
        self.frame_start = bool(first & 0x10) and (first & 0x07) == 0
        # VP8 payload header (RFC 6386): P bit clear on a key frame.
        self.keyframe = self.frame_start and (p[at] & 0x01) == 0


def _newer(a: int, b: int, modulus: int) -> bool:
    return a != b and (a - b) % modulus < modulus // 2


class Renumber:
    """Maps a source's numbers (sequence numbers, picture ids) to a subscriber's, gap-free.

    ``start`` begins a run where ``first_in`` becomes ``first_out``; ``skip`` leaves a number
    out, so later ones move down by one and the subscriber sees no gap. Late numbers (older
    than a skip) keep the mapping they had, from the last MAX_STEPS steps.
    """

    def __init__(self, bits: int) -> None:
        self.modulus = 1 << bits
        self.steps: list[tuple[int, int]] = []
        """(first input, offset), oldest first."""
        self.highest: int | None = None

    def start(self, first_in: int, first_out: int) -> None:
        """Map ``first_in`` to ``first_out`` and carry on from there."""
        self.steps = [(first_in, (first_out - first_in) % self.modulus)]
        self.highest = first_in

    def map(self, number: int) -> int | None:
        """The subscriber's number for ``number`` (None: older than anything mapped)."""
        modulus = self.modulus
        half = modulus >> 1
        steps = self.steps
        if steps:  # the usual case: the newest run
            first, offset = steps[-1]
            highest = self.highest
            if (number - first) % modulus < half:
                if highest is None or (number - highest) % modulus < half:
                    self.highest = number
                return (number + offset) % modulus
        for first, offset in reversed(steps):
            if (number - first) % modulus < half:
                if self.highest is None or _newer(number, self.highest, modulus):
                    self.highest = number
                return (number + offset) % modulus
        return None

    def skip(self, number: int) -> None:
        """Leave ``number`` out (when it is the newest; a late one leaves a gap)."""
        if not self.steps or self.highest is None:
            return
        if number != self.highest and not _newer(number, self.highest, self.modulus):
            return
        first, offset = self.steps[-1]
        after = (number + 1) % self.modulus
        if first == number:  # consecutive skips: move the same step along
            self.steps[-1] = (after, (offset - 1) % self.modulus)
        else:
            self.steps.append((after, (offset - 1) % self.modulus))
            del self.steps[:-MAX_STEPS]
        self.highest = number


@dataclass
class StreamRewriter:
    """One subscriber's view of whichever source it carries: its numbers, never the source's.

    Sequence numbers stay continuous across pauses, keyframe waits, dropped temporal layers
    and re-pointing; timestamps and VP8 picture ids stay continuous across re-pointing. Video
    starts (and restarts) at the first packet of a keyframe.
    """

    kind: str
    next_seq: int = field(default_factory=lambda: random.randrange(SEQ_MODULUS // 2))
    """The sequence number the next forwarded packet gets, when a run starts."""
    paused: bool = False
    """Forward nothing (resuming waits for a keyframe)."""
    max_temporal_layer: int | None = None
    """Drop VP8 frames of a higher temporal layer (None: keep all)."""
    waiting: bool = True
    """Video: drop everything until a keyframe starts."""
    resync: bool = True
    """The next forwarded packet starts a new run of sequence numbers."""
    new_source: bool = True
    """The next run comes from another source: timestamps and picture ids start afresh."""
    first: bool = True
    """Nothing forwarded yet (the first source keeps its own timestamps and picture ids)."""
    ts_offset: int = 0
    tl0_offset: int = 0
    last_ts: int = 0
    last_at: float = 0.0
    last_picture: int = 0
    last_tl0: int = 0
    skipped_frames: int = 0
    """Frame starts dropped while waiting for a keyframe."""
    dropped: int = 0
    """Packets of frames in dropped temporal layers."""
    seq: Renumber = field(default_factory=lambda: Renumber(16))
    picture: Renumber = field(default_factory=lambda: Renumber(15))
    out_seq: int = 0
    out_ts: int = 0
    out_payload: bytes = b""

    def repoint(self) -> None:
        """Another source from now on (or the same one after a break in it)."""
        self.waiting = self.kind == "video"
        self.resync = True
        self.new_source = True

    def set_paused(self, paused: bool) -> None:
        """Pause or resume; video resumes at a keyframe."""
        if paused and not self.paused:
            self.resync = True
        if not paused and self.paused:
            self.waiting = self.kind == "video"
        self.paused = paused

    def rewrite(self, packet: Incoming, now: float) -> bool:
        """Decide about one packet; on True, ``out_seq``, ``out_ts``, ``out_payload`` are set."""
        if self.paused:
            return False
        if not packet.valid:  # nothing a decoder could use: leave it out, without a gap
            if not self.waiting and not self.resync:
                self.seq.skip(packet.seq)
            return False
        if self.waiting:
            if not packet.keyframe:
                self.skipped_frames += packet.frame_start
                return False
            self.waiting = False
            self.resync = True
        highest_in = self.seq.highest
        if not self.resync and highest_in is not None:
            ahead = (packet.seq - highest_in) % SEQ_MODULUS
            # Only a forward gap is looked at further: the next packet (ahead == 1) is the rule.
            if 1 < ahead < SEQ_MODULUS // 2 and (
                ahead > MAX_JUMP or now - self.last_at > SILENCE_SECONDS
            ):
                self.resync = True
        if self.resync:
            self._start(packet, now)
        tid, highest = packet.tid, self.max_temporal_layer
        if tid is not None and highest is not None and tid > highest:
            self.dropped += 1
            self.seq.skip(packet.seq)
            if packet.frame_start and packet.picture_id is not None:
                self.picture.skip(packet.picture_id)
            return False
        seq = self.seq.map(packet.seq)
        if seq is None:
            return False
        ts = (packet.ts + self.ts_offset) % TS_MODULUS
        self.out_seq = seq
        self.out_ts = ts
        if packet.seq == self.seq.highest:
            self.next_seq = (seq + 1) % SEQ_MODULUS
            self.last_ts = ts
            self.last_at = now
        self.out_payload = self._payload(packet)
        return True

    def _start(self, packet: Incoming, now: float) -> None:
        self.resync = False
        self.seq.start(packet.seq, self.next_seq)
        picture = packet.picture_id
        if self.new_source:
            self.new_source = False
            if self.first:
                self.ts_offset = 0
                self.tl0_offset = 0
                if picture is not None:
                    self._start_pictures(packet, picture)
            else:
                gap = max(int((now - self.last_at) * CLOCK_RATE[self.kind]), MIN_GAP[self.kind])
                self.ts_offset = (self.last_ts + gap - packet.ts) % TS_MODULUS
                if picture is not None:
                    self._start_pictures(packet, self.last_picture + 1)
                if packet.tl0 is not None:
                    self.tl0_offset = (self.last_tl0 + 1 - packet.tl0) % 256
        self.first = False

    def _start_pictures(self, packet: Incoming, first_out: int) -> None:
        assert packet.picture_id is not None
        if self.picture.modulus != 1 << packet.picture_bits:
            self.picture = Renumber(packet.picture_bits)
        self.picture.start(packet.picture_id, first_out % self.picture.modulus)

    def _payload(self, packet: Incoming) -> bytes:
        """The payload, with the subscriber's picture id and TL0PICIDX when they differ."""
        source = packet.picture_id
        if source is None:
            return packet.payload
        renumber = self.picture
        picture = renumber.map(source) if 1 << packet.picture_bits == renumber.modulus else None
        if picture is None:
            picture = source
        self.last_picture = picture
        tl0 = packet.tl0
        new_tl0 = (tl0 + self.tl0_offset) % 256 if tl0 is not None else None
        if tl0 is not None and new_tl0 is not None:
            self.last_tl0 = new_tl0
        if picture == source and new_tl0 == tl0:
            return packet.payload
        at = packet.picture_at
        end = at + (2 if packet.picture_bits == 15 else 1)
        if tl0 is not None:
            end = max(end, packet.tl0_at + 1)
        data = bytearray(packet.payload[:end])
        if packet.picture_bits == 15:
            data[at] = 0x80 | (picture >> 8)
            data[at + 1] = picture & 0xFF
        else:
            data[at] = picture
        if tl0 is not None and new_tl0 is not None:
            data[packet.tl0_at] = new_tl0
        return bytes(data) + packet.payload[len(data) :]


class RtpWriter:
    """Builds one subscriber's RTP packets: its SSRC, payload type and header extensions.

    Extensions use the one-byte form (RFC 8285) with the ids this subscriber negotiated: mid
    on every packet, abs-send-time when negotiated, the audio level on audio when negotiated.
    """

    def __init__(
        self,
        ssrc: int,
        payload_type: int,
        mid: str | None = None,
        mid_id: int | None = None,
        abs_send_time_id: int | None = None,
        audio_level_id: int | None = None,
    ) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        # The one-byte form carries ids 1 to 14; aiortc offers only such ids.
        mid_id, abs_send_time_id, audio_level_id = (
            i if i is not None and 0 < i < 15 else None
            for i in (mid_id, abs_send_time_id, audio_level_id)
        )
        self.abs_send_time_id = abs_send_time_id
        self.audio_level_id = audio_level_id
        mid_element = b""
        if mid is not None and mid_id is not None and 0 < len(mid.encode()) <= 16:
            value = mid.encode()
            mid_element = bytes([(mid_id << 4) | (len(value) - 1)]) + value
        size = len(mid_element) + (4 if abs_send_time_id else 0) + (2 if audio_level_id else 0)
        self.padding = bytes(-size % 4)
        self.extension_size = size + len(self.padding)
        self.head = b""
        if size:
            self.head = b"\xbe\xde" + (self.extension_size // 4).to_bytes(2, "big") + mid_element
        self.header_size = 12 + (4 + self.extension_size if size else 0)
        self.stamp_at = 12 + 4 + len(mid_element) + 1 if abs_send_time_id else None
        """Where a built packet's abs-send-time value is (None: not negotiated)."""
        self.levels: list[bytes] = (
            [bytes([audio_level_id << 4, v]) for v in range(256)] if audio_level_id else []
        )
        self.stamp = -1
        self.stamp_element = b""

    def build(
        self, seq: int, ts: int, marker: int, payload: bytes, level: int | None, ast: int
    ) -> bytes:
        """One packet, ready to protect. ``level`` is the audio level byte, ``ast`` the
        abs-send-time value."""
        first = 0x90 if self.head else 0x80
        header = _HEADER.pack(first, (marker << 7) | self.payload_type, seq, ts, self.ssrc)
        if not self.head:
            return header + payload
        parts = [header, self.head]
        if self.abs_send_time_id:
            if ast != self.stamp:
                self.stamp = ast
                self.stamp_element = bytes([(self.abs_send_time_id << 4) | 2]) + ast.to_bytes(
                    3, "big"
                )
            parts.append(self.stamp_element)
        if self.levels:
            parts.append(self.levels[127 if level is None else level & 0xFF])
        parts.append(self.padding)
        parts.append(payload)
        return b"".join(parts)

    def restamp(self, packet: bytes, ast: int | None) -> bytes:
        """A packet this writer built, with abs-send-time ``ast`` (None: as it was).

        A retransmission goes out now: with its first send time the subscriber's bandwidth
        estimate would read the repair's delay as a queue building up and fall.
        """
        at = self.stamp_at
        if at is None or ast is None:
            return packet
        return packet[:at] + (ast & 0xFFFFFF).to_bytes(3, "big") + packet[at + 3 :]

    def rtx(
        self, packet: bytes, seq: int, payload_type: int, ssrc: int, ast: int | None = None
    ) -> bytes:
        """The RTX form (RFC 4588) of a packet this writer built: the subscriber's own sequence
        number (the one it NACKed) first in the payload, stamped ``ast`` when given."""
        size = self.header_size
        header = _HEADER.pack(
            packet[0], (packet[1] & 0x80) | payload_type, seq, int.from_bytes(packet[4:8]), ssrc
        )
        packet = self.restamp(packet, ast)
        return header + packet[12:size] + packet[2:4] + packet[size:]


class History:
    """The last HISTORY packets sent to one subscriber, by sequence number, for NACKs."""

    def __init__(self, size: int = HISTORY) -> None:
        self.size = size
        self.seqs: list[int] = [-1] * size
        self.packets: list[bytes] = [b""] * size

    def add(self, seq: int, packet: bytes) -> None:
        """Keep a sent packet (overwriting the one HISTORY packets older)."""
        index = seq % self.size
        self.seqs[index] = seq
        self.packets[index] = packet

    def get(self, seq: int) -> bytes | None:
        """The packet sent with ``seq``, if still kept."""
        index = seq % self.size
        return self.packets[index] if self.seqs[index] == seq else None

    def has(self, seq: int) -> bool:
        """Whether packet ``seq`` is still kept (a NACK for anything else costs nothing)."""
        return self.seqs[seq % self.size] == seq % SEQ_MODULUS


SENT_MEMORY = 2048
"""Sequence numbers remembered as sent or not, per subscriber stream (a power of two): more
than a second of the busiest stream, the interval between two receiver reports."""


class SentRecord:
    """Which of the last SENT_MEMORY sequence numbers of one outgoing stream were sent.

    The server passes a publisher's gaps on (the subscriber may NACK them, and a late
    retransmission from the publisher can still fill one), so a subscriber's receiver report
    counts what the server never had as lost. Compared with this record, what the
    subscriber's own link lost can be told apart.
    """

    def __init__(self) -> None:
        self.seqs: list[int] = [-1] * SENT_MEMORY

    def add(self, seq: int) -> None:
        """``seq`` went out."""
        self.seqs[seq & (SENT_MEMORY - 1)] = seq

    def between(self, low: int, high: int) -> int | None:
        """How many sequence numbers after ``low`` up to ``high`` were sent (extended numbers,
        as receiver reports give them); None when that is further back than remembered."""
        if not 0 < high - low <= SENT_MEMORY:
            return None
        seqs, mask = self.seqs, SENT_MEMORY - 1
        count = 0
        for extended in range(low + 1, high + 1):
            seq = extended & 0xFFFF
            if seqs[seq & mask] == seq:
                count += 1
        return count
