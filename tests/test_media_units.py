"""The SFU's building blocks without a network: the forwarding buffer, relay tracks, seams."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import av
import pylibsrtp
import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtp import RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPsfbPacket, RtcpRtpfbPacket, RtpPacket

from facilitator.media.aiortc_seams import (
    STALL_SECONDS,
    BoundedRtpRouter,
    ForwardingBuffer,
    SsrcGate,
    bound_nacks,
    bound_ssrcs,
    check_seams,
    limit_retransmissions,
)
from facilitator.media.limits import (
    MAX_JUMP,
    MAX_RTCP_SSRCS,
    MAX_SSRCS_PER_RECEIVER,
    NACK_RETRY_FLOOR,
    NACK_RETRY_SECONDS,
    NACK_TRIES,
    RETRANSMIT_BURST,
    RETRANSMIT_FLOOR_RATE,
    RETRANSMITS_PER_PACKET,
    SPACING_FLOOR,
    BoundedNackGenerator,
    RetransmitBudget,
    RetransmitLimiter,
)
from facilitator.media.relay import KEYFRAME_INTERVAL, Publisher, RelayTrack


def test_aiortc_seams_are_where_the_sfu_expects_them() -> None:
    # Fails loudly (SeamError naming the seam) when an aiortc upgrade moves an internal.
    check_seams()


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def vp8(
    seq: int, ts: int, *, start: bool, marker: bool, key: bool = False, body: bytes = b"x"
) -> RtpPacket:
    """A depayloaded VP8 packet as aiortc's receiver hands it to the jitter buffer."""
    packet = RtpPacket(
        payload_type=97, marker=int(marker), sequence_number=seq % 65536, timestamp=ts
    )
    packet.ssrc = 1234
    packet.payload = bytes([0x10 if start else 0x00]) + body
    first = (b"\x00" if key else b"\x01") if start else b""
    packet._data = first + body  # type: ignore[attr-defined]
    return packet


class Sink:
    def __init__(self) -> None:
        self.frames: list[tuple[bytes, int, bool]] = []

    def __call__(self, data: bytes, ts: int, key: bool) -> None:
        self.frames.append((data, ts, key))


def frame(buffer: ForwardingBuffer, seq: int, ts: int, key: bool, parts: int = 3) -> list[bool]:
    return [
        buffer.add(vp8(seq + i, ts, start=i == 0, marker=i == parts - 1, key=key, body=bytes([i])))[
            0
        ]
        for i in range(parts)
    ]


def test_video_frames_go_out_on_the_marker_bit_in_order() -> None:
    sink = Sink()
    buffer = ForwardingBuffer("video", sink)
    frame(buffer, 10, 3000, key=True)
    assert [(ts, key) for _, ts, key in sink.frames] == [(3000, True)]
    assert sink.frames[0][0] == b"\x00" + b"\x00\x01\x02"
    # Out of order within a frame: released once complete.
    buffer.add(vp8(14, 6000, start=False, marker=True, body=b"c"))
    buffer.add(vp8(13, 6000, start=True, marker=False, key=False, body=b"a"))
    assert len(sink.frames) == 2 and sink.frames[1][1] == 6000
    # A late duplicate of an old packet changes nothing.
    buffer.add(vp8(11, 3000, start=False, marker=False))
    assert len(sink.frames) == 2


def test_delta_frames_before_the_first_keyframe_are_dropped() -> None:
    sink = Sink()
    buffer = ForwardingBuffer("video", sink)
    frame(buffer, 0, 0, key=False)
    assert sink.frames == [] and buffer.dropped == 1
    frame(buffer, 3, 3000, key=True)
    assert [key for *_, key in sink.frames] == [True]


def test_a_frame_stuck_behind_a_lost_packet_is_dropped_with_a_keyframe_request() -> None:
    sink, clock = Sink(), Clock()
    buffer = ForwardingBuffer("video", sink, clock=clock)
    frame(buffer, 100, 0, key=True)
    # Frame at seq 103-105 loses 104; the next frames keep arriving.
    buffer.add(vp8(103, 3000, start=True, marker=False))
    buffer.add(vp8(105, 3000, start=False, marker=True))
    assert frame(buffer, 106, 6000, key=False) == [False, False, False]
    assert len(sink.frames) == 1  # 6000 waits behind 3000: order is kept
    # A retransmission in time saves it.
    buffer.add(vp8(104, 3000, start=False, marker=False))
    assert [ts for _, ts, _ in sink.frames] == [0, 3000, 6000]
    # This time the packet never comes.
    buffer.add(vp8(109, 9000, start=True, marker=False))
    buffer.add(vp8(111, 9000, start=False, marker=True))
    frame(buffer, 112, 12000, key=False)
    clock.t += STALL_SECONDS + 0.01
    pli = frame(buffer, 115, 15000, key=False)
    assert any(pli), "a keyframe must be requested"
    assert [ts for _, ts, _ in sink.frames] == [0, 3000, 6000]  # no corrupt delta frames
    frame(buffer, 118, 18000, key=True)
    assert [ts for _, ts, _ in sink.frames] == [0, 3000, 6000, 18000]


def test_a_frame_waits_as_long_as_its_client_still_asks_for_the_missing_packet() -> None:
    sink, clock = Sink(), Clock()
    buffer = ForwardingBuffer("video", sink, clock=clock)
    buffer.stall = 1.0  # a slow link: the NACKs go on for a second
    frame(buffer, 100, 0, key=True)
    buffer.add(vp8(103, 3000, start=True, marker=False))  # 104 is late
    buffer.add(vp8(105, 3000, start=False, marker=True))
    frame(buffer, 106, 6000, key=False)
    clock.t += STALL_SECONDS + 0.2
    assert not any(frame(buffer, 109, 9000, key=False))  # still waiting: no keyframe asked
    buffer.add(vp8(104, 3000, start=False, marker=False))  # the retransmission comes
    assert [t for _, t, _ in sink.frames] == [0, 3000, 6000, 9000]


def test_a_keyframe_that_lost_a_packet_is_given_up_for_the_next_whole_one() -> None:
    sink, clock = Sink(), Clock()
    buffer = ForwardingBuffer("video", sink, clock=clock)
    frame(buffer, 100, 0, key=True)
    buffer.add(vp8(103, 3000, start=True, marker=False, key=True))  # 104 never comes
    buffer.add(vp8(105, 3000, start=False, marker=True))
    frame(buffer, 106, 6000, key=False)
    clock.t += STALL_SECONDS + 0.01
    assert any(frame(buffer, 109, 9000, key=False))  # the stall: a keyframe is asked for
    frame(buffer, 112, 12000, key=True)  # a whole keyframe comes: out it goes
    frame(buffer, 115, 15000, key=False)
    assert [t for _, t, _ in sink.frames] == [0, 12000, 15000]


def test_while_waiting_for_a_keyframe_it_asks_again_every_half_second() -> None:
    # A request can be lost, or held back by the server's per-subscriber limit: a browser asks
    # again, and so does the bots' buffer (else it would drop delta frames for ever).
    sink, clock = Sink(), Clock()
    buffer = ForwardingBuffer("video", sink, clock=clock)
    frame(buffer, 100, 0, key=True)
    buffer.add(vp8(103, 3000, start=True, marker=False))  # 104 never comes
    buffer.add(vp8(105, 3000, start=False, marker=True))
    clock.t += STALL_SECONDS + 0.01
    asks = [any(frame(buffer, 106, 6000, key=False))]
    seq, ts = 109, 9000
    for _ in range(10):  # delta frames, complete, 1/8 s apart: each dropped
        clock.t += 0.125
        asks.append(any(frame(buffer, seq, ts, key=False)))
        seq, ts = seq + 3, ts + 3000
    assert asks == [True, False, False, False, True, False, False, False, True, False, False]
    frame(buffer, seq, ts, key=True)
    clock.t += 1.0
    assert not any(frame(buffer, seq + 3, ts + 3000, key=False))  # it has its keyframe
    assert [t for _, t, _ in sink.frames] == [0, ts, ts + 3000]


def test_sequence_numbers_wrap_around() -> None:
    sink = Sink()
    buffer = ForwardingBuffer("video", sink)
    frame(buffer, 65534, 0, key=True)  # 65534, 65535, 0
    frame(buffer, 65537, 3000, key=False)  # 1, 2, 3
    assert [ts for _, ts, _ in sink.frames] == [0, 3000]


def test_audio_goes_out_at_once_with_its_level() -> None:
    sink, levels = Sink(), list[int]()
    buffer = ForwardingBuffer("audio", sink, on_level=levels.append)
    packet = RtpPacket(payload_type=96, sequence_number=5, timestamp=960)
    packet._data = b"opus"  # type: ignore[attr-defined]
    packet.extensions.audio_level = (True, 30)
    assert buffer.add(packet) == (False, None)
    assert sink.frames == [(b"opus", 960, False)] and levels == [30]


async def test_relay_tracks_start_at_a_keyframe_and_keyframe_requests_are_coalesced() -> None:
    asks: list[float] = []
    clock = Clock()
    publisher = Publisher("p1", "video", lambda: asks.append(clock.t), clock=clock)
    track = RelayTrack("video")
    track.attach(publisher)  # a new subscriber asks for a keyframe at once
    assert asks == [100.0]
    publisher.on_frame(b"delta", 3000, False)
    assert not track.queue
    publisher.on_frame(b"key", 6000, True)
    publisher.on_frame(b"delta2", 9000, False)
    first, second = await track.recv(), await track.recv()
    assert isinstance(first, av.Packet) and isinstance(second, av.Packet)
    assert bytes(first) == b"key" and first.pts == 6000
    assert bytes(second) == b"delta2"
    # Two more requests within the interval: one more PLI, sent when the interval is over.
    publisher.request_keyframe()
    publisher.request_keyframe()
    assert asks == [100.0]
    clock.t += KEYFRAME_INTERVAL
    await asyncio.sleep(KEYFRAME_INTERVAL + 0.05)
    assert len(asks) == 2
    # Muted publishers' audio stops at the server; video is not affected by mute.
    audio = Publisher("p1", "audio", lambda: None)
    listener = RelayTrack("audio")
    listener.attach(audio)
    audio.muted = True
    audio.on_frame(b"a", 960, False)
    assert not listener.queue
    audio.muted = False
    audio.on_frame(b"b", 1920, False)
    assert len(listener.queue) == 1
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


def test_a_packet_is_retransmitted_a_bounded_number_of_times_a_round_trip_apart() -> None:
    clock = Clock()
    limiter = RetransmitLimiter(clock)
    # One NACK naming the same packets over and over: each goes out once.
    assert limiter.select([10, 11, 10, 11, 10] * 100, rtt=None, packets_sent=0) == [10, 11]
    # Asked again within the spacing floor (RTT unknown): nothing.
    clock.t += SPACING_FLOOR / 2
    assert limiter.select([10], rtt=None, packets_sent=0) == []
    # A known round trip longer than the floor spaces them further.
    clock.t += SPACING_FLOOR
    assert limiter.select([10], rtt=0.2, packets_sent=0) == []
    clock.t += 0.2
    assert limiter.select([10], rtt=0.2, packets_sent=0) == [10]
    for _ in range(10):
        clock.t += 1.0
        limiter.select([10], rtt=0.2, packets_sent=0)
    assert limiter.slots[10].count == RETRANSMITS_PER_PACKET
    assert limiter.retransmitted == 1 + RETRANSMITS_PER_PACKET
    # A newer packet in the same history slot starts afresh; the older one is gone for good.
    assert limiter.select([10 + 128], rtt=None, packets_sent=0) == [138]
    clock.t += 1.0
    assert limiter.select([10], rtt=None, packets_sent=0) == []


def test_retransmissions_per_second_are_capped_by_a_token_bucket() -> None:
    clock = Clock()
    limiter = RetransmitLimiter(clock, history=1 << 16)
    burst = int(RETRANSMIT_BURST)
    first = limiter.select(range(1000), rtt=None, packets_sent=0)
    assert first == list(range(burst))
    assert limiter.refused == 1000 - burst
    # One second later, with no packets sent: only the floor rate has been earned.
    clock.t += 1.0
    again = limiter.select(range(1000, 2000), rtt=None, packets_sent=0)
    assert len(again) == int(RETRANSMIT_FLOOR_RATE)
    # Packets sent earn a share: 100 packets sent earn 20 more.
    clock.t += 0.001
    assert len(limiter.select(range(2000, 3000), rtt=None, packets_sent=100)) == 20
    # The bucket never holds more than the burst, however long it is idle.
    clock.t += 3600
    assert len(limiter.select(range(3000, 9000), rtt=None, packets_sent=10**6)) == burst


def test_the_nack_generator_marks_small_gaps_and_restarts_on_big_jumps() -> None:
    generator = BoundedNackGenerator(clock=Clock())  # the clock stands still: no retries
    assert not generator.add(RtpPacket(sequence_number=100))
    assert generator.add(RtpPacket(sequence_number=104))
    assert generator.missing == {101, 102, 103}
    assert not generator.add(RtpPacket(sequence_number=102))  # late: no longer missing
    assert generator.missing == {101, 103}
    assert not generator.add(RtpPacket(sequence_number=104))  # a duplicate
    # Wrap-around.
    generator = BoundedNackGenerator()
    generator.add(RtpPacket(sequence_number=65534))
    assert generator.add(RtpPacket(sequence_number=1))
    assert generator.missing == {65535, 0}
    # A gap longer than the window: only the last window's worth is tracked.
    generator.add(RtpPacket(sequence_number=1 + 300))
    assert len(generator.missing) == generator.window
    assert min(generator.missing) == 301 - generator.window
    # A jump beyond MAX_JUMP is a restarted stream: nothing is missing, nothing is NACKed.
    assert not generator.add(RtpPacket(sequence_number=(301 + MAX_JUMP + 1) % 65536))
    assert generator.missing == set() and generator.restarts == 1
    # Jumping 30,000 ahead again and again stays cheap and small.
    seq = generator.max_seq or 0
    for _ in range(1000):
        seq = (seq + 30_000) % 65536
        assert not generator.add(RtpPacket(sequence_number=seq))
    assert generator.missing == set() and generator.restarts == 1001


def test_the_nack_generator_asks_again_a_round_trip_later_then_gives_up() -> None:
    clock = Clock()
    generator = BoundedNackGenerator(clock=clock)
    generator.add(RtpPacket(sequence_number=10))
    assert generator.add(RtpPacket(sequence_number=12))  # 11 is missing: NACK it
    clock.t += NACK_RETRY_SECONDS / 2
    assert not generator.add(RtpPacket(sequence_number=13))  # asked for just now
    clock.t += NACK_RETRY_SECONDS / 2 + 1e-6
    assert generator.add(RtpPacket(sequence_number=14))  # still missing a round trip later
    # With a round trip known, it paces the retries (never faster than the floor).
    generator.rtt = 0.001
    clock.t += NACK_RETRY_FLOOR / 2
    assert not generator.add(RtpPacket(sequence_number=15))
    clock.t += NACK_RETRY_FLOOR / 2 + 1e-6
    assert generator.add(RtpPacket(sequence_number=16))
    for seq in range(17, 17 + NACK_TRIES):
        clock.t += NACK_RETRY_FLOOR + 1e-6
        generator.add(RtpPacket(sequence_number=seq))
    # Asked NACK_TRIES times: given up (the receiver waits for a keyframe instead).
    assert generator.missing == set() and generator.given_up == 1
    # A packet that arrives late is asked for no more.
    assert generator.add(RtpPacket(sequence_number=40))
    assert generator.missing == set(range(17 + NACK_TRIES, 40))
    clock.t += 1
    assert generator.add(RtpPacket(sequence_number=39))  # the others are due again
    assert 39 not in generator.missing and 39 not in generator.asked


class Receiver:
    """Stands in for an RTCRtpReceiver in the router's tables."""

    def _handle_disconnect(self) -> None:
        pass

    async def _handle_rtcp_packet(self, packet: object) -> None:
        pass

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        pass


def rtp(ssrc: int, payload_type: int = 96) -> RtpPacket:
    packet = RtpPacket(payload_type=payload_type)
    packet.ssrc = ssrc
    return packet


def test_the_router_accepts_few_ssrcs_per_receiver() -> None:
    router = BoundedRtpRouter()
    video, audio = Receiver(), Receiver()
    router.register_receiver(video, ssrcs=[1, 2], payload_types=[96, 97])
    router.register_receiver(audio, ssrcs=[], payload_types=[111])
    assert router.route_rtp(rtp(1)) is video and router.route_rtp(rtp(2, 97)) is video
    # Unknown SSRCs are learnt up to the limit, the negotiated ones included.
    learnt = [router.route_rtp(rtp(1000 + i)) for i in range(5000)]
    assert learnt.count(video) == MAX_SSRCS_PER_RECEIVER - 2
    assert len(router.ssrc_table) == MAX_SSRCS_PER_RECEIVER
    assert router.refused == 5000 - (MAX_SSRCS_PER_RECEIVER - 2)
    assert router.route_rtp(rtp(1)) is video  # the real stream is untouched
    # Another receiver has its own allowance.
    assert router.route_rtp(rtp(7, 111)) is audio
    assert router.route_rtp(rtp(99, 55)) is None  # unknown payload type, as before


class FakeTransport:
    """What RTCRtpSender and RTCRtpReceiver need of a transport, recording what is sent."""

    state = "connected"

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self._rtp_router = RtpRouter()
        self._rx_srtp: object = None

    def _setup_srtp(self) -> None:
        self._rx_srtp = FakeSession()

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


async def test_senders_answer_nack_floods_through_the_limiter() -> None:
    transport = FakeTransport()
    sender = RTCRtpSender("video", transport)  # type: ignore[arg-type]
    history = sender._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
    for seq in range(100, 117):
        packet = RtpPacket(payload_type=96, sequence_number=seq)
        packet.payload = b"x" * 100
        history[seq % 128] = packet
    lost = list(range(100, 117)) * 290  # one NACK of 1.2 KB
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=sender._ssrc, lost=lost)
    await sender._handle_rtcp_packet(nack)
    assert len(transport.sent) == len(lost)  # aiortc alone: every mention is resent
    transport.sent.clear()
    limiter = limit_retransmissions(sender)
    for _ in range(20):
        await sender._handle_rtcp_packet(nack)
    assert len(transport.sent) == 17  # once each: the NACKs came faster than a round trip
    assert limiter.refused == 19 * 17
    # Other RTCP still reaches aiortc's own handler (here: a PLI asks for a keyframe).
    asked: list[bool] = []
    sender._send_keyframe = lambda: asked.append(True)  # type: ignore[method-assign]
    await sender._handle_rtcp_packet(
        RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=sender._ssrc)
    )
    assert asked == [True]


async def test_nacks_for_packets_never_sent_cost_nothing() -> None:
    transport = FakeTransport()
    sender = RTCRtpSender("video", transport)  # type: ignore[arg-type]
    budget = RetransmitBudget()
    sent: list[int] = []
    limiter = limit_retransmissions(
        sender, RetransmitLimiter(budget=budget), retransmit=sent.append,
        kept=lambda seq: 100 <= seq < 117,
    )  # fmt: skip
    # A subscriber NACKs the gaps a lossy publisher left (never sent) and one real loss.
    tokens = budget.tokens
    lost = [*range(200, 260), 105]
    await sender._handle_rtcp_packet(
        RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=sender._ssrc, lost=lost)
    )
    assert sent == [105]
    assert limiter.retransmitted == 1 and limiter.refused == 0
    assert budget.tokens >= tokens - 1  # the subscriber's budget paid for one packet


async def test_receivers_and_transports_get_the_bounded_versions() -> None:
    transport = FakeTransport()
    router = transport._rtp_router
    video = RTCRtpReceiver("video", transport)  # type: ignore[arg-type]
    router.register_receiver(video, ssrcs=[5], payload_types=[96])
    generator = bound_nacks(video)
    assert isinstance(generator, BoundedNackGenerator)
    assert video._RTCRtpReceiver__nack_generator is generator  # type: ignore[attr-defined]
    assert bound_nacks(RTCRtpReceiver("audio", transport)) is None  # type: ignore[arg-type]
    bounded = bound_ssrcs(transport)  # type: ignore[arg-type]
    assert transport._rtp_router is bounded and bound_ssrcs(transport) is bounded  # type: ignore[arg-type]
    assert bounded.ssrc_table == {5: video}  # registrations are kept


class FakeSession:
    """Stands in for a libsrtp session: "decrypts" by returning the data, counting SSRCs."""

    def __init__(self) -> None:
        self.ssrcs: set[bytes] = set()

    def unprotect(self, data: bytes) -> bytes:
        self.ssrcs.add(data[8:12])
        return data

    def unprotect_rtcp(self, data: bytes) -> bytes:
        if data.endswith(b"forged"):
            raise pylibsrtp.Error("authentication failed")
        self.ssrcs.add(data[4:8])
        return data


def srtp(ssrc: int, payload_type: int = 96) -> bytes:
    return bytes([0x80, payload_type, 0, 1, 0, 0, 0, 0]) + ssrc.to_bytes(4, "big") + b"media"


def srtcp(ssrc: int, tail: bytes = b"") -> bytes:
    return bytes([0x81, 201, 0, 1]) + ssrc.to_bytes(4, "big") + tail


def test_srtp_never_sees_more_ssrcs_than_the_router_accepts() -> None:
    router, session = BoundedRtpRouter(), FakeSession()
    video = Receiver()
    router.register_receiver(video, ssrcs=[1, 2], payload_types=[96])
    gate = SsrcGate(session, router)
    assert gate.unprotect(srtp(1)) == srtp(1)
    for ssrc in range(1000, 6000):
        with contextlib.suppress(pylibsrtp.Error):
            router.route_rtp(RtpPacket.parse(gate.unprotect(srtp(ssrc))))
    assert len(session.ssrcs) == MAX_SSRCS_PER_RECEIVER - 1  # 1 plus the two learnt
    assert gate.refused == 5000 - (MAX_SSRCS_PER_RECEIVER - 2)
    assert gate.unprotect(srtp(2)) == srtp(2)  # negotiated: always
    with pytest.raises(pylibsrtp.Error):
        gate.unprotect(srtp(9999, payload_type=55))  # no receiver has it: dropped before libsrtp
    # RTCP: the first MAX_RTCP_SSRCS senders that authenticate, and the media SSRCs.
    with pytest.raises(pylibsrtp.Error):
        gate.unprotect_rtcp(srtcp(77, b"forged"))  # a forgery takes no place
    for ssrc in range(10_000, 10_000 + MAX_RTCP_SSRCS):
        gate.unprotect_rtcp(srtcp(ssrc))
    with pytest.raises(pylibsrtp.Error):
        gate.unprotect_rtcp(srtcp(77))
    assert gate.unprotect_rtcp(srtcp(10_000)) and gate.unprotect_rtcp(srtcp(2))


def test_the_gate_goes_in_when_the_transport_sets_up_srtp() -> None:
    transport = FakeTransport()
    router = bound_ssrcs(transport)  # type: ignore[arg-type]
    assert transport._rx_srtp is None
    transport._setup_srtp()  # what RTCDtlsTransport.start does after the handshake
    assert isinstance(transport._rx_srtp, SsrcGate) and transport._rx_srtp.router is router


async def test_a_connection_that_fails_while_connecting_is_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from facilitator.media.aiortc_seams import quiet_failed_connects

    async def connect() -> None:
        raise ConnectionError("ICE failed")

    async def other() -> None:
        raise ConnectionError("a bug elsewhere")

    connect.__qualname__ = "RTCPeerConnection.__connect"  # what aiortc's task runs
    loop = asyncio.get_running_loop()
    seen: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        quiet_failed_connects(loop)
        with caplog.at_level(logging.INFO, logger="facilitator.media.aiortc_seams"):
            for make in (connect, other):
                task = loop.create_task(make())
                await asyncio.sleep(0)
                exc = task.exception()
                loop.call_exception_handler(
                    {
                        "message": "Task exception was never retrieved",
                        "exception": exc,
                        "future": task,
                    }
                )
    finally:
        loop.set_exception_handler(None)
    assert "failed while connecting: ICE failed" in caplog.text
    assert [str(c["exception"]) for c in seen] == ["a bug elsewhere"]


async def test_the_media_room_forwards_only_within_a_space() -> None:
    from facilitator.media.sfu import MediaConfig, MediaRoom

    room = MediaRoom("m", MediaConfig())
    assert room.may_receive("a", "b")  # nobody listed: everyone together
    room.set_spaces({"a": "1-1", "b": "1-1", "c": "1-2", "d": "", "e": ""})
    assert room.may_receive("a", "b") and room.may_receive("d", "e")
    assert not room.may_receive("a", "c") and not room.may_receive("c", "d")
    assert not room.may_receive("a", "d")
    await asyncio.gather(*room.tasks)  # the resync (with no peers) has run
    room.set_spaces({})
    assert room.may_receive("a", "c")
    await asyncio.gather(*room.tasks)
