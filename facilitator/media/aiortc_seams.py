"""The only module that touches aiortc and aioice internals; ``check_seams`` guards each one.

aiortc is built to decode what it receives and encode what it sends. An SFU must do neither, so
these seams are used (``tests/test_media_units.py`` fails loudly if an aiortc upgrade moves one):

1. ``RTCRtpReceiver._handle_rtp_packet`` is replaced per receiver (``forward_packets``): it
   keeps aiortc's bookkeeping (statistics for receiver reports, the bitrate estimate for REMB,
   RTX unwrapping, NACKs) and hands each RTP packet to the SFU as it is, never depayloading it.
   The test bots instead replace ``__jitter_buffer`` with a ForwardingBuffer (``frames.py``),
   which hands them whole encoded frames without decoding.
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
12. ``RTCRtpSender.send`` is wrapped per sender (``DirectSender``) to learn what the subscriber
   negotiated (payload types, mid, header extension ids, RTX). Packets then go out without
   aiortc's sender loop: protected with the DTLS transport's ``_tx_srtp`` and written with one
   synchronous ``sendto`` on the nominated ICE pair's socket (aioice's ``send`` is a coroutine
   around the same call). The sender's ``__packet_count``, ``__octet_count``,
   ``__rtp_timestamp`` and ``__ntp_timestamp`` are kept true, so its sender reports let
   browsers sync audio and video; its own loop idles on a track that never yields a frame.
13. ``RTCRtpTransceiver._codecs`` (what aiortc negotiated) is a property on the server's
   transceivers (``offer_codecs``), so Opus carries ``usedtx=1;useinbandfec=1`` and VP8 its RTX.
14. ``aioice.ice.Connection.query_consent`` is replaced (``tolerant_consent``): aioice closes a
   connection after a few consent checks of one try each fail, which a busy server causes itself.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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
from aiortc.rtcdtlstransport import RtpReceiver, RtpRouter, State
from aiortc.rtcpeerconnection import filter_preferred_codecs
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver as _Receiver
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RTP_HISTORY_SIZE,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)

from .frames import STALL_SECONDS as STALL_SECONDS  # the bots and tests import these from here
from .frames import ForwardingBuffer as ForwardingBuffer
from .frames import FrameSink, LevelSink
from .limits import (
    MAX_RTCP_SSRCS,
    MAX_SSRCS_PER_RECEIVER,
    BoundedNackGenerator,
    RetransmitLimiter,
)
from .seam_checks import packet_path_problems

log = logging.getLogger(__name__)

_JITTER = "_RTCRtpReceiver__jitter_buffer"
_NACKS = "_RTCRtpReceiver__nack_generator"
_RTT = "_RTCRtpSender__rtt"
_RECEIVER = "_RTCRtpReceiver__"
_SENDER = "_RTCRtpSender__"
_DTLS = "_RTCDtlsTransport__"
PacketSink = Callable[[RtpPacket], None]
"""Receives every RTP packet of a publisher's stream, RTX already unwrapped."""


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
    problems += packet_path_problems()
    problems.extend(_codec_problems())
    problems.extend(_consent_problems())
    if problems:
        raise SeamError("aiortc internals moved: " + "; ".join(problems))


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
    sender: RTCRtpSender,
    limiter: RetransmitLimiter | None = None,
    retransmit: Callable[[int], None] | None = None,
) -> RetransmitLimiter:
    """Make ``sender`` answer NACKs through ``limiter`` instead of resending every mention.

    ``retransmit`` sends one packet again by sequence number (default: aiortc's, from the
    sender's own history; the packet path keeps its own). Other RTCP (receiver reports, PLI,
    FIR, REMB) still goes to aiortc's own handler.
    """
    chosen = limiter or RetransmitLimiter(history=RTP_HISTORY_SIZE)
    original = sender._handle_rtcp_packet
    resend: Callable[[int], Awaitable[None]] = sender._retransmit

    async def handle_rtcp(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            rtt = getattr(sender, _RTT, None)
            for seq in chosen.select(packet.lost, rtt, sender_packets(sender)):
                if retransmit is not None:
                    retransmit(seq)
                else:
                    await resend(seq)
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


def forward_packets(receiver: RTCRtpReceiver, sink: PacketSink) -> None:
    """Make ``receiver`` hand each RTP packet to ``sink`` as it is, never depayloading it.

    What aiortc does per packet is kept but for the decoding: the bitrate estimate (REMB to
    the publisher), statistics for receiver reports, RTX unwrapping and NACKs (through the
    receiver's NACK generator, bounded by ``bound_nacks``). Call it right after
    ``addTransceiver``.
    """
    for name in ("codecs", "rtx_ssrc", "remote_streams", "remote_bitrate_estimator"):
        if not hasattr(receiver, _RECEIVER + name):
            raise SeamError(f"RTCRtpReceiver has no __{name}")
    codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, _RECEIVER + "codecs")
    rtx_ssrcs: dict[int, int] = getattr(receiver, _RECEIVER + "rtx_ssrc")
    streams: dict[int, StreamStatistics] = getattr(receiver, _RECEIVER + "remote_streams")
    estimator = getattr(receiver, _RECEIVER + "remote_bitrate_estimator")
    rtx_types: dict[int, bool] = {}

    async def handle_rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
        if not receiver._enabled:
            return
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            rtcp_ssrc = getattr(receiver, _RECEIVER + "rtcp_ssrc")
            if rtcp_ssrc is not None and remb is not None:
                feedback = RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(*remb)
                )
                await receiver._send_rtcp(feedback)
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        rtx = rtx_types.get(packet.payload_type)
        if rtx is None:
            rtx = rtx_types[packet.payload_type] = is_rtx(codec)
        if rtx:
            original_ssrc = rtx_ssrcs.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or not isinstance(apt, int):
                return  # unknown stream, or padding only (bandwidth probes)
            if apt not in codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        nacks = getattr(receiver, _NACKS)
        if nacks is not None and nacks.add(packet):
            await receiver._send_rtcp_nack(packet.ssrc, sorted(nacks.missing))
        try:
            sink(packet)
        except Exception:  # aiortc would close the publisher's whole connection
            log.exception("forwarding a packet failed")

    receiver._handle_rtp_packet = handle_rtp  # type: ignore[method-assign]


@dataclass
class SendParameters:
    """What one subscriber negotiated for a sender, read once its first answer is applied."""

    ssrc: int
    payload_type: int
    rtx_ssrc: int
    rtx_payload_type: int | None
    mid: str | None
    extensions: dict[str, int]
    """Header extension id by URI."""


MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


class DirectSender:
    """Sends finished RTP packets for an RTCRtpSender without its loop, synchronously.

    ``send`` protects with the transport's SRTP session and writes one datagram on the
    nominated ICE pair (over TURN, through aioice's coroutine). Counters for sender reports
    are kept here and written into the sender by ``flush`` (once per event-loop iteration).
    """

    def __init__(self, sender: RTCRtpSender) -> None:
        for name in ("packet_count", "octet_count", "rtp_timestamp", "ntp_timestamp"):
            if not hasattr(sender, _SENDER + name):
                raise SeamError(f"RTCRtpSender has no __{name}")
        self.sender = sender
        self.parameters: SendParameters | None = None
        self.on_ready: Callable[[SendParameters], None] | None = None
        self.packets = 0
        self.octets = 0
        self.rtp_timestamp = 0
        self.ntp_timestamp = 0
        self.sent_bytes = 0
        self.sent_packets = 0
        self.pair: Any = None
        self.dtls: RTCDtlsTransport | None = None
        self.socket: Any = None
        self.address: tuple[str, int] | None = None
        self.pending: set[asyncio.Future[None]] = set()
        original = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            await original(parameters)
            if self.parameters is None:
                self._configure(parameters)

        sender.send = send  # type: ignore[method-assign]

    def _configure(self, parameters: RTCRtpSendParameters) -> None:
        sender = self.sender
        payload_type = parameters.codecs[0].payloadType if parameters.codecs else None
        if payload_type is None:
            return
        self.parameters = SendParameters(
            ssrc=sender._ssrc,
            payload_type=payload_type,
            rtx_ssrc=sender._rtx_ssrc,
            rtx_payload_type=getattr(sender, _SENDER + "rtx_payload_type", None),
            mid=parameters.muxId or None,
            extensions={ext.uri: ext.id for ext in parameters.headerExtensions},
        )
        if self.on_ready is not None:
            self.on_ready(self.parameters)

    def ready(self) -> bool:
        """True when a packet sent now would go out (the connection is up).

        Call it before ``send``: it finds the session and the ICE pair ``send`` uses.
        """
        dtls = self.sender.transport
        if dtls._state is not State.CONNECTED or dtls._tx_srtp is None:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return False
        if pair is not self.pair:
            self.pair = pair
            self.address = pair.remote_addr
            protocol = pair.protocol
            plain = type(protocol) is aioice.ice.StunProtocol
            self.socket = protocol.transport if plain else None
        self.dtls = dtls
        return True

    def send(self, data: bytes) -> bool:
        """Protect and send one RTP packet now (after ``ready`` said True)."""
        dtls = self.dtls
        if dtls is None:
            return False
        try:
            protected = dtls._tx_srtp.protect(data)
            if self.socket is not None:
                self.socket.sendto(protected, self.address)
            else:
                task = asyncio.ensure_future(dtls.transport._send(protected))
                self.pending.add(task)
                task.add_done_callback(_sent)
                task.add_done_callback(self.pending.discard)
        except (pylibsrtp.Error, OSError, RuntimeError):  # closing under us: nothing to send to
            return False
        self.sent_bytes += len(protected)
        self.sent_packets += 1
        return True

    def count(self, payload_size: int, rtp_timestamp: int, ntp_timestamp: int) -> None:
        """Note one new packet for sender reports (not for retransmissions)."""
        self.packets += 1
        self.octets += payload_size
        self.rtp_timestamp = rtp_timestamp
        self.ntp_timestamp = ntp_timestamp

    def flush(self) -> None:
        """Write the counters into the sender (and its transport's statistics)."""
        sender = self.sender
        setattr(sender, _SENDER + "packet_count", self.packets)
        setattr(sender, _SENDER + "octet_count", self.octets)
        setattr(sender, _SENDER + "rtp_timestamp", self.rtp_timestamp)
        setattr(sender, _SENDER + "ntp_timestamp", self.ntp_timestamp)
        if self.sent_packets:
            dtls = sender.transport
            for name, value in (("tx_bytes", self.sent_bytes), ("tx_packets", self.sent_packets)):
                setattr(dtls, _DTLS + name, getattr(dtls, _DTLS + name, 0) + value)
            self.sent_bytes = self.sent_packets = 0


def _sent(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # a connection that went away: nothing to do


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
OFFERED = {"audio": ("audio/opus",), "video": ("video/VP8",)}
"""The codecs offered for each kind: one codec (aiortc sends with the first). VP8's RTX is not
offered yet: with it, a subscriber on a lossy link (tests/media/test_network.py) got 4 fps instead
of 30 on the packet path; NACKs are answered with plain retransmissions meanwhile."""


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
    """Offer Opus with DTX and in-band FEC, or VP8 (see OFFERED on RTX), and nothing else."""
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
                log.warning(
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
            log.info("a media connection failed while connecting: %s", exc)
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
