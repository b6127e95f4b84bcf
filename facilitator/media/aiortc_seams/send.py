"""Seams on the sending side: packets out without aiortc's sender loop (3, 4, 7, 12)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RTP_HISTORY_SIZE,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from ..limits import RetransmitLimiter
from .base import DTLS as _DTLS
from .base import RTT as _RTT
from .base import SENDER as _SENDER
from .base import SeamError


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when a subscriber asks this sender for a keyframe (PLI or FIR)."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def limit_retransmissions(
    sender: RTCRtpSender,
    limiter: RetransmitLimiter | None = None,
    retransmit: Callable[[int], None] | None = None,
    kept: Callable[[int], bool] | None = None,
) -> RetransmitLimiter:
    """Make ``sender`` answer NACKs through ``limiter`` instead of resending every mention.

    ``retransmit`` sends one packet again by sequence number (default: aiortc's, from the
    sender's own history; the packet path keeps its own), and ``kept`` says whether it can:
    a NACK for a packet never sent (a gap the publisher's link left) or no longer kept costs
    the limiter nothing. Other RTCP (receiver reports, PLI, FIR, REMB) still goes to aiortc's
    own handler.
    """
    chosen = limiter or RetransmitLimiter(history=RTP_HISTORY_SIZE)
    original = sender._handle_rtcp_packet
    resend: Callable[[int], Awaitable[None]] = sender._retransmit

    async def handle_rtcp(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            rtt = getattr(sender, _RTT, None)
            lost = packet.lost if kept is None else [seq for seq in packet.lost if kept(seq)]
            for seq in chosen.select(lost, rtt, sender_packets(sender)):
                if retransmit is not None:
                    retransmit(seq)
                else:
                    await resend(seq)
            return
        await original(packet)

    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
    return chosen


RembSink = Callable[[float, list[int]], None]
"""Receives a subscriber's REMB: kbit/s and the SSRCs it is about (a browser sends one for
every stream it receives; aiortc one per stream)."""
ReportSink = Callable[[float, float | None], None]
"""Receives one receiver report block: the fraction lost (0..1) and the sender's round trip in
seconds (None until aiortc has one)."""


@dataclass
class RepairedLoss:
    """The loss a subscriber is left with once RTX repaired what it could, from its reports.

    A receiver counts a plain retransmission (same SSRC, same sequence number) as received,
    so its reports show the loss after repair; a packet rebuilt from RTX is not counted
    (Chromium and aiortc alike), so with RTX the media report shows the link's loss before
    repair. The RTX stream's own report block says how many retransmissions arrived: the
    loss after repair is the media packets lost less those, as it was without RTX.
    """

    media: tuple[int, int] | None = None
    """The media block's (extended highest sequence number, cumulative lost) last time."""
    rtx: tuple[int, int] | None = None
    """The same for the RTX block (None: none came)."""
    sent_between: Callable[[int, int], int | None] | None = None
    """How many sequence numbers after the first up to the second the server sent (None:
    not known). A gap the publisher's link left is passed on, and the subscriber's report
    counts it as lost: it is not the subscriber's link (``SentRecord``)."""

    def update(self, media: RtcpReceiverInfo, rtx: RtcpReceiverInfo | None) -> float:
        """The fraction lost (0..1) for one report, with the RTX block if there is one."""
        raw = media.fraction_lost / 256.0
        before, before_rtx = self.media, self.rtx
        self.media = (media.highest_sequence, media.packets_lost)
        self.rtx = (rtx.highest_sequence, rtx.packets_lost) if rtx is not None else None
        if before is None:
            return raw
        expected = media.highest_sequence - before[0]
        if not 0 < expected < 1 << 15:  # nothing new, or a restarted stream
            return raw
        received = expected - (media.packets_lost - before[1])
        repaired = 0
        if rtx is not None and before_rtx is not None:
            arrived = (rtx.highest_sequence - before_rtx[0]) - (rtx.packets_lost - before_rtx[1])
            repaired = max(0, min(arrived, 1 << 15))
        sent = expected
        if self.sent_between is not None:
            counted = self.sent_between(before[0], media.highest_sequence)
            sent = expected if counted is None else counted
        if sent <= 0:
            return 0.0
        return max(0.0, min(1.0, (sent - received - repaired) / sent))


def watch_feedback(
    sender: RTCRtpSender, on_remb: RembSink, on_report: ReportSink,
    sent_between: Callable[[int, int], int | None] | None = None,
) -> None:  # fmt: skip
    """Hand each REMB and receiver report block a subscriber sends about ``sender`` to the SFU.

    aiortc still handles the packet first (it updates its round-trip estimate from the report,
    and ignores a REMB when nothing is encoded); the callbacks then see the same packet. The
    loss passed on is what is left after RTX repaired what it could, of what the server sent
    (``RepairedLoss``; ``sent_between`` as there).
    """
    original = sender._handle_rtcp_packet
    repaired = RepairedLoss(sent_between=sent_between)

    async def handle_rtcp(packet: AnyRtcpPacket) -> None:
        await original(packet)
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            ssrc, rtx_ssrc = sender._ssrc, sender._rtx_ssrc
            media = rtx = None
            for report in packet.reports:
                if report.ssrc == ssrc:
                    media = report
                elif report.ssrc == rtx_ssrc:
                    rtx = report
            if media is not None:
                on_report(repaired.update(media, rtx), getattr(sender, _RTT, None))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return  # another application's feedback
            if sender._ssrc in ssrcs:
                on_remb(bitrate / 1000.0, ssrcs)

    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]


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
        self.checked = -1
        self.was_ready = False
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

    def ready_in(self, iteration: int) -> bool:
        """``ready``, asked once per event-loop iteration (``iteration`` names it): the
        connection does not change between packets of one burst. A packet sent just after a
        close in the same iteration is dropped by the closed socket."""
        if iteration != self.checked:
            self.checked = iteration
            self.was_ready = self.ready()
        return self.was_ready

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


def sender_packets(sender: RTCRtpSender) -> int:
    """RTP packets a sender has sent (for the load test's packets per second)."""
    return int(getattr(sender, "_RTCRtpSender__packet_count", 0))


def sender_bytes(sender: RTCRtpSender) -> int:
    """RTP payload bytes a sender has sent (for the operator's metrics)."""
    return int(getattr(sender, "_RTCRtpSender__octet_count", 0))
