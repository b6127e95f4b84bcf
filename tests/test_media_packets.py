"""The packet path without a network: parsing, rewriting and building RTP byte for byte, the
fan-out, and the seams that receive and send packets (against aiortc's own parser)."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpReceiveParameters,
    RTCRtpRtxParameters,
    RTCRtpSendParameters,
)
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import (
    RTCP_RTPFB_NACK,
    HeaderExtensionsMap,
    RtcpRtpfbPacket,
    RtpPacket,
    unwrap_rtx,
    wrap_rtx,
)

from facilitator.media.aiortc_seams import ABS_SEND_TIME, AUDIO_LEVEL, MID, forward_packets
from facilitator.media.forward import Batch, PacketPublisher, PacketSubscriber
from facilitator.media.packets import (
    Incoming,
    Renumber,
    RtpWriter,
    StreamRewriter,
    abs_send_time,
    ntp_time,
)
from facilitator.media.relay import KEYFRAME_INTERVAL


def extensions_map(**ids: int) -> HeaderExtensionsMap:
    uris = {"mid": MID, "ast": ABS_SEND_TIME, "level": AUDIO_LEVEL}
    parameters = RTCRtpSendParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=i, uri=uris[name]) for name, i in ids.items()
        ]
    )
    mapping = HeaderExtensionsMap()
    mapping.configure(parameters)
    return mapping


def vp8_payload(
    picture: int | None = 1000,
    *,
    start: bool = True,
    key: bool = False,
    tid: int | None = None,
    tl0: int | None = None,
    body: bytes = b"frame-data",
) -> bytes:
    """A VP8 RTP payload: descriptor (RFC 7741), then the VP8 payload header byte and data."""
    extended = (0x80 if picture is not None else 0) | (0x40 if tl0 is not None else 0)
    extended |= 0x20 if tid is not None else 0
    descriptor = bytes([(0x80 if extended else 0) | (0x10 if start else 0)])
    if extended:
        descriptor += bytes([extended])
        if picture is not None:
            descriptor += bytes([0x80 | (picture >> 8), picture & 0xFF])
        if tl0 is not None:
            descriptor += bytes([tl0])
        if tid is not None:
            descriptor += bytes([tid << 6])
    header = bytes([0x00 if key else 0x01]) if start else b""
    return descriptor + header + body


def incoming(seq: int, ts: int, payload: bytes, marker: int = 1) -> Incoming:
    return Incoming(seq % 65536, ts, marker, payload, video=True)


def test_writer_builds_what_aiortc_parses_back_byte_for_byte() -> None:
    writer = RtpWriter(0xCAFE, 96, mid="3", mid_id=1, abs_send_time_id=3)
    payload = vp8_payload(key=True)
    data = writer.build(4321, 90_000, 1, payload, None, 0xABCDEF)
    parsed = RtpPacket.parse(data, extensions_map(mid=1, ast=3))
    assert (parsed.ssrc, parsed.payload_type, parsed.sequence_number) == (0xCAFE, 96, 4321)
    assert (parsed.timestamp, parsed.marker) == (90_000, 1)
    assert parsed.extensions.mid == "3" and parsed.extensions.abs_send_time == 0xABCDEF
    assert parsed.payload == payload
    # Audio: mid and the publisher's audio level (V bit and -dBov) as negotiated.
    audio = RtpWriter(7, 111, mid="12", mid_id=1, audio_level_id=2)
    parsed = RtpPacket.parse(
        audio.build(1, 960, 0, b"opus", 0x80 | 33, 0), extensions_map(mid=1, level=2)
    )
    assert parsed.extensions.audio_level == (True, 33) and parsed.extensions.mid == "12"
    assert parsed.payload == b"opus" and parsed.extensions.abs_send_time is None
    # Nothing negotiated: a plain 12-byte header.
    assert (
        RtpWriter(7, 111).build(1, 2, 0, b"x", None, 0)
        == RtpPacket(
            payload_type=111, sequence_number=1, timestamp=2, ssrc=7, payload=b"x"
        ).serialize()
    )
    # An id the one-byte form cannot carry is left out rather than written wrong.
    odd = RtpWriter(7, 96, mid="1", mid_id=15, abs_send_time_id=3)
    parsed = RtpPacket.parse(odd.build(1, 2, 0, b"x", None, 9), extensions_map(ast=3))
    assert parsed.extensions.abs_send_time == 9 and parsed.payload == b"x"
    # RTX (RFC 4588): aiortc's unwrap gives back the original packet.
    original = writer.build(4321, 90_000, 1, payload, None, 5)
    rtx = RtpPacket.parse(writer.rtx(original, 77, 97, 0xBEEF), extensions_map(mid=1, ast=3))
    assert (rtx.payload_type, rtx.sequence_number, rtx.ssrc) == (97, 77, 0xBEEF)
    again = unwrap_rtx(rtx, payload_type=96, ssrc=0xCAFE)
    assert again.sequence_number == 4321 and again.payload == payload and again.marker == 1
    expected = wrap_rtx(RtpPacket.parse(original, extensions_map(mid=1, ast=3)), 97, 77, 0xBEEF)
    assert rtx.payload == expected.payload
    assert rtx.extensions.abs_send_time == 5 and rtx.extensions.mid == "3"
    # A retransmission goes out stamped with the time it is sent, as RTX or as it was.
    mapping = extensions_map(mid=1, ast=3)
    later = RtpPacket.parse(writer.rtx(original, 78, 97, 0xBEEF, 0x123456), mapping)
    assert later.extensions.abs_send_time == 0x123456 and later.extensions.mid == "3"
    assert later.payload == expected.payload and later.marker == 1
    plain = RtpPacket.parse(writer.restamp(original, 0x654321), mapping)
    assert plain.extensions.abs_send_time == 0x654321
    assert (plain.sequence_number, plain.payload, plain.extensions.mid) == (4321, payload, "3")
    assert writer.restamp(original, None) == original
    assert RtpWriter(7, 96, mid="1", mid_id=1).restamp(b"as it was", 9) == b"as it was"


def test_clock_values_for_extensions_and_sender_reports() -> None:
    assert ntp_time(0.0) >> 32 == 2_208_988_800
    assert ntp_time(0.5) & 0xFFFFFFFF == 1 << 31
    assert abs_send_time(ntp_time(1.25)) == ((ntp_time(1.25) >> 14) & 0xFFFFFF)
    assert abs_send_time(1 << 32) == 1 << 18  # one second in 6.18 fixed point


def test_the_vp8_descriptor_is_read_once() -> None:
    key = incoming(1, 0, vp8_payload(1234, key=True, tl0=9, tid=0))
    assert key.frame_start and key.keyframe and key.valid
    assert (key.picture_id, key.picture_bits, key.tl0, key.tid) == (1234, 15, 9, 0)
    delta = incoming(2, 0, vp8_payload(1235, tid=2))
    assert delta.frame_start and not delta.keyframe and delta.tid == 2
    middle = incoming(3, 0, vp8_payload(1235, start=False, body=b"\x00more"))
    assert not middle.frame_start and not middle.keyframe  # P bit is only read at a start
    partition = incoming(4, 0, bytes([0x11]) + b"\x00data")  # S bit but partition 1
    assert not partition.frame_start and not partition.keyframe
    no_picture = incoming(5, 0, vp8_payload(None, key=True))
    assert no_picture.keyframe and no_picture.picture_id is None
    for broken in (b"", b"\x90", bytes([0x90, 0x80, 0x81])):
        assert not incoming(6, 0, broken).valid
    audio = Incoming(1, 960, 0, b"", video=False, level=12)
    assert audio.valid and audio.level == 12


def test_renumbering_skips_without_gaps_and_keeps_late_packets_in_place() -> None:
    numbers = Renumber(16)
    numbers.start(65534, 100)
    assert [numbers.map(n) for n in (65534, 65535, 0)] == [100, 101, 102]
    numbers.skip(1)
    numbers.skip(2)
    assert numbers.map(3) == 103  # two left out: no gap
    assert numbers.map(0) == 102  # a late one keeps its place
    assert numbers.map(60000) is None  # older than the run
    numbers.skip(2)  # late (already passed): changes nothing
    assert numbers.map(4) == 104


def key_frame(rewriter: StreamRewriter, seq: int, ts: int, picture: int, now: float) -> list[int]:
    """Feed a two-packet keyframe; return the sequence numbers that went out."""
    first = incoming(seq, ts, vp8_payload(picture, key=True), marker=0)
    second = incoming(seq + 1, ts, vp8_payload(picture, start=False))
    return [rewriter.out_seq for p in (first, second) if rewriter.rewrite(p, now)]


def test_a_subscriber_starts_at_a_keyframe_and_stays_continuous_across_sources() -> None:
    rewriter = StreamRewriter("video", next_seq=500)
    assert not rewriter.rewrite(incoming(10, 3000, vp8_payload(7)), 1.0)  # delta: wait
    assert rewriter.skipped_frames == 1
    assert key_frame(rewriter, 11, 6000, 8, 1.0) == [500, 501]
    assert rewriter.out_ts == 6000  # the first source keeps its own timestamps
    assert rewriter.rewrite(incoming(13, 9000, vp8_payload(9)), 1.03)
    assert (rewriter.out_seq, rewriter.out_payload) == (502, vp8_payload(9))
    # Re-pointed at another source, 0.5 s later: waits for its keyframe, then carries on.
    rewriter.repoint()
    assert not rewriter.rewrite(incoming(40_000, 777, vp8_payload(30_000)), 1.5)
    assert key_frame(rewriter, 40_001, 1_000_000, 30_001, 1.53) == [503, 504]
    assert rewriter.out_ts == 9000 + int(0.5 * 90_000)  # the time between, not a jump
    # Picture ids carry on from the last one sent; the rest of the payload is untouched.
    assert rewriter.out_payload == vp8_payload(10, start=False)
    assert rewriter.rewrite(incoming(40_003, 1_003_000, vp8_payload(30_002)), 1.56)
    assert rewriter.out_payload == vp8_payload(11) and rewriter.out_seq == 505
    assert rewriter.out_ts == 9000 + 45_000 + 3000


def test_pause_and_resume_wait_for_a_keyframe_without_a_gap() -> None:
    rewriter = StreamRewriter("video", next_seq=0)
    key_frame(rewriter, 100, 0, 1, 0.0)
    rewriter.set_paused(True)
    assert not rewriter.rewrite(incoming(102, 3000, vp8_payload(2, key=True)), 0.1)
    rewriter.set_paused(False)
    assert not rewriter.rewrite(incoming(103, 6000, vp8_payload(3)), 0.2)  # delta: wait
    assert key_frame(rewriter, 104, 9000, 4, 0.3) == [2, 3]
    assert rewriter.out_ts == 9000  # the same source: its own timeline


def test_a_source_that_jumps_far_ahead_starts_a_new_run_without_a_gap() -> None:
    # A gap of 30,000 passed on would be 30,000 "lost" packets in the subscriber's reports.
    rewriter = StreamRewriter("video", next_seq=0)
    key_frame(rewriter, 100, 0, 1, 0.0)
    assert rewriter.rewrite(incoming(30_102, 3000, vp8_payload(2)), 0.1)
    assert rewriter.out_seq == 2
    assert rewriter.rewrite(incoming(30_103, 6000, vp8_payload(3)), 0.2)
    assert rewriter.out_seq == 3
    # An ordinary gap (packets lost upstream) is passed on, so the subscriber can NACK it.
    assert rewriter.rewrite(incoming(30_110, 9000, vp8_payload(4)), 0.3)
    assert rewriter.out_seq == 10


def test_temporal_layers_are_dropped_with_continuous_numbers() -> None:
    rewriter = StreamRewriter("video", next_seq=0, max_temporal_layer=0)
    sent = []
    # L1T2 pattern: TID 0, 1, 0, 1 ... two packets per frame.
    for frame in range(6):
        tid = frame % 2
        for part in range(2):
            seq = 10 + frame * 2 + part
            payload = vp8_payload(50 + frame, start=part == 0, key=frame == 0, tid=tid, tl0=frame)
            if rewriter.rewrite(incoming(seq, frame * 3000, payload, marker=part), 0.0):
                sent.append((rewriter.out_seq, Incoming(0, 0, 0, rewriter.out_payload, True)))
    assert [seq for seq, _ in sent] == [0, 1, 2, 3, 4, 5]
    pictures = [p.picture_id for _, p in sent]
    assert pictures == [50, 50, 51, 51, 52, 52]  # picture ids without holes
    assert all(p.tid == 0 for _, p in sent) and rewriter.dropped == 6
    # All layers again: the next TID-1 frame goes out, still gap-free.
    rewriter.max_temporal_layer = None
    assert rewriter.rewrite(incoming(22, 18000, vp8_payload(56, tid=1, tl0=5)), 0.0)
    assert rewriter.out_seq == 6
    assert Incoming(0, 0, 0, rewriter.out_payload, True).picture_id == 53


class FakeDirect:
    """Stands in for a DirectSender: records what would go on the wire."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.counted = 0

    def ready(self) -> bool:
        return True

    def ready_in(self, iteration: int) -> bool:
        return self.ready()

    def send(self, data: bytes) -> bool:
        self.sent.append(data)
        return True

    def count(self, payload_size: int, rtp_timestamp: int, ntp_timestamp: int) -> None:
        self.counted += 1

    def flush(self) -> None:
        pass


def subscriber(kind: str, batch: Batch) -> tuple[PacketSubscriber, FakeDirect]:
    track = PacketSubscriber(kind, batch)
    direct = FakeDirect()
    track.direct = direct  # type: ignore[assignment]
    track.writer = RtpWriter(99, 96 if kind == "video" else 111, mid="5", mid_id=1)
    return track, direct


def rtp(
    seq: int, ts: int, payload: bytes, marker: int = 1, ssrc: int = 42, payload_type: int = 100
) -> RtpPacket:
    return RtpPacket(
        payload_type=payload_type,
        marker=marker,
        sequence_number=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload=payload,
    )


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def test_a_lost_keyframe_packet_then_a_complete_keyframe_costs_one_request() -> None:
    clock = Clock()
    asks: list[float] = []
    batch = Batch(clock)
    publisher = PacketPublisher("p", "video", lambda: asks.append(clock.t), batch, clock=clock)
    track, direct = subscriber("video", batch)
    track.attach(publisher)
    assert asks == [100.0]  # a new subscriber asks once
    publisher.on_packet(rtp(10, 0, vp8_payload(1)))  # a delta frame: not forwarded
    # A keyframe whose middle packet never arrives...
    publisher.on_packet(rtp(11, 3000, vp8_payload(2, key=True), marker=0))
    publisher.on_packet(rtp(13, 3000, vp8_payload(2, start=False)))
    # ...and the browser says so twice (PLI): coalesced, nothing more within the interval.
    track.keyframe_requested()
    track.keyframe_requested()
    # The next keyframe, complete, goes out at once, packet by packet, in order.
    before = len(direct.sent)
    for i, payload in enumerate((vp8_payload(3, key=True), vp8_payload(3, start=False))):
        publisher.on_packet(rtp(14 + i, 6000, payload, marker=i))
        assert len(direct.sent) == before + i + 1
    assert asks == [100.0]
    sent = [RtpPacket.parse(d) for d in direct.sent]
    first = sent[0].sequence_number
    # The lost packet's place stays free: the browser NACKs it, and it fits if it comes late.
    assert [p.sequence_number for p in sent] == [(first + i) % 65536 for i in (0, 2, 3, 4)]
    publisher.on_packet(rtp(12, 3000, vp8_payload(2, start=False, body=b"late"), marker=0))
    sent.append(RtpPacket.parse(direct.sent[-1]))
    assert sent[-1].sequence_number == (first + 1) % 65536
    assert [p.payload for p in sent] == [
        vp8_payload(2, key=True),
        vp8_payload(2, start=False),
        vp8_payload(3, key=True),
        vp8_payload(3, start=False),
        vp8_payload(2, start=False, body=b"late"),
    ]
    assert all(p.ssrc == 99 and p.payload_type == 96 for p in sent)
    clock.t += KEYFRAME_INTERVAL
    await asyncio.sleep(KEYFRAME_INTERVAL + 0.05)
    assert len(asks) == 2  # the coalesced PLIs: one more request, after the interval
    publisher.close()


def test_muted_audio_stops_at_the_server_and_resumes_without_a_gap() -> None:
    levels: list[int] = []
    batch = Batch()
    publisher = PacketPublisher("p", "audio", lambda: None, batch, levels.append)
    track, direct = subscriber("audio", batch)
    track.attach(publisher)

    def speak(seq: int) -> None:
        packet = rtp(seq, seq * 960, bytes([seq]), marker=0)
        packet.extensions.audio_level = (True, 20)
        publisher.on_packet(packet)

    speak(1)
    speak(2)
    publisher.muted = True
    speak(3)
    speak(4)
    assert len(direct.sent) == 2 and levels == [20, 20, 20, 20]  # levels still seen
    publisher.muted = False
    speak(5)
    seqs = [RtpPacket.parse(d).sequence_number for d in direct.sent]
    assert [RtpPacket.parse(d).payload for d in direct.sent] == [b"\x01", b"\x02", b"\x05"]
    assert seqs == [seqs[0], (seqs[0] + 1) % 65536, (seqs[0] + 2) % 65536]
    assert publisher.forwarded == 3 and publisher.frames == 5


class FakeSession:
    def protect(self, data: bytes) -> bytes:
        return b"SRTP" + data

    def protect_rtcp(self, data: bytes) -> bytes:
        return b"SRTCP" + data


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


class FakePair:
    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.remote_addr = ("127.0.0.1", 5000)


class FakeTransport:
    """An RTCDtlsTransport's shape: state, SRTP session, ICE connection, router."""

    def __init__(self, socket: FakeSocket) -> None:
        from aiortc.rtcdtlstransport import RtpRouter

        self.state = "connected"
        self._state = State.CONNECTED
        self._tx_srtp = FakeSession()
        self._rtp_router = RtpRouter()
        self._rtp_header_extensions_map = HeaderExtensionsMap()
        self._stats_id = "transport"
        self.rtcp: list[bytes] = []
        protocol = aioice.ice.StunProtocol(None)  # type: ignore[arg-type]
        protocol.transport = socket  # type: ignore[assignment]
        connection = type("Connection", (), {"_nominated": {1: FakePair(protocol)}})()
        self.transport = type("Ice", (), {"_connection": connection})()

    def _register_rtp_sender(self, sender: object, parameters: object) -> None:
        pass

    def _register_rtp_receiver(self, receiver: object, parameters: object) -> None:
        pass

    def _unregister_rtp_sender(self, sender: object) -> None:
        pass

    def _unregister_rtp_receiver(self, receiver: object) -> None:
        pass

    async def _send_rtp(self, data: bytes) -> None:
        self.rtcp.append(data)


async def test_the_sender_seam_sends_at_once_keeps_reports_true_and_answers_nacks() -> None:
    socket = FakeSocket()
    transport = FakeTransport(socket)
    batch = Batch()
    track = PacketSubscriber("video", batch)
    sender = RTCRtpSender(track, transport)  # type: ignore[arg-type]
    track.bind(sender)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=100)
    rtx = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90_000, payloadType=101, parameters={"apt": 100}
    )
    parameters = RTCRtpSendParameters(
        codecs=[vp8, rtx],
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=4, uri=MID),
            RTCRtpHeaderExtensionParameters(id=6, uri=ABS_SEND_TIME),
        ],
        muxId="7",
    )
    await sender.send(parameters)
    assert track.parameters is not None and track.parameters.rtx_payload_type == 101
    publisher = PacketPublisher("p", "video", lambda: None, batch)
    track.attach(publisher)
    payloads = [vp8_payload(5, key=True, body=bytes(1000)), vp8_payload(5, start=False)]
    for i, payload in enumerate(payloads):
        publisher.on_packet(rtp(300 + i, 9000, payload, marker=i))
    mapping = extensions_map(mid=4, ast=6)
    wire = [RtpPacket.parse(data[4:], mapping) for data, _ in socket.sent]
    assert all(
        data.startswith(b"SRTP") and addr == ("127.0.0.1", 5000) for data, addr in socket.sent
    )
    assert [p.payload for p in wire] == payloads
    assert all(p.ssrc == sender._ssrc and p.payload_type == 100 for p in wire)
    assert {p.extensions.mid for p in wire} == {"7"} and wire[0].extensions.abs_send_time
    await asyncio.sleep(0)  # the end of the first loop iteration writes the counters
    await asyncio.sleep(0)
    assert sender._RTCRtpSender__packet_count == 2  # type: ignore[attr-defined]
    assert sender._RTCRtpSender__octet_count == sum(map(len, payloads))  # type: ignore[attr-defined]
    assert sender._RTCRtpSender__rtp_timestamp == wire[1].timestamp  # type: ignore[attr-defined]
    ntp = sender._RTCRtpSender__ntp_timestamp  # type: ignore[attr-defined]
    assert abs((ntp >> 32) - 2_208_988_800 - asyncio.get_running_loop().time()) > 0  # set
    assert ntp >> 32 > 3_900_000_000  # an NTP time of this century
    # A NACK: answered once from the subscriber's own history, as RTX.
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=sender._ssrc)
    nack.lost = [wire[0].sequence_number] * 5
    await sender._handle_rtcp_packet(nack)
    assert len(socket.sent) == 3
    resent = RtpPacket.parse(socket.sent[2][0][4:], mapping)
    assert resent.payload_type == 101 and resent.ssrc == sender._rtx_ssrc
    assert unwrap_rtx(resent, 100, sender._ssrc).payload == payloads[0]
    # aiortc's own sender loop idles on the track: it sent nothing by itself.
    await asyncio.sleep(0.05)
    assert len(socket.sent) == 3
    track.stop()
    await sender.stop()


async def test_the_receiver_seam_hands_over_packets_with_its_bookkeeping() -> None:
    transport = FakeTransport(FakeSocket())
    receiver = RTCRtpReceiver("video", transport)  # type: ignore[arg-type]
    got: list[RtpPacket] = []
    forward_packets(receiver, got.append)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=100)
    rtx = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90_000, payloadType=101, parameters={"apt": 100}
    )
    receiver._track = RemoteStreamTrack("video")
    await receiver.receive(
        RTCRtpReceiveParameters(
            codecs=[vp8, rtx],
            encodings=[
                RTCRtpDecodingParameters(ssrc=42, payloadType=100, rtx=RTCRtpRtxParameters(ssrc=43))
            ],
        )
    )
    receiver._set_rtcp_ssrc(9)
    try:
        await receiver._handle_rtp_packet(rtp(1, 0, vp8_payload(1, key=True)), 0)
        await receiver._handle_rtp_packet(rtp(3, 0, vp8_payload(2)), 20)  # 2 is missing
        assert len(transport.rtcp) == 1  # a NACK for it
        lost = rtp(2, 0, vp8_payload(1, start=False))
        wrapped = wrap_rtx(lost, payload_type=101, sequence_number=1, ssrc=43)
        await receiver._handle_rtp_packet(wrapped, 40)
        await receiver._handle_rtp_packet(
            rtp(4, 0, b"", ssrc=43, payload_type=101), 50
        )  # padding only
        assert [(p.sequence_number, p.ssrc, p.payload_type) for p in got] == [
            (1, 42, 100),
            (3, 42, 100),
            (2, 42, 100),
        ]
        assert got[0].payload == vp8_payload(1, key=True)  # as sent: never depayloaded
        # Receiver reports have their statistics, per SSRC as aiortc keeps them.
        streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        assert streams[42].packets_received == 2 and streams[42].max_seq == 3
        assert streams[43].packets_received == 2
    finally:
        await receiver.stop()


def test_a_keyframe_whose_first_packet_comes_late_is_still_sent_whole_and_in_order() -> None:
    batch = Batch()
    publisher = PacketPublisher("p", "video", lambda: None, batch)
    track, direct = subscriber("video", batch)
    track.attach(publisher)
    publisher.close()
    parts = [vp8_payload(4, key=True), vp8_payload(4, start=False, body=b"b")]
    parts.append(vp8_payload(4, start=False, body=b"c"))
    publisher.on_packet(rtp(21, 900, parts[1], marker=0))  # overtook the first one
    publisher.on_packet(rtp(22, 900, parts[2]))
    assert direct.sent == []  # waiting for the keyframe's start
    publisher.on_packet(rtp(20, 900, parts[0], marker=0))
    sent = [RtpPacket.parse(d) for d in direct.sent]
    assert [p.payload for p in sent] == parts
    first = sent[0].sequence_number
    assert [p.sequence_number for p in sent] == [first, first + 1, first + 2]
    publisher.on_packet(rtp(23, 3900, vp8_payload(5)))
    assert RtpPacket.parse(direct.sent[-1]).sequence_number == first + 3


def test_a_gap_after_the_source_fell_silent_is_not_passed_on() -> None:
    # The publisher's link was down for 3 s: what it lost is not the subscriber's loss.
    rewriter = StreamRewriter("video", next_seq=0)
    key_frame(rewriter, 100, 0, 1, 0.0)
    assert rewriter.rewrite(incoming(400, 270_000, vp8_payload(2)), 3.0)
    assert rewriter.out_seq == 2
