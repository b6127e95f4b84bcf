"""Seams on the receiving side: packets handed to the SFU as they are (1, 2, 8, 16, 19)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    RtcpPsfbPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)

from ..frames import ForwardingBuffer as ForwardingBuffer
from ..frames import FrameSink, LevelSink
from ..limits import BoundedNackGenerator
from .base import JITTER as _JITTER
from .base import NACKS as _NACKS
from .base import RECEIVER as _RECEIVER
from .base import SeamError
from .estimate import lean_estimator

log = logging.getLogger(__name__)

PacketSink = Callable[[RtpPacket], None]
"""Receives every RTP packet of a publisher's stream, RTX already unwrapped."""


@dataclass
class RembCap:
    """The most the SFU lets a receiver's REMB tell its publisher (what its subscribers need).

    ``forward_packets`` sends min(aiortc's estimate, ``kbps``); ``estimate_kbps`` is aiortc's
    last estimate of the publisher's uplink, before the cap.
    """

    kbps: float | None = None
    """None: no cap (aiortc's estimate goes out as it is)."""
    estimate_kbps: float | None = None
    ssrcs: list[int] = field(default_factory=list)
    """The media SSRCs aiortc's last REMB named."""

    def apply(self, bitrate: int) -> int:
        """The bitrate (bit/s) to send for aiortc's estimate ``bitrate``."""
        self.estimate_kbps = bitrate / 1000.0
        if self.kbps is None:
            return bitrate
        return min(bitrate, int(self.kbps * 1000))


async def send_remb(receiver: RTCRtpReceiver, kbps: float, ssrcs: list[int]) -> bool:
    """Send a REMB of ``kbps`` for ``ssrcs`` from ``receiver`` now; False when it cannot yet."""
    rtcp_ssrc = getattr(receiver, _RECEIVER + "rtcp_ssrc", None)
    if rtcp_ssrc is None or not ssrcs or not receiver._enabled:
        return False
    fci = pack_remb_fci(int(kbps * 1000), ssrcs)
    await receiver._send_rtcp(
        RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=fci)
    )
    return True


@dataclass
class UplinkMeter:
    """Loss on a publisher's uplink, from the statistics aiortc keeps for its receiver reports.

    It keeps its own counts (aiortc's ``fraction_lost`` resets those of the reports), and
    leaves RTX streams out: the loss is what the publisher's link lost, before repair.
    """

    receiver: RTCRtpReceiver
    seen: dict[int, tuple[int, int]] = field(default_factory=dict)
    """SSRC -> (expected, received) at the last reading."""

    def loss(self) -> float | None:
        """The fraction of packets lost since the last call (None: nothing arrived)."""
        streams: dict[int, StreamStatistics] = getattr(self.receiver, _RECEIVER + "remote_streams")
        rtx: dict[int, int] = getattr(self.receiver, _RECEIVER + "rtx_ssrc")
        expected = received = 0
        for ssrc, stream in list(streams.items()):
            if ssrc in rtx:
                continue
            now = (stream.packets_expected, stream.packets_received)
            before = self.seen.get(ssrc, (0, 0))
            self.seen[ssrc] = now
            expected += now[0] - before[0]
            received += now[1] - before[1]
        if expected <= 0:
            return None
        return max(0.0, min(1.0, (expected - received) / expected))


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


def bound_nacks(receiver: RTCRtpReceiver) -> BoundedNackGenerator | None:
    """Give a video receiver a NACK generator whose work per packet is bounded (audio: None)."""
    if not hasattr(receiver, _NACKS):
        raise SeamError("RTCRtpReceiver has no __nack_generator to replace")
    if getattr(receiver, _NACKS) is None:
        return None  # audio: aiortc sends no NACKs
    generator = BoundedNackGenerator(window=RTP_HISTORY_SIZE)
    setattr(receiver, _NACKS, generator)
    return generator


class PacketHandler:
    """A receiver's RTP handler on the packet path (seam 1): aiortc's bookkeeping, then the sink.

    ``now`` does the work without a coroutine: the bitrate estimate (REMB to the publisher, no
    more than ``cap`` allows), statistics for receiver reports, RTX unwrapping and NACKs
    (through the receiver's NACK generator, bounded by ``bound_nacks``), then ``sink``. Only
    when RTCP must go out (a REMB every half second, a NACK after a loss) does it return a
    coroutine that sends it. Calling the handler, as aiortc's transport does, runs ``now``
    and awaits what it returns.
    """

    def __init__(self, receiver: RTCRtpReceiver, sink: PacketSink, cap: RembCap | None) -> None:
        for name in ("codecs", "rtx_ssrc", "remote_streams", "remote_bitrate_estimator"):
            if not hasattr(receiver, _RECEIVER + name):
                raise SeamError(f"RTCRtpReceiver has no __{name}")
        self.receiver = receiver
        self.sink = sink
        self.cap = cap
        self.codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, _RECEIVER + "codecs")
        self.rtx_ssrcs: dict[int, int] = getattr(receiver, _RECEIVER + "rtx_ssrc")
        self.streams: dict[int, StreamStatistics] = getattr(receiver, _RECEIVER + "remote_streams")
        self.estimator = lean_estimator(receiver)
        self.rtx_types: dict[int, bool] = {}

    async def __call__(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        rest = self.now(packet, arrival_time_ms)
        if rest is not None:
            await rest

    def now(self, packet: RtpPacket, arrival_time_ms: int) -> Coroutine[Any, Any, None] | None:
        """Handle one packet; a coroutine to run if RTCP must go out because of it."""
        receiver = self.receiver
        if not receiver._enabled:
            return None
        remb = None
        estimator = self.estimator
        abs_send_time = packet.extensions.abs_send_time
        if estimator is not None and abs_send_time is not None:
            remb = self.remb(
                estimator.add(
                    abs_send_time=abs_send_time,
                    arrival_time_ms=arrival_time_ms,
                    payload_size=len(packet.payload) + packet.padding_size,
                    ssrc=packet.ssrc,
                )
            )
        codecs = self.codecs
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return self.feedback(remb, None)
        stream = self.streams.get(packet.ssrc)
        if stream is None:
            stream = self.streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        rtx = self.rtx_types.get(packet.payload_type)
        if rtx is None:
            rtx = self.rtx_types[packet.payload_type] = is_rtx(codec)
        if rtx:
            original_ssrc = self.rtx_ssrcs.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or not isinstance(apt, int):
                return self.feedback(remb, None)  # unknown stream, or padding only (probes)
            if apt not in codecs:
                return self.feedback(remb, None)
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        nack = None
        nacks = getattr(receiver, _NACKS)
        if nacks is not None and nacks.add(packet):
            nack = (packet.ssrc, sorted(nacks.missing))
        try:
            self.sink(packet)
        except Exception:  # aiortc would close the publisher's whole connection
            log.exception("forwarding a packet failed")
        return self.feedback(remb, nack)

    def remb(self, estimate: tuple[int, list[int]] | None) -> RtcpPsfbPacket | None:
        """The REMB to send for aiortc's estimate, capped (None: none is due)."""
        rtcp_ssrc = getattr(self.receiver, _RECEIVER + "rtcp_ssrc")
        if rtcp_ssrc is None or estimate is None:
            return None
        bitrate, ssrcs = estimate
        cap = self.cap
        if cap is not None:
            bitrate = cap.apply(bitrate)
            cap.ssrcs = ssrcs
        fci = pack_remb_fci(bitrate, ssrcs)
        return RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=fci)

    def feedback(
        self, remb: RtcpPsfbPacket | None, nack: tuple[int, list[int]] | None
    ) -> Coroutine[Any, Any, None] | None:
        """A coroutine sending the REMB and the NACK, if there is either."""
        if remb is None and nack is None:
            return None
        return self.send(remb, nack)

    async def send(self, remb: RtcpPsfbPacket | None, nack: tuple[int, list[int]] | None) -> None:
        """Send the REMB, then the NACK."""
        if remb is not None:
            await self.receiver._send_rtcp(remb)
        if nack is not None:
            await self.receiver._send_rtcp_nack(*nack)


def forward_packets(
    receiver: RTCRtpReceiver, sink: PacketSink, cap: RembCap | None = None
) -> PacketHandler:
    """Make ``receiver`` hand each RTP packet to ``sink`` as it is, never depayloading it.

    What aiortc does per packet is kept but for the decoding (see PacketHandler); a video
    receiver's estimator becomes a LeanBitrateEstimator (seam 18). Call it right after
    ``addTransceiver``.
    """
    handler = PacketHandler(receiver, sink, cap)
    receiver._handle_rtp_packet = handler  # type: ignore[method-assign]
    return handler
