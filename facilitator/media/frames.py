"""Frames from RTP packets, for a client that must see whole encoded frames (the test bots).

The server forwards packets (``forward.py``); a synthetic participant needs the frames it
receives, without decoding them, to compare bytes and measure delay. ``aiortc_seams``
puts a ForwardingBuffer in place of an RTCRtpReceiver's jitter buffer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

FrameSink = Callable[[bytes, int, bool], None]
"""Receives (encoded frame, RTP timestamp, is keyframe)."""
LevelSink = Callable[[int], None]
"""Receives an audio level in -dBov (0 is loudest, 127 silence)."""

STALL_SECONDS = 0.25
"""How long a video frame may wait for a missing packet (NACK/RTX) before it is dropped."""
KEYFRAME_ASK_SECONDS = 0.5
"""While waiting for a keyframe, ask again this often (a request can be lost or held back by
the server's limit; libwebrtc asks every 200 ms)."""
MAX_PENDING = 1024
"""Packets held while waiting; beyond this the buffer starts over from the next keyframe."""


def _vp8_frame_start(payload: bytes) -> bool:
    """True for the first packet of a VP8 frame (S bit set, partition 0)."""
    return bool(payload) and (payload[0] & 0x10) != 0 and (payload[0] & 0x07) == 0


def _vp8_keyframe(data: bytes) -> bool:
    """True when a frame's VP8 payload header says key frame (P bit clear)."""
    return bool(data) and (data[0] & 0x01) == 0


@dataclass
class ForwardingBuffer:
    """Stands in for aiortc's JitterBuffer: releases encoded frames the moment they are whole.

    Audio: every packet is a frame and goes out at once. Video: a frame goes out when its
    packets from the start (VP8 S bit, partition 0) to the marker bit are all there, in order.
    A frame stuck behind a lost packet for STALL_SECONDS is dropped, with everything up to the
    next keyframe (a decoder cannot use delta frames after a gap), and a keyframe is requested.
    Frames go to ``sink``; aiortc always gets ``None`` back, so it never decodes.
    """

    kind: str
    """``audio`` or ``video``."""
    sink: FrameSink
    """Where complete frames go."""
    on_level: LevelSink | None = None
    """Audio levels from the RTP header extension (RFC 6464), never from decoding."""
    clock: Callable[[], float] = time.monotonic
    """Time source for the stall timeout."""
    ssrc: int | None = None
    """The publisher's SSRC, once a packet has arrived."""
    pending: dict[int, RtpPacket] = field(default_factory=dict)
    """Video packets not yet released, by sequence number."""
    next_seq: int | None = None
    """Sequence number that starts the next frame, once known."""
    want_keyframe: bool = True
    """Drop frames until a keyframe (at the start and after a loss)."""
    stalled_since: float | None = None
    """When the next frame was first found incomplete."""
    asked_at: float | None = None
    """When a keyframe was last asked for."""
    stall: float = STALL_SECONDS
    """How long a frame may wait for a missing packet (a client may raise it to the time its
    NACKs go on being retried: a browser asks for a keyframe only once those give up)."""
    frames: int = 0
    """Frames released."""
    dropped: int = 0
    """Frames dropped because of loss."""

    capacity = 1024  # aiortc reads nothing else, but keep the JitterBuffer shape

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        """Take one depayloaded packet; return (ask for a keyframe, None)."""
        self.ssrc = packet.ssrc
        data: bytes = getattr(packet, "_data", b"")
        if self.kind == "audio":
            level = packet.extensions.audio_level
            if self.on_level is not None and level is not None:
                self.on_level(level[1])
            self.frames += 1
            self.sink(data, packet.timestamp, False)
            return False, None
        return self._add_video(packet), None

    def _add_video(self, packet: RtpPacket) -> bool:
        seq = packet.sequence_number
        if self.next_seq is not None and uint16_gt(self.next_seq, seq):
            return False  # late or repeated: its frame is gone already
        if len(self.pending) >= MAX_PENDING:
            self._restart()
            return True
        self.pending[seq] = packet
        if self.next_seq is None:
            self._find_start()
        pli = False
        while self.next_seq is not None:
            frame = self._complete_frame(self.next_seq)
            if frame is None:
                break
            packets, data = frame
            self.next_seq = uint16_add(packets[-1].sequence_number, 1)
            for p in packets:
                del self.pending[p.sequence_number]
            self.stalled_since = None
            key = _vp8_keyframe(data)
            if self.want_keyframe and not key:
                self.dropped += 1
                continue
            self.want_keyframe = False
            self.frames += 1
            self.sink(data, packets[0].timestamp, key)
        if self.pending and self.next_seq is not None:
            now = self.clock()
            if self.stalled_since is None:
                self.stalled_since = now
            elif now - self.stalled_since > self.stall:
                self._skip_gap()
                pli = True
        if self.want_keyframe:
            now = self.clock()
            if pli or self.asked_at is None:
                self.asked_at = now  # the first ask is the stall's, or the server's at the start
            elif now - self.asked_at >= KEYFRAME_ASK_SECONDS:
                self.asked_at = now
                pli = True
        return pli

    def _complete_frame(self, start: int) -> tuple[list[RtpPacket], bytes] | None:
        first = self.pending.get(start)
        if first is None or not _vp8_frame_start(first.payload):
            return None
        packets = [first]
        seq = start
        while not packets[-1].marker:
            seq = uint16_add(seq, 1)
            packet = self.pending.get(seq)
            if packet is None or packet.timestamp != first.timestamp:
                return None
            packets.append(packet)
        return packets, b"".join(getattr(p, "_data", b"") for p in packets)

    def _find_start(self, keyframe_only: bool = False) -> None:
        """Point ``next_seq`` at the oldest frame start held (a keyframe's, if asked)."""
        starts = [
            s
            for s, p in self.pending.items()
            if _vp8_frame_start(p.payload)
            and (not keyframe_only or _vp8_keyframe(getattr(p, "_data", b"")))
        ]
        if not starts:
            self.next_seq = None
            if keyframe_only:
                self.pending.clear()
            return
        oldest = starts[0]
        for s in starts[1:]:  # sequence-number order, which may wrap
            if uint16_gt(oldest, s):
                oldest = s
        self.next_seq = oldest
        for seq in [s for s in self.pending if uint16_gt(oldest, s)]:
            del self.pending[seq]

    def _skip_gap(self) -> None:
        """Give up on the stuck frame: go on from the next keyframe held, or wait for one."""
        self.dropped += 1
        self.want_keyframe = True
        self.stalled_since = None
        if self.next_seq is not None:
            # The stuck frame goes first: were it a keyframe, it would be found again, and
            # the buffer would wait on it while whole keyframes pile up behind it.
            self.pending.pop(self.next_seq, None)
        self._find_start(keyframe_only=True)

    def _restart(self) -> None:
        self.pending.clear()
        self.next_seq = None
        self.want_keyframe = True
        self.stalled_since = None
