"""Seams 17 and 19: media handled as each datagram arrives (``receive_inline``, ``run_now``),
without a coroutine per packet on the packet path."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pylibsrtp
import pytest
from aiortc import (
    RTCCertificate,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc import clock as aiortc_clock
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from facilitator.media.aiortc_seams import (
    DirectSender,
    PacketHandler,
    bound_nacks,
    forward_packets,
    receive_inline,
)
from facilitator.media.aiortc_seams.base import RECEIVER
from facilitator.media.aiortc_seams.transport import MAX_PENDING, arrival_ms, run_now


async def test_a_handler_that_does_not_wait_runs_to_the_end_at_once() -> None:
    done: list[str] = []

    async def handler() -> None:
        done.append("start")
        done.append("end")

    pending: set[asyncio.Future[None]] = set()
    run_now(handler(), pending)
    assert done == ["start", "end"]  # before any event-loop iteration
    assert not pending


async def test_a_handler_that_waits_finishes_as_a_task() -> None:
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    done: list[str] = []

    async def handler() -> None:
        done.append("start")
        done.append(await gate)
        done.append("end")

    pending: set[asyncio.Future[None]] = set()
    run_now(handler(), pending)
    assert done == ["start"] and len(pending) == 1
    await asyncio.sleep(0.01)
    assert done == ["start"]  # still waiting for the future
    gate.set_result("answer")
    for _ in range(5):
        await asyncio.sleep(0)
    assert done == ["start", "answer", "end"]
    assert not pending


async def test_a_waiting_handler_gets_errors_and_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def handler() -> None:
        try:
            await gate
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    pending: set[asyncio.Future[None]] = set()
    run_now(handler(), pending)
    (task,) = pending
    await asyncio.sleep(0)  # the task is now waiting for the gate
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled"]

    async def broken() -> None:
        raise ValueError("bad packet")

    with caplog.at_level(logging.ERROR):
        run_now(broken(), pending)  # logged, not raised: the other packets go on
    assert "handling a media packet failed" in caplog.text


def test_arrival_time_is_aiortcs_clock() -> None:
    assert abs(arrival_ms() - aiortc_clock.current_ms()) < 50


class Session:
    """An SRTP session that "decrypts" by dropping a 4-byte tag, or refuses a packet."""

    def unprotect(self, data: bytes) -> bytes:
        if data.endswith(b"BAD!"):
            raise pylibsrtp.Error("authentication failed")
        return data[:-4]

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return data[:-4]


def rtp(seq: int) -> bytes:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=seq * 3000, ssrc=1234)
    packet.payload = b"video"
    return packet.serialize() + b"TAG!"


RTCP_RR = bytes([0x80, 201, 0, 1, 0, 0, 0x04, 0xD2]) + b"TAG!"


class Receiver:
    """Stands in for an RTCRtpReceiver that is not on the packet path: aiortc's coroutine."""

    def __init__(self, handled: list[Any]) -> None:
        self.handled = handled

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        self.handled.append(("rtp", packet.serialize(), arrival_time_ms))

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        pass

    def _handle_disconnect(self) -> None:
        pass


def transport() -> tuple[RTCDtlsTransport, list[Any], list[Any]]:
    ice = RTCIceTransport(RTCIceGatherer())
    dtls = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
    handled: list[Any] = []
    queued: list[Any] = []

    async def handle_rtcp(data: bytes) -> None:
        handled.append(("rtcp", data))

    dtls._handle_rtcp_data = handle_rtcp  # type: ignore[method-assign]
    dtls._rtp_router.register_receiver(Receiver(handled), ssrcs=[1234], payload_types=[96])
    connection = ice._connection
    connection.data_received = lambda data, component: queued.append(data)  # type: ignore[method-assign]
    return dtls, handled, queued


async def test_media_is_handled_inline_once_dtls_is_up() -> None:
    dtls, handled, queued = transport()
    inline = receive_inline(dtls)
    connection = dtls.transport._connection
    connection.data_received(rtp(1), 1)  # DTLS not up yet: aiortc's queue, as before
    assert len(queued) == 1 and not handled
    dtls._rx_srtp = Session()  # type: ignore[assignment]
    dtls._state = State.CONNECTED
    connection.data_received(rtp(2), 1)
    connection.data_received(RTCP_RR, 1)
    connection.data_received(rtp(3)[:-4] + b"BAD!", 1)  # fails to decrypt: dropped
    dtls_record = bytes([22, 0xFE, 0xFD]) + bytes(10)
    connection.data_received(dtls_record, 1)  # DTLS itself: still the queue
    assert [h[0] for h in handled] == ["rtp", "rtcp"]
    assert handled[0][1] == rtp(2)[:-4] and handled[1][1] == RTCP_RR[:-4]
    assert abs(handled[0][2] - arrival_ms()) < 1000
    assert queued == [rtp(1), dtls_record]
    assert inline() == 3
    assert dtls._get_stats()  # the transport's counters stay readable
    stats = next(iter(dtls._get_stats().values()))
    assert stats.packetsReceived == 3


async def test_too_many_waiting_handlers_fall_back_to_the_queue() -> None:
    dtls, handled, queued = transport()
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def slow(packet: RtpPacket, arrival_time_ms: int) -> None:
        handled.append(packet)
        await gate

    (receiver,) = dtls._rtp_router.receivers
    receiver._handle_rtp_packet = slow  # type: ignore[method-assign]
    handled.clear()
    receive_inline(dtls)
    dtls._rx_srtp = Session()  # type: ignore[assignment]
    dtls._state = State.CONNECTED
    for seq in range(MAX_PENDING + 3):
        dtls.transport._connection.data_received(rtp(seq), 1)
    assert len(handled) == MAX_PENDING and len(queued) == 3
    gate.set_result(None)
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_sender_checks_its_connection_once_per_iteration() -> None:
    dtls, _, _ = transport()
    direct = DirectSender(RTCRtpSender("video", dtls))
    asked: list[int] = []

    def ready() -> bool:
        asked.append(1)
        return len(asked) > 1  # down at first, up from the second check on

    direct.ready = ready  # type: ignore[method-assign]
    assert [direct.ready_in(1) for _ in range(3)] == [False, False, False]
    assert [direct.ready_in(2) for _ in range(3)] == [True, True, True]
    assert len(asked) == 2


async def test_a_connection_closing_under_a_handler_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def closed() -> None:
        raise ConnectionError("not connected")

    with caplog.at_level(logging.DEBUG):
        run_now(closed(), set())
    assert "failed" not in caplog.text


async def test_a_packet_is_handled_without_a_coroutine_and_a_loss_still_nacked() -> None:
    dtls, _, queued = transport()
    receiver = RTCRtpReceiver("video", dtls)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    getattr(receiver, RECEIVER + "codecs")[96] = vp8
    bound_nacks(receiver)
    got: list[int] = []
    handler = forward_packets(receiver, lambda packet: got.append(packet.sequence_number))
    assert isinstance(handler, PacketHandler) and receiver._handle_rtp_packet is handler
    nacked: list[tuple[int, list[int]]] = []

    async def send_nack(ssrc: int, lost: list[int]) -> None:
        nacked.append((ssrc, lost))

    receiver._send_rtcp_nack = send_nack  # type: ignore[method-assign,assignment]
    dtls._rtp_router.unregister_receiver(next(iter(dtls._rtp_router.receivers)))
    dtls._rtp_router.register_receiver(receiver, ssrcs=[1234], payload_types=[96])

    async def not_inline(data: bytes, arrival_time_ms: int) -> None:
        raise AssertionError("aiortc's coroutine per packet was used")

    dtls._handle_rtp_data = not_inline  # type: ignore[method-assign]
    # Straight from the handler: nothing to send, so no coroutine at all.
    assert handler.now(RtpPacket.parse(rtp(1)[:-4]), 0) is None
    assert got == [1] and not nacked
    # Through the transport, as datagrams arrive: 3 reveals that 2 is missing.
    receive_inline(dtls)
    dtls._rx_srtp = Session()  # type: ignore[assignment]
    dtls._state = State.CONNECTED
    for seq in (3, 2, 4):
        dtls.transport._connection.data_received(rtp(seq), 1)
    assert got == [1, 3, 2, 4] and not queued
    assert nacked == [(1234, [2])]  # sent at once, before any event-loop iteration
    streams = getattr(receiver, RECEIVER + "remote_streams")
    assert streams[1234].packets_received == 4 and streams[1234].max_seq == 4
    assert getattr(receiver, RECEIVER + "nack_generator").missing == set()
