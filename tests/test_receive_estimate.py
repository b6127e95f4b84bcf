"""Seam 18: the lean REMB estimator answers exactly as aiortc's, for less work per packet."""

from __future__ import annotations

import random

from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport, RTCRtpReceiver
from aiortc.rate import OveruseEstimator, RateCounter, RemoteBitrateEstimator
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtcpPsfbPacket, RtpPacket, unpack_remb_fci

from facilitator.media.aiortc_seams import RembCap, forward_packets
from facilitator.media.aiortc_seams.base import RECEIVER
from facilitator.media.aiortc_seams.estimate import (
    LeanBitrateEstimator,
    LeanOveruseEstimator,
    LeanRateCounter,
    lean_estimator,
)
from facilitator.media.aiortc_seams.transport import run_now

START_MS = 3_000_000_000_000  # aiortc's clock counts from 1900


def test_the_rate_counter_gives_aiortcs_rates() -> None:
    rng = random.Random(15)
    theirs, ours = RateCounter(1000, 8000), LeanRateCounter(1000, 8000)
    now = START_MS
    for step in range(20_000):
        roll = rng.random()
        if roll < 0.01:
            now += rng.randint(1000, 5000)  # a pause longer than the window
        elif roll < 0.02:
            now -= rng.randint(1, 1500)  # the clock stepped back, even before the window
        else:
            now += rng.choice((0, 0, 1, 2, 5, 33))
        if rng.random() < 0.001:
            theirs.reset()
            ours.reset()
        if rng.random() < 0.3:
            assert ours.rate(now) == theirs.rate(now), step
        size = rng.randint(50, 1200)
        theirs.add(size, now)
        ours.add(size, now)
        assert ours.rate(now) == theirs.rate(now), step
    assert ours.held and len(ours.held) <= 1000  # only the milliseconds that hold data


def test_the_shortest_frame_period_is_aiortcs() -> None:
    rng = random.Random(16)
    theirs, ours = OveruseEstimator(), LeanOveruseEstimator()
    for _ in range(500):
        delta = rng.choice((33.3, 16.7, 0.0, -2.0, rng.uniform(0, 100)))
        assert ours.update_min_frame_period(delta) == theirs.update_min_frame_period(delta)
    assert len(ours.periods) == 60


Packet = tuple[int, int, int, int]
"""(arrival ms, abs-send-time, size, SSRC)."""
Answer = tuple[tuple[int, list[int]] | None, int | None, object, float, int]


def feed(estimator: RemoteBitrateEstimator, packets: list[Packet]) -> list[Answer]:
    """Every answer of ``estimator`` (REMB or None) and its state after each packet."""
    seen: list[Answer] = []
    for arrival, send_time, size, ssrc in packets:
        remb = estimator.add(
            arrival_time_ms=arrival, abs_send_time=send_time, payload_size=size, ssrc=ssrc
        )
        seen.append(
            (
                remb,
                estimator.incoming_bitrate.rate(arrival),
                estimator.detector.state(),
                estimator.estimator.offset(),
                estimator.rate_control.current_bitrate,
            )
        )
    return seen


def video(
    seconds: float, seed: int, squeeze_after: float | None = None
) -> list[tuple[int, int, int, int]]:
    """Packets of a 30 fps video (a keyframe every 3 s), paced like a browser's: optionally
    on a link that falls behind from ``squeeze_after`` on, so the estimator sees overuse."""
    rng = random.Random(seed)
    packets = []
    late = 0.0
    for frame in range(int(seconds * 30)):
        sent = frame / 30
        count = 25 if frame % 90 == 0 else rng.randint(1, 4)
        for number in range(count):
            at = sent + number * 0.0012  # the pacer's spacing
            if squeeze_after is not None and at > squeeze_after:
                late += 0.0009  # each packet queues a little longer
            arrival = START_MS + round((at + late + rng.uniform(0, 0.004)) * 1000)
            send_time = int(at * (1 << 18)) & 0xFFFFFF
            packets.append((arrival, send_time, rng.randint(900, 1200), 1234))
    return packets


def test_the_estimator_sends_the_rembs_aiortcs_would() -> None:
    for packets in (video(20, 1), video(20, 2, squeeze_after=8)):
        theirs = feed(RemoteBitrateEstimator(), packets)
        ours = feed(LeanBitrateEstimator(), packets)
        assert ours == theirs
        rembs = [answer[0] for answer in ours if answer[0] is not None]
        assert len(rembs) > 10
    assert min(remb[0] for remb in rembs) < rembs[0][0]  # the squeezed link was noticed


def receiver(kind: str) -> RTCRtpReceiver:
    transport = RTCDtlsTransport(
        RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()]
    )
    return RTCRtpReceiver(kind, transport)


async def test_only_video_receivers_get_an_estimator() -> None:
    camera, microphone = receiver("video"), receiver("audio")
    installed = lean_estimator(camera)
    assert isinstance(installed, LeanBitrateEstimator)
    assert getattr(camera, RECEIVER + "remote_bitrate_estimator") is installed
    assert lean_estimator(camera) is installed  # once
    assert lean_estimator(microphone) is None  # aiortc estimates nothing for audio
    assert getattr(microphone, RECEIVER + "remote_bitrate_estimator") is None


async def test_the_remb_towards_a_publisher_comes_from_the_lean_estimator_capped() -> None:
    camera = receiver("video")
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    getattr(camera, RECEIVER + "codecs")[96] = vp8
    camera._set_rtcp_ssrc(9)
    sent: list[RtcpPsfbPacket] = []

    async def send_rtcp(packet: RtcpPsfbPacket) -> None:
        sent.append(packet)

    camera._send_rtcp = send_rtcp  # type: ignore[method-assign,assignment]
    cap = RembCap(kbps=300)
    handler = forward_packets(camera, lambda packet: None, cap)
    assert isinstance(handler.estimator, LeanBitrateEstimator)
    mirror = RemoteBitrateEstimator()  # aiortc's own, fed the same packets
    expected = []
    for seq, (arrival, send_time, size, ssrc) in enumerate(video(6, 4)):
        packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=seq * 3000, ssrc=ssrc)
        packet.payload = bytes(size)
        packet.extensions.abs_send_time = send_time
        estimate = mirror.add(
            arrival_time_ms=arrival, abs_send_time=send_time, payload_size=size, ssrc=ssrc
        )
        if estimate is not None:
            expected.append(min(estimate[0], 300_000))
        rest = handler.now(packet, arrival)
        if rest is not None:
            run_now(rest, set())
    assert len(sent) == len(expected) > 2
    assert [unpack_remb_fci(packet.fci) for packet in sent] == [(b, [1234]) for b in expected]
    assert cap.ssrcs == [1234] and cap.estimate_kbps is not None and cap.estimate_kbps > 300
