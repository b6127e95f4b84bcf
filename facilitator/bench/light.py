"""The light load generator's media: pre-built RTP packets out, minimal counting in.

aiortc sets up ICE and DTLS (and keeps answering RTCP); after that no RTP packet goes through
aiortc's per-packet Python. Sending: the sample VP8 and Opus are packetised once into packet
templates; per packet only the sequence number, timestamp and send-time extension are written
into the template, then it is protected with the connection's SRTP session and sent with one
``sendto`` on the nominated ICE pair. Receiving: RTP datagrams are taken before aioice hands
them to aiortc, unprotected, and only counted (packets, frames by marker bit, the first
keyframe) and, for video, the send-time stamp after the VP8 data is read (``bot.STAMP``), so
the added delay is measured as the aiortc bots measure it.

Bench only. The aiortc and aioice internals used here are listed in ``check_internals``, which
fails loudly when an upgrade moves one (the product's seams live in ``media/aiortc_seams/``).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aioice.ice
import pylibsrtp
from aiortc import (
    RTCDtlsTransport,
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .bot import STAMP, STAMP_SIZE, Paced
from .samples import OPUS_FRAME, SampleMedia

MAX_VP8_DATA = 1200
"""VP8 bytes per packet at most (aiortc: 1300 with the descriptor)."""
NTP_EPOCH = 2_208_988_800
"""Seconds from 1900 (NTP) to 1970 (Unix)."""
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


class InternalsMoved(RuntimeError):
    """aiortc or aioice no longer has the shape the light generator relies on."""


def check_internals() -> None:
    """Raise InternalsMoved naming each aiortc/aioice internal that is gone (bench only)."""
    problems = []
    if "_ssrc" not in inspect.getsource(RTCRtpSender.__init__):
        problems.append("RTCRtpSender no longer has _ssrc")
    if "self._send_keyframe()" not in inspect.getsource(RTCRtpSender._handle_rtcp_packet):
        problems.append("RTCRtpSender no longer calls _send_keyframe on PLI/FIR")
    if "if not self.__track:" not in inspect.getsource(RTCRtpSender._run_rtp):
        problems.append("RTCRtpSender._run_rtp no longer waits for a track")
    dtls = inspect.getsource(RTCDtlsTransport)
    if "self._rx_srtp" not in dtls or "self._tx_srtp" not in dtls:
        problems.append("RTCDtlsTransport no longer keeps _rx_srtp/_tx_srtp")
    if "self._connection" not in inspect.getsource(RTCIceTransport.__init__):
        problems.append("RTCIceTransport no longer keeps _connection")
    init = inspect.getsource(aioice.ice.Connection.__init__)
    if "self._nominated" not in init or "self._protocols" not in init:
        problems.append("aioice Connection no longer keeps _nominated/_protocols")
    if "self.receiver.data_received(" not in inspect.getsource(
        aioice.ice.StunProtocol.datagram_received
    ):
        problems.append("aioice StunProtocol.datagram_received no longer hands data on")
    transceiver = inspect.getsource(RTCRtpTransceiver.__init__)
    if "self._codecs" not in transceiver or "self._headerExtensions" not in transceiver:
        problems.append("RTCRtpTransceiver no longer keeps _codecs/_headerExtensions")
    if problems:
        raise InternalsMoved("light generator: aiortc internals moved: " + "; ".join(problems))


class IdleTrack(MediaStreamTrack):
    """A track whose ``recv`` never returns: aiortc's sender loop stays asleep, sending nothing."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        """Wait until stopped."""
        await self._never
        raise MediaStreamError

    def stop(self) -> None:
        """Stop, and wake the sender loop so that it exits."""
        super().stop()
        if not self._never.done():
            self._never.set_result(None)


def dtls_transport(pc: RTCPeerConnection) -> RTCDtlsTransport | None:
    """The connection's one (bundled) DTLS transport, once there is a transceiver."""
    for transceiver in pc.getTransceivers():
        return transceiver.sender.transport
    return None


def ice_connection(transport: RTCDtlsTransport) -> aioice.ice.Connection:
    """The aioice connection under a DTLS transport (bench-only internal)."""
    return transport.transport._connection


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the server asks this sender for a keyframe (PLI or FIR)."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def extension_ids(transceiver: RTCRtpTransceiver) -> dict[str, int]:
    """Negotiated RTP header extension ids by URI."""
    return {ext.uri: ext.id for ext in transceiver._headerExtensions}


# Sending


def one_byte_extensions(elements: list[tuple[int, bytes]]) -> bytes:
    """An RFC 8285 one-byte header extension block (0xBEDE), padded to 32 bits."""
    body = b"".join(bytes([(ident << 4) | (len(value) - 1)]) + value for ident, value in elements)
    body += bytes(-len(body) % 4)
    return struct.pack("!HH", 0xBEDE, len(body) // 4) + body


def vp8_chunks(data: bytes) -> list[bytes]:
    """Split a VP8 frame into near-equal chunks, so the last one holds the whole stamp."""
    count = max(1, math.ceil(len(data) / MAX_VP8_DATA))
    size = math.ceil(len(data) / count)
    return [data[at : at + size] for at in range(0, len(data), size)]


@dataclass
class PacketPlan:
    """One pre-built RTP packet and where its per-send fields go."""

    buffer: bytearray
    marker: bool
    picture_id_at: int | None
    """Offset of the 2-byte VP8 picture id (video)."""


@dataclass
class LightTrack(Paced):
    """Sends one pre-packetised track at its real pace; restarts at a keyframe on request.

    Counts like ``bot.LoopTrack``: ``count`` is frames (video) or packets (audio) sent.
    """

    kind: str
    frames: tuple[bytes, ...]
    fps: int
    stamp: bool = True
    mid: str = "0"
    paused: bool = False
    count: int = 0
    packets: int = 0
    keyframe_requests: int = 0
    index: int = 0
    plans: list[list[PacketPlan]] = field(default_factory=list)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    started: float | None = None
    abs_at: int | None = None
    """Offset of the 3-byte abs-send-time value, if negotiated."""

    def __post_init__(self) -> None:
        self.resumed.set()
        self.stamp = self.stamp and self.kind == "video"
        self.interval = 1 / self.fps
        self.ticks = 90_000 // self.fps if self.kind == "video" else OPUS_FRAME

    def build(self, ssrc: int, payload_type: int, ext_ids: dict[str, int]) -> None:
        """Packetise every frame once into templates for this SSRC and payload type."""
        elements = []
        mid_id = ext_ids.get(MID_URI)
        self.abs_at = None
        if ABS_SEND_TIME_URI in ext_ids:
            elements.append((ext_ids[ABS_SEND_TIME_URI], b"\0\0\0"))
        if mid_id is not None:
            elements.append((mid_id, self.mid.encode()))
        extension = one_byte_extensions(elements) if elements else b""
        if ABS_SEND_TIME_URI in ext_ids:
            self.abs_at = 12 + 4 + 1  # after the header, the 0xBEDE word and the element byte
        first = 0x90 if extension else 0x80
        self.plans = []
        for frame in self.frames:
            if self.kind == "video":
                data = frame + (STAMP + bytes(8) if self.stamp else b"")
                chunks = vp8_chunks(data)
            else:
                chunks = [frame]
            plans = []
            for number, chunk in enumerate(chunks):
                marker = number == len(chunks) - 1
                header = struct.pack(
                    "!BBHII", first, payload_type | (0x80 if marker else 0), 0, 0, ssrc
                )
                descriptor = b""
                if self.kind == "video":
                    # X and (first packet) S, then I; the 15-bit picture id is written per send.
                    descriptor = bytes([0x90 if number == 0 else 0x80, 0x80, 0x80, 0])
                buffer = bytearray(header + extension + descriptor + chunk)
                picture_at = 12 + len(extension) + 2 if self.kind == "video" else None
                plans.append(PacketPlan(buffer, marker, picture_at))
            self.plans.append(plans)

    async def run(self, session: pylibsrtp.Session, send: Callable[[bytes], None]) -> None:
        """Send frames at their pace until cancelled."""
        seq = int.from_bytes(os.urandom(2), "big")
        origin = int.from_bytes(os.urandom(4), "big")
        pack_into = struct.pack_into
        picture_id = 0
        while True:
            if self.paused:
                await self.resumed.wait()
                # Carry on at the normal pace, without a burst of the frames not sent meanwhile.
                self.started = time.monotonic() - self.count * self.interval
            now = time.monotonic()
            if self.started is None:
                self.started = now
            due = self.started + self.count * self.interval
            if due > now:
                await asyncio.sleep(due - now)
            timestamp = (origin + self.count * self.ticks) & 0xFFFFFFFF
            abs_time = int((time.time() + NTP_EPOCH) * (1 << 18)) & 0xFFFFFF
            plans = self.plans[self.index]
            if self.stamp:
                last = plans[-1].buffer
                pack_into("!Q", last, len(last) - 8, time.monotonic_ns())
            for plan in plans:
                buffer = plan.buffer
                pack_into("!HI", buffer, 2, seq, timestamp)
                if self.abs_at is not None:
                    buffer[self.abs_at : self.abs_at + 3] = abs_time.to_bytes(3, "big")
                if plan.picture_id_at is not None:
                    pack_into("!H", buffer, plan.picture_id_at, 0x8000 | picture_id)
                send(session.protect(bytes(buffer)))
                seq = (seq + 1) & 0xFFFF
            self.packets += len(plans)
            picture_id = (picture_id + 1) & 0x7FFF
            self.count += 1
            self.index = (self.index + 1) % len(self.plans)


def light_tracks(media: SampleMedia, stamp: bool = True) -> tuple[LightTrack, LightTrack]:
    """An audio and a video LightTrack over the sample media."""
    return LightTrack("audio", media.audio, 50), LightTrack("video", media.video, media.fps, stamp)


async def send_track(
    pc: RTCPeerConnection, transceiver: RTCRtpTransceiver, track: LightTrack
) -> None:
    """Once the connection is up, send ``track`` on ``transceiver`` without aiortc's RTP loop."""
    transport = transceiver.sender.transport
    while transport._tx_srtp is None:
        if pc.connectionState in ("failed", "closed"):
            raise ConnectionError("the media connection did not come up")
        await asyncio.sleep(0.05)
    codec = transceiver._codecs[0]
    if codec.payloadType is None:
        raise ConnectionError("no payload type was negotiated")
    track.mid = transceiver.mid or "0"
    track.build(transceiver.sender._ssrc, codec.payloadType, extension_ids(transceiver))
    connection = ice_connection(transport)

    def send(data: bytes) -> None:
        pair = connection._nominated.get(1)
        if pair is not None:
            pair.protocol.transport.sendto(data, pair.remote_addr)

    await track.run(transport._tx_srtp, send)


# Receiving


@dataclass
class Stream:
    """What arrived from one other person's track."""

    person: str
    kind: str
    packets: int = 0
    frames: int = 0
    first_keyframe_at: float | None = None
    last: bytes = b""
    """The previous packet (a stamp may straddle the last two packets of a frame)."""


def vp8_descriptor_size(packet: bytes, at: int) -> int:
    """Length of the VP8 payload descriptor starting at ``at``."""
    size = 1
    if packet[at] & 0x80:
        ext = packet[at + 1]
        size = 2
        if ext & 0x80:
            size += 2 if packet[at + 2] & 0x80 else 1
        if ext & 0x40:
            size += 1
        if ext & 0x30:
            size += 1
    return size


def payload_bounds(packet: bytes) -> tuple[int, int]:
    """(start, end) of an RTP packet's payload: after CSRCs and extensions, before padding."""
    first = packet[0]
    at = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        at += 4 + 4 * int.from_bytes(packet[at + 2 : at + 4], "big")
    end = len(packet) - (packet[-1] if first & 0x20 else 0)
    return at, end


@dataclass
class SdpMedia:
    """What a subscriber needs from one m-section of an SDP: its mid, SSRCs and RTX SSRCs."""

    mid: str
    ssrcs: set[int] = field(default_factory=set)
    rtx: set[int] = field(default_factory=set)
    rtx_types: set[int] = field(default_factory=set)
    mid_id: int | None = None
    """The id of the mid header extension, if negotiated."""


def sdp_media(sdp: str) -> list[SdpMedia]:
    """Each m-section's mid and SSRCs (RTX ones apart, from ``ssrc-group:FID``)."""
    sections = []
    for part in re.split(r"\r?\n(?=m=)", sdp)[1:]:
        mid = re.search(r"^a=mid:(\S+)", part, re.M)
        media = SdpMedia(mid.group(1) if mid else "")
        media.ssrcs = {int(s) for s in re.findall(r"^a=ssrc:(\d+) ", part, re.M)}
        for group in re.findall(r"^a=ssrc-group:FID (\d+) (\d+)", part, re.M):
            media.rtx.add(int(group[1]))
        media.ssrcs -= media.rtx
        media.rtx_types = {int(t) for t in re.findall(r"^a=rtpmap:(\d+) rtx/", part, re.M)}
        ext = re.search(r"^a=extmap:(\d+)\S* " + re.escape(MID_URI), part, re.M)
        media.mid_id = int(ext.group(1)) if ext else None
        sections.append(media)
    return sections


class LightReceiver:
    """Counts what arrives on one peer connection, taking RTP before aiortc sees it.

    ``streams_by_mid`` (from signalling) says whose track each mid carries; SSRCs come from the
    SDP with ``learn``. The hook goes in right after gathering (``setLocalDescription``), so no
    RTP packet ever reaches aiortc's receivers (which would depacketise and decode it).
    """

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.by_ssrc: dict[int, Stream] = {}
        self.by_mid: dict[str, Stream] = {}
        self.mid_id: int | None = None
        self.rtx_types: set[int] = set()
        self.streams: dict[tuple[str, str], Stream] = {}
        self.delays: list[float] = []
        self.measuring = False
        self.packets = 0
        self.unknown = 0
        self.hooked: set[int] = set()

    def learn(self, sdp: str, tracks: dict[str, tuple[str, str]]) -> None:
        """Map SSRCs to (person, kind) from an offer's SDP and mid -> (person, kind)."""
        for media in sdp_media(sdp):
            owner = tracks.get(media.mid)
            if owner is None:
                continue
            stream = self.streams.setdefault(owner, Stream(*owner))
            self.by_mid[media.mid] = stream
            self.rtx_types |= media.rtx_types
            self.mid_id = media.mid_id if media.mid_id is not None else self.mid_id
            for ssrc in media.ssrcs:
                self.by_ssrc[ssrc] = stream

    def stream_by_mid(self, packet: bytes) -> Stream | None:
        """For an SSRC the SDP did not name: the stream its mid extension names (then cached)."""
        if self.mid_id is None or not packet[0] & 0x10 or packet[1] & 0x7F in self.rtx_types:
            return None
        at = 12 + 4 * (packet[0] & 0x0F)
        if packet[at : at + 2] != b"\xbe\xde":
            return None
        end = at + 4 + 4 * int.from_bytes(packet[at + 2 : at + 4], "big")
        at += 4
        while at < end:
            if packet[at] == 0:  # padding
                at += 1
                continue
            ident, size = packet[at] >> 4, (packet[at] & 0x0F) + 1
            if ident == self.mid_id:
                stream = self.by_mid.get(packet[at + 1 : at + 1 + size].decode(errors="replace"))
                if stream is not None:
                    self.by_ssrc[int.from_bytes(packet[8:12], "big")] = stream
                return stream
            at += 1 + size
        return None

    def hook(self) -> None:
        """Take RTP from every socket of the connection (call after setLocalDescription)."""
        transport = dtls_transport(self.pc)
        if transport is None:
            return
        for protocol in ice_connection(transport)._protocols:
            if id(protocol) in self.hooked:
                continue
            self.hooked.add(id(protocol))
            # An instance attribute: asyncio's transport looks the method up on each datagram.
            hook = self._make_hook(transport, protocol.datagram_received)
            setattr(protocol, "datagram_received", hook)  # noqa: B010

    def _make_hook(
        self, transport: RTCDtlsTransport, original: Callable[[bytes, Any], None]
    ) -> Callable[[bytes, Any], None]:
        by_ssrc = self.by_ssrc
        monotonic = time.monotonic
        monotonic_ns = time.monotonic_ns
        stamp = STAMP
        receiver = self

        def datagram_received(data: bytes, addr: Any) -> None:
            # RTP: version 2, and not RTCP (packet types 192-223, RFC 5761).
            if len(data) < 12 or not 127 < data[0] < 192 or 191 < data[1] < 224:
                original(data, addr)
                return
            session = transport._rx_srtp
            if session is None:
                return
            try:
                packet = session.unprotect(data)
            except pylibsrtp.Error:
                return
            receiver.packets += 1
            stream = by_ssrc.get(int.from_bytes(packet[8:12], "big"))
            if stream is None:
                stream = receiver.stream_by_mid(packet)
                if stream is None:
                    receiver.unknown += 1
                    return
            stream.packets += 1
            if stream.kind == "audio":
                stream.frames += 1
                return
            if stream.first_keyframe_at is None and _keyframe_start(packet):
                stream.first_keyframe_at = monotonic()
            if packet[1] & 0x80:
                stream.frames += 1
                if receiver.measuring:
                    tail = _tail(stream.last, packet)
                    if tail[:4] == stamp:
                        sent = int.from_bytes(tail[4:], "big")
                        receiver.delays.append((monotonic_ns() - sent) / 1e9)
            stream.last = packet

        return datagram_received


def _keyframe_start(packet: bytes) -> bool:
    """True for the first packet of a VP8 keyframe."""
    at, end = payload_bounds(packet)
    if end - at < 2 or not packet[at] & 0x10 or packet[at] & 0x07:
        return False
    data = at + vp8_descriptor_size(packet, at)
    return data < end and packet[data] & 0x01 == 0


def _tail(previous: bytes, packet: bytes) -> bytes:
    """The last STAMP_SIZE bytes of a frame's VP8 data, ending in ``packet``."""
    at, end = payload_bounds(packet)
    at += vp8_descriptor_size(packet, at)
    if end - at >= STAMP_SIZE or not previous:
        return packet[max(at, end - STAMP_SIZE) : end]
    before, before_end = payload_bounds(previous)
    before += vp8_descriptor_size(previous, before)
    return (previous[before:before_end] + packet[at:end])[-STAMP_SIZE:]


class LightParticipant(Protocol):
    """What ``light_snapshot`` reads from a light bot."""

    audio: LightTrack
    video: LightTrack
    receiver: LightReceiver | None
    joined_at: float


def light_snapshot(bot: LightParticipant, with_delays: bool) -> dict[str, Any]:
    """A light bot's counters for the load test (the shape of ``loadtest``'s snapshots)."""
    receiver = bot.receiver
    streams = list(receiver.streams.values()) if receiver else []
    return {
        "sent": {"audio": bot.audio.count, "video": bot.video.count},
        "received": {f"{s.person}/{s.kind}": s.frames for s in streams},
        "packets_in": receiver.packets if receiver else 0,
        "unknown_in": receiver.unknown if receiver else 0,
        "first_keyframe": {
            s.person: s.first_keyframe_at
            for s in streams
            if s.kind == "video" and s.first_keyframe_at is not None
        },
        "joined": bot.joined_at,
        "delays": list(receiver.delays) if receiver and with_delays else [],
    }


def measure(receiver: LightReceiver | None, on: bool) -> None:
    """Start (or stop) collecting delays on a receiver, from a clean list."""
    if receiver is not None:
        receiver.delays.clear()
        receiver.measuring = on
