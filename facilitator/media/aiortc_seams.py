"""The only module that touches aiortc and aioice internals; ``check_seams`` guards each one.

aiortc is built to decode what it receives and encode what it sends. An SFU must do neither, so
six seams are used (``tests/test_media_units.py`` fails loudly if an aiortc upgrade moves one):

1. ``RTCRtpReceiver.__jitter_buffer`` is replaced by a ForwardingBuffer. The receiver feeds it
   every depayloaded RTP packet; the buffer hands complete encoded frames straight to the SFU
   and returns nothing to aiortc, so the decoder thread never decodes anything.
2. ``RTCRtpReceiver._send_rtcp_pli`` asks a publisher for a keyframe.
3. ``RTCRtpSender._send_keyframe`` (called on PLI/FIR from a subscriber) is overridden per sender
   to forward the request to the publisher, since nothing is encoded here.
4. ``RTCRtpSender.__packet_count`` and ``__octet_count`` are read for statistics and metrics.
5. ``aioice.ice.get_host_addresses`` is wrapped so ``--ice-address`` chooses the host candidates
   (aioice leaves 127.0.0.1 out, and a server with several interfaces needs a choice).
6. ``aioice.ice.StunProtocol.datagram_received`` is guarded: aioice hands every datagram that is
   not STUN to the DTLS transport whoever sent it, and aiortc closes the whole connection on
   the first one it cannot read (a single 0-byte datagram does it). Only STUN, and data from
   addresses in the connection's candidate pairs, get through.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver as _Receiver
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

FrameSink = Callable[[bytes, int, bool], None]
"""Receives (encoded frame, RTP timestamp, is keyframe)."""
LevelSink = Callable[[int], None]
"""Receives an audio level in -dBov (0 is loudest, 127 silence)."""

STALL_SECONDS = 0.25
"""How long a video frame may wait for a missing packet (NACK/RTX) before it is dropped."""
MAX_PENDING = 1024
"""Packets held while waiting; beyond this the buffer starts over from the next keyframe."""

_JITTER = "_RTCRtpReceiver__jitter_buffer"


class SeamError(RuntimeError):
    """aiortc or aioice no longer has the shape this module relies on."""


def check_seams() -> None:
    """Raise SeamError naming every internal that moved (call at start-up and in tests)."""
    problems = []
    handle = inspect.getsource(_Receiver._handle_rtp_packet)
    if "self.__jitter_buffer.add(packet)" not in handle:
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer feeds __jitter_buffer.add")
    if "packet._data = depayload(codec, packet.payload)" not in handle:
        problems.append("RTCRtpReceiver no longer depayloads into packet._data before buffering")
    if "pli_flag" not in handle or "_send_rtcp_pli" not in handle:
        problems.append("RTCRtpReceiver no longer sends a PLI when the buffer asks for one")
    if "self.__jitter_buffer =" not in inspect.getsource(_Receiver.__init__):
        problems.append("RTCRtpReceiver.__init__ no longer creates __jitter_buffer")
    if not callable(getattr(_Receiver, "_send_rtcp_pli", None)):
        problems.append("RTCRtpReceiver._send_rtcp_pli is gone")
    if "self._send_keyframe()" not in inspect.getsource(RTCRtpSender._handle_rtcp_packet):
        problems.append("RTCRtpSender no longer calls _send_keyframe on PLI/FIR")
    if "self.__encoder.pack(data)" not in inspect.getsource(RTCRtpSender._next_encoded_frame):
        problems.append("RTCRtpSender no longer packs pre-encoded av.Packet data")
    if "self.__packet_count = 0" not in inspect.getsource(RTCRtpSender.__init__):
        problems.append("RTCRtpSender no longer counts packets in __packet_count")
    if "self.__octet_count = 0" not in inspect.getsource(RTCRtpSender.__init__):
        problems.append("RTCRtpSender no longer counts bytes in __octet_count")
    receive = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    if "self.receiver.data_received(data" not in receive or "stun.parse_message" not in receive:
        problems.append("aioice StunProtocol.datagram_received changed shape")
    if not isinstance(getattr(aioice.ice.CandidatePair, "remote_addr", None), property):
        problems.append("aioice CandidatePair.remote_addr is gone")
    if "self._check_list" not in inspect.getsource(aioice.ice.Connection.__init__):
        problems.append("aioice Connection no longer keeps _check_list")
    if "get_host_addresses(" not in inspect.getsource(aioice.ice.Connection.gather_candidates):
        problems.append("aioice Connection.gather_candidates no longer calls get_host_addresses")
    if problems:
        raise SeamError("aiortc internals moved: " + "; ".join(problems))


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
            elif now - self.stalled_since > STALL_SECONDS:
                self._skip_gap()
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
        self._find_start(keyframe_only=True)

    def _restart(self) -> None:
        self.pending.clear()
        self.next_seq = None
        self.want_keyframe = True
        self.stalled_since = None


def install_forwarding(
    receiver: RTCRtpReceiver, kind: str, sink: FrameSink, on_level: LevelSink | None = None
) -> ForwardingBuffer:
    """Make ``receiver`` hand encoded frames to ``sink`` instead of decoding them.

    Call it before the connection starts receiving (right after ``addTransceiver``).
    """
    buffer = ForwardingBuffer(kind, sink, on_level)
    if not hasattr(receiver, _JITTER):
        raise SeamError("RTCRtpReceiver has no __jitter_buffer to replace")
    setattr(receiver, _JITTER, buffer)
    return buffer


async def request_keyframe(receiver: RTCRtpReceiver, ssrc: int) -> None:
    """Send a PLI for ``ssrc`` from this receiver (the publisher answers with a keyframe)."""
    await receiver._send_rtcp_pli(ssrc)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when a subscriber asks this sender for a keyframe (PLI or FIR)."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def sender_packets(sender: RTCRtpSender) -> int:
    """RTP packets a sender has sent (for the load test's packets per second)."""
    return int(getattr(sender, "_RTCRtpSender__packet_count", 0))


def sender_bytes(sender: RTCRtpSender) -> int:
    """RTP payload bytes a sender has sent (for the operator's metrics)."""
    return int(getattr(sender, "_RTCRtpSender__octet_count", 0))


def pin_codec(transceiver: RTCRtpTransceiver, mime_type: str) -> None:
    """Offer only one codec (VP8 or Opus): the sender would use whichever comes first."""
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind)
    codecs = [c for c in capabilities.codecs if c.mimeType.lower() == mime_type.lower()]
    if not codecs:
        raise SeamError(f"aiortc offers no {mime_type}")
    transceiver.setCodecPreferences(codecs)


_ORIGINAL_HOST_ADDRESSES = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Use exactly these host candidate addresses for every new ICE connection (None: default).

    Process-wide, as aioice looks the function up at gathering time; a server has one setting.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _ORIGINAL_HOST_ADDRESSES
        return
    chosen = list(addresses)

    def chosen_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = chosen_addresses


_ORIGINAL_DATAGRAM_RECEIVED = aioice.ice.StunProtocol.datagram_received


def _guarded_datagram_received(
    self: aioice.ice.StunProtocol, data: bytes | str, addr: tuple[Any, ...]
) -> None:
    if not data:
        return  # aiortc would read data[0] and close the connection
    first = data[0] if isinstance(data, bytes) else 0
    if first > 3:  # not STUN (its first two bits are zero): must come from a known peer
        source = (addr[0], addr[1])
        pairs = getattr(self.receiver, "_check_list", ())
        if not any(pair.remote_addr == source for pair in pairs):
            return
    _ORIGINAL_DATAGRAM_RECEIVED(self, data, addr)


def guard_datagrams() -> None:
    """Drop empty datagrams, and non-STUN ones from strangers, before aiortc sees them."""
    aioice.ice.StunProtocol.datagram_received = _guarded_datagram_received  # type: ignore[method-assign]
