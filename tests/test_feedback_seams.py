"""The seams that feed the allocation: each subscriber's REMBs and report blocks come out of its
senders (``watch_feedback``), a publisher's REMB is capped (``RembCap``, ``send_remb``), its
uplink loss is read from the receiver's statistics (``UplinkMeter``), and retransmissions to one
subscriber share one budget."""

from __future__ import annotations

import time

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from facilitator.media.aiortc_seams import (
    RembCap,
    UplinkMeter,
    feedback_problems,
    send_remb,
    watch_feedback,
)
from facilitator.media.limits import RetransmitBudget, RetransmitLimiter

from .test_allocator import Clock


class FakeTransport:
    """Enough of an RTCDtlsTransport for a sender or receiver to handle and send RTCP."""

    state = "connected"

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self._stats_id = "transport_fake"
        self._rtp_router = RtpRouter()

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


async def test_senders_hand_rembs_and_report_blocks_to_the_allocation() -> None:
    assert feedback_problems() == []
    sender = RTCRtpSender("video", FakeTransport())  # type: ignore[arg-type]
    rembs: list[tuple[float, list[int]]] = []
    reports: list[tuple[float, float | None]] = []
    watch_feedback(
        sender,
        lambda kbps, ssrcs: rembs.append((kbps, ssrcs)),
        lambda loss, rtt: reports.append((loss, rtt)),
    )
    ssrc = sender._ssrc
    # A REMB naming this sender, and one naming only others.
    fci = pack_remb_fci(1_500_000, [ssrc, 42])
    remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=9, media_ssrc=0, fci=fci)
    await sender._handle_rtcp_packet(remb)
    other = pack_remb_fci(300_000, [42])
    await sender._handle_rtcp_packet(
        RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=9, media_ssrc=0, fci=other)
    )
    assert rembs == [(1500.0, [ssrc, 42])]
    # A receiver report: 25% lost; aiortc's round trip from LSR/DLSR (0.3 s ago, 0.1 s held).
    sender._RTCRtpSender__lsr = 777  # type: ignore[attr-defined]
    sender._RTCRtpSender__lsr_time = time.time() - 0.3  # type: ignore[attr-defined]
    block = RtcpReceiverInfo(
        ssrc=ssrc, fraction_lost=64, packets_lost=10, highest_sequence=100, jitter=0, lsr=777,
        dlsr=65536 // 10,
    )  # fmt: skip
    unrelated = RtcpReceiverInfo(
        ssrc=42, fraction_lost=255, packets_lost=1, highest_sequence=1, jitter=0, lsr=0, dlsr=0
    )
    await sender._handle_rtcp_packet(RtcpRrPacket(ssrc=9, reports=[block, unrelated]))
    assert len(reports) == 1
    loss, rtt = reports[0]
    assert loss == 0.25
    assert rtt is not None and 0.15 < rtt < 0.3


async def test_the_remb_towards_a_publisher_is_capped_and_a_lower_cap_goes_out_at_once() -> None:
    cap = RembCap()
    assert cap.apply(2_000_000) == 2_000_000 and cap.estimate_kbps == 2000
    cap.kbps = 400
    assert cap.apply(2_000_000) == 400_000  # min(aiortc's estimate, the cap)
    assert cap.apply(300_000) == 300_000
    transport = FakeTransport()
    receiver = RTCRtpReceiver("video", transport)  # type: ignore[arg-type]
    assert not await send_remb(receiver, 250, [5])  # no RTCP SSRC yet: nothing to send from
    receiver._RTCRtpReceiver__rtcp_ssrc = 1234  # type: ignore[attr-defined]
    assert await send_remb(receiver, 250, [5])
    (packet,) = RtcpPacket.parse(transport.sent[-1])
    assert isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP
    assert unpack_remb_fci(packet.fci) == (250_000, [5])


def test_uplink_loss_comes_from_the_receivers_statistics_without_rtx() -> None:
    receiver = RTCRtpReceiver("video", FakeTransport())  # type: ignore[arg-type]
    streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__rtx_ssrc = {7: 5}  # type: ignore[attr-defined]
    meter = UplinkMeter(receiver)
    assert meter.loss() is None
    media = streams[5] = StreamStatistics(90000)
    rtx = streams[7] = StreamStatistics(90000)
    for seq in range(100):
        if seq % 10 != 3:  # 10% lost
            media.add(RtpPacket(sequence_number=seq, timestamp=seq))
    for seq in range(50):
        rtx.add(RtpPacket(sequence_number=seq * 3, timestamp=seq))  # repairs are left out
    assert abs((meter.loss() or 0) - 0.09) < 0.02  # 9 of the first 100 (0..99 expected)
    for seq in range(100, 150):
        media.add(RtpPacket(sequence_number=seq, timestamp=seq))
    assert meter.loss() == 0.0  # only what came since the last reading


def test_retransmissions_share_a_budget_per_subscriber() -> None:
    clock = Clock()
    budget = RetransmitBudget(clock)
    budget.set_kbps(880)  # 15% of 880 kbit/s in 1,100-byte packets: 15 a second
    assert budget.rate == 15
    first = RetransmitLimiter(clock, history=1 << 16, budget=budget)
    second = RetransmitLimiter(clock, history=1 << 16, budget=budget)
    got = first.select(range(100), rtt=None, packets_sent=0)
    got += second.select(range(100), rtt=None, packets_sent=0)
    assert len(got) == 64  # the shared burst, taken by both senders together
    clock.t += 1.0
    again = first.select(range(100, 200), None, 0) + second.select(range(100, 200), None, 0)
    assert len(again) == 15
