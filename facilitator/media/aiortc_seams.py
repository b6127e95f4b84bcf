"""The only module that touches aiortc and aioice internals; ``check_seams`` guards each one.

aiortc is built to decode what it receives and encode what it sends. An SFU must do neither, so
ten seams are used (``tests/test_media_units.py`` fails loudly if an aiortc upgrade moves one):

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
7. ``RTCRtpSender._handle_rtcp_packet``'s NACK branch is replaced per sender: aiortc sends a
   packet again for every time a NACK names it. A ``RetransmitLimiter`` decides instead.
8. ``RTCRtpReceiver.__nack_generator`` is replaced by a ``BoundedNackGenerator``: aiortc's does
   work in proportion to any jump in sequence numbers.
9. ``RTCDtlsTransport._rtp_router`` is replaced by a ``BoundedRtpRouter``: aiortc's learns every
   new SSRC, and the receiver then keeps statistics (and reports) for each one.
10. ``RTCDtlsTransport._setup_srtp`` is wrapped per transport so its ``_rx_srtp`` session sits
   behind an ``SsrcGate``: libsrtp makes a stream (and searches a longer list on every packet)
   for each new SSRC that authenticates, so SSRCs the router would drop never reach it.
11. ``RTCPeerConnection.__connect`` runs as a task nobody awaits: ``quiet_failed_connects``
   logs its ConnectionError (a peer gone while connecting) as one line instead of a traceback.
12. ``RTCRtpTransceiver._codecs`` (what aiortc negotiated) is a property on the server's
   transceivers (``offer_codecs``), so Opus carries ``usedtx=1;useinbandfec=1`` and VP8 its RTX.
13. ``aioice.ice.Connection.query_consent`` is replaced (``tolerant_consent``): aioice closes a
   connection after a few consent checks of one try each fail, which a busy server causes itself.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import aioice.stun
import pylibsrtp
from aiortc import (
    RTCDtlsTransport,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RtpReceiver, RtpRouter
from aiortc.rtcpeerconnection import filter_preferred_codecs
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver as _Receiver
from aiortc.rtp import (
    RTCP_RTPFB_NACK,
    RTP_HISTORY_SIZE,
    AnyRtcpPacket,
    RtcpRtpfbPacket,
    RtpPacket,
)
from aiortc.utils import uint16_add, uint16_gt

from .limits import (
    MAX_RTCP_SSRCS,
    MAX_SSRCS_PER_RECEIVER,
    BoundedNackGenerator,
    RetransmitLimiter,
)

_log = logging.getLogger(__name__)

FrameSink = Callable[[bytes, int, bool], None]
"""Receives (encoded frame, RTP timestamp, is keyframe)."""
LevelSink = Callable[[int], None]
"""Receives an audio level in -dBov (0 is loudest, 127 silence)."""

STALL_SECONDS = 0.25
"""How long a video frame may wait for a missing packet (NACK/RTX) before it is dropped."""
MAX_PENDING = 1024
"""Packets held while waiting; beyond this the buffer starts over from the next keyframe."""

_JITTER = "_RTCRtpReceiver__jitter_buffer"
_NACKS = "_RTCRtpReceiver__nack_generator"
_RTT = "_RTCRtpSender__rtt"


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
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    if "for seq in packet.lost:" not in rtcp or "await self._retransmit(seq)" not in rtcp:
        problems.append("RTCRtpSender no longer retransmits NACKed packets one by one")
    if "self.__rtt: Optional[float] = None" not in inspect.getsource(RTCRtpSender.__init__):
        problems.append("RTCRtpSender no longer keeps its round-trip time in __rtt")
    if "self.__nack_generator = NackGenerator()" not in inspect.getsource(_Receiver.__init__):
        problems.append("RTCRtpReceiver.__init__ no longer creates __nack_generator")
    if "self.__nack_generator.add(packet)" not in handle or ".missing" not in handle:
        problems.append("RTCRtpReceiver no longer asks __nack_generator what to NACK")
    if "self._rtp_router = RtpRouter()" not in inspect.getsource(RTCDtlsTransport.__init__):
        problems.append("RTCDtlsTransport.__init__ no longer creates _rtp_router")
    if "self._rtp_router.route_rtp(packet)" not in inspect.getsource(
        RTCDtlsTransport._handle_rtp_data
    ):
        problems.append("RTCDtlsTransport no longer routes RTP through _rtp_router.route_rtp")
    if "self.ssrc_table[packet.ssrc] = pt_receiver" not in inspect.getsource(RtpRouter.route_rtp):
        problems.append("RtpRouter.route_rtp no longer learns unknown SSRCs by payload type")
    if "self._setup_srtp()" not in inspect.getsource(RTCDtlsTransport.start):
        problems.append("RTCDtlsTransport.start no longer calls _setup_srtp")
    if "self._rx_srtp = Session(" not in inspect.getsource(RTCDtlsTransport._setup_srtp):
        problems.append("RTCDtlsTransport._setup_srtp no longer makes _rx_srtp")
    pump = inspect.getsource(RTCDtlsTransport._recv_next)
    if "self._rx_srtp.unprotect(data)" not in pump or "except pylibsrtp.Error" not in pump:
        problems.append("RTCDtlsTransport no longer unprotects with _rx_srtp, dropping on Error")
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
    connect = getattr(RTCPeerConnection, "_RTCPeerConnection__connect", None)
    if getattr(connect, "__qualname__", "") != _CONNECT_TASK:
        problems.append("RTCPeerConnection.__connect is gone (quiet_failed_connects)")
    problems.extend(_codec_problems())
    problems.extend(_consent_problems())
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


def forwarding_buffer(receiver: RTCRtpReceiver) -> ForwardingBuffer | None:
    """The ForwardingBuffer installed in ``receiver``, if any (tests read its SSRC and seq)."""
    buffer = getattr(receiver, _JITTER, None)
    return buffer if isinstance(buffer, ForwardingBuffer) else None


async def request_keyframe(receiver: RTCRtpReceiver, ssrc: int) -> None:
    """Send a PLI for ``ssrc`` from this receiver (the publisher answers with a keyframe)."""
    await receiver._send_rtcp_pli(ssrc)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when a subscriber asks this sender for a keyframe (PLI or FIR)."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def limit_retransmissions(
    sender: RTCRtpSender, limiter: RetransmitLimiter | None = None
) -> RetransmitLimiter:
    """Make ``sender`` answer NACKs through ``limiter`` instead of resending every mention.

    Other RTCP (receiver reports, PLI, FIR, REMB) still goes to aiortc's own handler.
    """
    chosen = limiter or RetransmitLimiter(history=RTP_HISTORY_SIZE)
    original = sender._handle_rtcp_packet
    retransmit = sender._retransmit

    async def handle_rtcp(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            rtt = getattr(sender, _RTT, None)
            for seq in chosen.select(packet.lost, rtt, sender_packets(sender)):
                await retransmit(seq)
            return
        await original(packet)

    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
    return chosen


def bound_nacks(receiver: RTCRtpReceiver) -> BoundedNackGenerator | None:
    """Give a video receiver a NACK generator whose work per packet is bounded (audio: None)."""
    if not hasattr(receiver, _NACKS):
        raise SeamError("RTCRtpReceiver has no __nack_generator to replace")
    if getattr(receiver, _NACKS) is None:
        return None  # audio: aiortc sends no NACKs
    generator = BoundedNackGenerator(window=RTP_HISTORY_SIZE)
    setattr(receiver, _NACKS, generator)
    return generator


class BoundedRtpRouter(RtpRouter):
    """aiortc's RtpRouter, but a receiver accepts at most MAX_SSRCS_PER_RECEIVER SSRCs.

    aiortc gives a packet with an unknown SSRC to the one receiver of its payload type and
    remembers the SSRC; the receiver then keeps statistics, reports and NACK state for it. A
    peer sending thousands of SSRCs would grow all of that (and aiortc's receiver-report task
    dies past 255). The negotiated SSRCs count first; beyond the limit, new ones are dropped
    before any per-SSRC state is made.
    """

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0
        """Packets dropped for an SSRC over the limit."""

    def accepts(self, ssrc: int, payload_type: int) -> bool:
        """False when a packet would be dropped for having one SSRC too many."""
        if ssrc in self.ssrc_table:
            return True
        receivers = self.payload_type_table.get(payload_type, ())
        if len(receivers) != 1:
            return False  # aiortc drops it too (but libsrtp would already have made a stream)
        (receiver,) = receivers
        return sum(1 for r in self.ssrc_table.values() if r is receiver) < MAX_SSRCS_PER_RECEIVER

    def route_rtp(self, packet: RtpPacket) -> RtpReceiver | None:
        """The receiver for ``packet``, or None to drop it."""
        if not self.accepts(packet.ssrc, packet.payload_type):
            self.refused += 1
            return None
        return super().route_rtp(packet)


def bound_ssrcs(transport: RTCDtlsTransport) -> BoundedRtpRouter:
    """Give ``transport`` a BoundedRtpRouter, keeping whatever is registered already, and gate
    its inbound SRTP by the same rule (call before the connection starts)."""
    current = transport._rtp_router
    if isinstance(current, BoundedRtpRouter):
        return current
    if not isinstance(current, RtpRouter):
        raise SeamError("RTCDtlsTransport has no _rtp_router to replace")
    router = BoundedRtpRouter()
    for name in ("receivers", "senders", "mid_table", "ssrc_table", "payload_type_table"):
        setattr(router, name, getattr(current, name))
    transport._rtp_router = router
    gate_srtp(transport, router)
    return router


class SsrcGate:
    """Stands in for a transport's inbound SRTP session, refusing SSRCs before libsrtp sees them.

    SRTP packets whose SSRC the router would drop, and SRTCP from more than MAX_RTCP_SSRCS
    senders, raise ``pylibsrtp.Error``, which aiortc treats as a packet that failed to decrypt.
    """

    def __init__(self, session: Any, router: BoundedRtpRouter) -> None:
        self.session = session
        self.router = router
        self.rtcp_ssrcs: set[int] = set()
        self.refused = 0

    def unprotect(self, data: bytes) -> bytes:
        """Decrypt one SRTP packet, if its SSRC is one the router accepts."""
        if len(data) >= 12:
            ssrc = int.from_bytes(data[8:12], "big")
            if not self.router.accepts(ssrc, data[1] & 0x7F):
                self.refused += 1
                raise pylibsrtp.Error("SSRC over the limit")
        return bytes(self.session.unprotect(data))

    def unprotect_rtcp(self, data: bytes) -> bytes:
        """Decrypt one SRTCP packet, if it comes from one of the first MAX_RTCP_SSRCS SSRCs."""
        ssrc = int.from_bytes(data[4:8], "big") if len(data) >= 8 else None
        known = ssrc in self.rtcp_ssrcs or ssrc in self.router.ssrc_table
        if ssrc is not None and not known and len(self.rtcp_ssrcs) >= MAX_RTCP_SSRCS:
            self.refused += 1
            raise pylibsrtp.Error("RTCP SSRC over the limit")
        plain = bytes(self.session.unprotect_rtcp(data))
        if ssrc is not None and not known:
            self.rtcp_ssrcs.add(ssrc)  # only once it authenticated
        return plain


def gate_srtp(transport: RTCDtlsTransport, router: BoundedRtpRouter) -> None:
    """Put ``transport``'s inbound SRTP behind an SsrcGate as soon as its keys are set up."""
    setup = transport._setup_srtp

    def setup_gated() -> None:
        setup()
        if transport._rx_srtp is not None and not isinstance(transport._rx_srtp, SsrcGate):
            transport._rx_srtp = SsrcGate(transport._rx_srtp, router)  # type: ignore[assignment]

    transport._setup_srtp = setup_gated  # type: ignore[method-assign]


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


OPUS_PARAMETERS: dict[str, int | str | None] = {"usedtx": 1, "useinbandfec": 1}
"""fmtp the server's offers ask browsers for: silence costs almost nothing (DTX), and a lost
packet can be rebuilt from the next one (in-band FEC)."""
OFFERED = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}
"""The codecs offered for each kind: one codec (aiortc sends with the first), and VP8's RTX."""


class ParameterizedTransceiver(RTCRtpTransceiver):
    """An aiortc transceiver whose negotiated codecs carry extra fmtp parameters.

    aiortc assigns ``_codecs`` when it makes an offer or applies an answer, from its
    process-wide codec table; the copies kept here add ``extra`` to codecs of those MIME types,
    so only the server's own transceivers change and the table stays as it is.
    """

    extra: dict[str, dict[str, int | str | None]]
    """Lower-case MIME type -> parameters to add."""

    @property
    def _codecs(self) -> list[RTCRtpCodecParameters]:
        codecs: list[RTCRtpCodecParameters] = self.__dict__.get("_parameterized_codecs", [])
        return codecs

    @_codecs.setter
    def _codecs(self, codecs: list[RTCRtpCodecParameters]) -> None:
        chosen = []
        for codec in codecs:
            extra = self.__dict__.get("extra", {}).get(codec.mimeType.lower())
            if extra and not is_rtx(codec):
                codec = copy.deepcopy(codec)
                codec.parameters = {**codec.parameters, **extra}
            chosen.append(codec)
        self.__dict__["_parameterized_codecs"] = chosen


def offer_codecs(transceiver: RTCRtpTransceiver, kind: str) -> None:
    """Offer Opus with DTX and in-band FEC, or VP8 with RTX, and nothing else."""
    wanted = OFFERED[kind]
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    codecs = [c for m in wanted for c in capabilities if c.mimeType.lower() == m.lower()]
    if len(codecs) != len(wanted):
        raise SeamError(f"aiortc offers no {' and '.join(wanted)}")
    transceiver.setCodecPreferences(codecs)
    if kind == "audio":
        transceiver.__class__ = ParameterizedTransceiver
        transceiver.__dict__["extra"] = {"audio/opus": dict(OPUS_PARAMETERS)}


def _codec_problems() -> list[str]:
    problems = []
    offer = inspect.getsource(RTCPeerConnection.createOffer)
    if "transceiver._codecs = filter_preferred_codecs(" not in offer:
        problems.append("RTCPeerConnection.createOffer no longer assigns transceiver._codecs")
    if "transceiver._codecs = common" not in inspect.getsource(
        RTCPeerConnection.setRemoteDescription
    ):
        problems.append("RTCPeerConnection.setRemoteDescription no longer sets _codecs")
    if "self._codecs: list[RTCRtpCodecParameters] = []" not in inspect.getsource(
        RTCRtpTransceiver.__init__
    ):
        problems.append("RTCRtpTransceiver.__init__ no longer keeps _codecs")
    if "rtx_enabled" not in inspect.getsource(filter_preferred_codecs):
        problems.append("aiortc no longer adds RTX for a preferred codec")
    return problems


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


CONSENT_RETRANSMISSIONS = 2
"""Each consent check is sent again up to twice (aioice: never): tries 0.5 s then 1 s apart, and
2 s for the last answer, so a response held up by a busy event loop still counts."""
CONSENT_FAILURES = 6
"""Failed checks in a row (each about 5 s after the last) before a connection is closed: about
50 s without any answer, where aioice's one-try checks give up after 33 s of answers later than
0.5 s."""
_ORIGINAL_QUERY_CONSENT = aioice.ice.Connection.query_consent


async def tolerant_query_consent(connection: aioice.ice.Connection) -> None:
    """aioice's consent freshness loop (RFC 7675), with retries and a log line on closing."""
    assert connection.remote_password is not None
    key = connection.remote_password.encode("utf8")
    failures = 0
    while True:
        interval = float(aioice.ice.CONSENT_INTERVAL)
        await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))
        for pair in list(connection._nominated.values()):
            request = connection.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=key,
                    retransmissions=CONSENT_RETRANSMISSIONS,
                )
                failures = 0
            except aioice.stun.TransactionError:
                failures += 1
            if failures >= CONSENT_FAILURES:
                _log.warning(
                    "closing a media connection: %d consent checks in a row got no answer",
                    failures,
                )
                connection._query_consent_task = None  # close() must not cancel this task
                await connection.close()
                return


def tolerant_consent() -> None:
    """Make every ICE connection's consent checks tolerant (process-wide, like aioice's)."""
    aioice.ice.Connection.query_consent = tolerant_query_consent  # type: ignore[assignment]


def _consent_problems() -> list[str]:
    problems = []
    source = inspect.getsource(_ORIGINAL_QUERY_CONSENT)
    for needed in (
        "self._nominated.values()",
        "self.build_request(pair, nominate=False)",
        "retransmissions=0",
        "CONSENT_FAILURES",
        "self._query_consent_task = None",
        "self.close()",
    ):
        if needed not in source:
            problems.append(f"aioice Connection.query_consent no longer has {needed}")
    if "self.query_consent()" not in inspect.getsource(aioice.ice.Connection.connect):
        problems.append("aioice Connection.connect no longer starts query_consent")
    return problems


_CONNECT_TASK = "RTCPeerConnection.__connect"


def quiet_failed_connects(loop: asyncio.AbstractEventLoop) -> None:
    """Log a media connection that fails while connecting as one line, not a traceback.

    aiortc starts ``RTCPeerConnection.__connect`` with ``ensure_future`` and never awaits it, so
    an ICE or DTLS failure while connecting (the browser went away, the network dropped) reaches
    the event loop as "Task exception was never retrieved". That is a normal network event.
    """
    default = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        task = context.get("future")
        exc = context.get("exception")
        coro = task.get_coro() if isinstance(task, asyncio.Task) else None
        name = getattr(coro, "__qualname__", "")
        if isinstance(exc, ConnectionError) and name == _CONNECT_TASK:
            _log.info("a media connection failed while connecting: %s", exc)
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
