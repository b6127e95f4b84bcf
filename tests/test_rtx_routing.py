"""RTX between real aiortc peers, without a network: each retransmission reaches its stream.

aiortc's RTP router learns only the media SSRCs of a description and drops a packet of another
SSRC when several receivers share its payload type, as every video m-line's RTX does. That is
why offering RTX once made a lossy subscriber fall to 1-2 fps: every retransmission was lost.
"""

from __future__ import annotations

from typing import Any

from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.codecs import is_rtx
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtp import RtcpReceiverInfo, RtpPacket

from facilitator.media.aiortc_seams import (
    ABS_SEND_TIME,
    MID,
    RepairedLoss,
    bound_ssrcs,
    install_forwarding,
    offer_codecs,
    route_rtx,
)
from facilitator.media.forward import PacketSubscriber
from facilitator.media.packets import SENT_MEMORY, RtpWriter, SentRecord

BODY = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]) + bytes(range(40))
"""The start of a VP8 key frame (P bit clear), then some bytes."""


def remote_parameters(pc: RTCPeerConnection, transceiver: RTCRtpTransceiver) -> Any:
    """What aiortc hands ``transceiver.receiver.receive`` once the connection is up."""
    return pc._RTCPeerConnection__remoteRtp(transceiver)  # type: ignore[attr-defined]


async def negotiate(server: RTCPeerConnection, client: RTCPeerConnection) -> None:
    """The server offers, the client answers (as the server and a bot do)."""
    await server.setLocalDescription(await server.createOffer())
    await client.setRemoteDescription(server.localDescription)
    for transceiver in client.getTransceivers():
        route_rtx(transceiver.receiver)
    await client.setLocalDescription(await client.createAnswer())
    await server.setRemoteDescription(RTCSessionDescription(client.localDescription.sdp, "answer"))


async def test_a_subscriber_with_two_videos_rebuilds_a_lost_packet_from_its_rtx() -> None:
    server, client = RTCPeerConnection(), RTCPeerConnection()
    try:
        outgoing = []
        for _ in range(2):
            transceiver = server.addTransceiver(PacketSubscriber("video"), direction="sendonly")
            offer_codecs(transceiver, "video")
            outgoing.append(transceiver)
        await negotiate(server, client)
        frames: list[tuple[bytes, int, bool]] = []
        receivers = [t.receiver for t in client.getTransceivers()]
        install_forwarding(receivers[1], "video", lambda *frame: frames.append(frame))
        for transceiver in client.getTransceivers():
            await transceiver.receiver.receive(remote_parameters(client, transceiver))
        receivers[1]._set_rtcp_ssrc(1)
        # The second video's packets, as the server's packet path writes them.
        sender = outgoing[1].sender
        (vp8, rtx) = outgoing[1]._codecs
        assert is_rtx(rtx) and rtx.parameters["apt"] == vp8.payloadType
        assert vp8.payloadType is not None and rtx.payloadType is not None
        ids = {e.uri: e.id for e in outgoing[1]._headerExtensions}
        writer = RtpWriter(
            sender._ssrc, vp8.payloadType, outgoing[1].mid, ids[MID], ids[ABS_SEND_TIME]
        )
        first = writer.build(500, 9000, 0, b"\x10" + BODY, None, 1)
        lost = writer.build(501, 9000, 1, b"\x00" + BODY[::-1], None, 2)
        again = writer.rtx(lost, 7, rtx.payloadType, sender._rtx_ssrc, 3)
        transport = receivers[1].transport
        await transport._handle_rtp_data(first, 0)
        assert frames == []  # the frame waits for its lost packet
        await transport._handle_rtp_data(again, 40)
        # The router took the RTX to the right stream; aiortc unwrapped it to the original.
        assert frames == [(BODY + BODY[::-1], 9000, True)]
        parsed = RtpPacket.parse(again, transport._rtp_header_extensions_map)
        assert parsed.extensions.abs_send_time == 3 and parsed.extensions.mid == outgoing[1].mid
    finally:
        await server.close()
        await client.close()


async def test_the_server_routes_a_publishers_rtx_with_a_camera_and_a_screen() -> None:
    server, client = RTCPeerConnection(), RTCPeerConnection()
    try:
        incoming = []
        for _ in range(2):  # the camera and the shared screen: two video receivers
            transceiver = server.addTransceiver("video", direction="recvonly")
            offer_codecs(transceiver, "video")
            incoming.append(transceiver)
        router = bound_ssrcs(incoming[0].receiver.transport)
        await server.setLocalDescription(await server.createOffer())
        await client.setRemoteDescription(server.localDescription)
        for transceiver in client.getTransceivers():  # someone sharing a screen
            transceiver.sender.replaceTrack(VideoStreamTrack())
            transceiver.direction = "sendonly"
        camera = client.getTransceivers()[0]
        await client.setLocalDescription(await client.createAnswer())
        await server.setRemoteDescription(
            RTCSessionDescription(client.localDescription.sdp, "answer")
        )
        for transceiver in incoming:  # offer_codecs routes their RTX then
            parameters: RTCRtpReceiveParameters = remote_parameters(server, transceiver)
            await transceiver.receiver.receive(parameters)
        (rtx_type,) = [c.payloadType or 0 for c in incoming[0]._codecs if is_rtx(c)]
        packet = RtpPacket(payload_type=rtx_type, ssrc=camera.sender._rtx_ssrc, payload=b"\0\1x")
        assert router.route_rtp(packet) is incoming[0].receiver
        assert router.refused == 0
    finally:
        await server.close()
        await client.close()


def block(ssrc: int, fraction: int, highest: int, lost: int) -> RtcpReceiverInfo:
    """A report block; ``fraction`` in 256ths, as on the wire."""
    return RtcpReceiverInfo(
        ssrc=ssrc, fraction_lost=fraction, packets_lost=lost,
        highest_sequence=highest, jitter=0, lsr=0, dlsr=0,
    )  # fmt: skip


def test_the_loss_passed_on_is_what_rtx_did_not_repair() -> None:
    loss = RepairedLoss()
    # Without an RTX block (audio, or no RTX negotiated) the report's own fraction.
    assert loss.update(block(1, 13, 1000, 50), None) == 13 / 256
    # The first RTX block: nothing to compare it with yet, so nothing counts as repaired.
    assert loss.update(block(1, 13, 1100, 55), block(2, 0, 10, 0)) == 0.05
    # 100 more packets, 6 lost on the link, 5 retransmissions arrived (one of 6 was lost too).
    assert loss.update(block(1, 15, 1200, 61), block(2, 42, 16, 1)) == 0.01
    # Every loss repaired: nothing left (more arrivals than losses count as none left).
    assert loss.update(block(1, 10, 1300, 65), block(2, 0, 22, 1)) == 0.0
    # Nothing new, or a restarted stream: the report's own fraction.
    assert loss.update(block(1, 8, 1300, 65), block(2, 0, 22, 1)) == 8 / 256
    assert loss.update(block(1, 5, 5, 0), block(2, 0, 23, 1)) == 5 / 256


def test_gaps_the_publisher_left_are_not_the_subscribers_loss() -> None:
    # The publisher's link lost every tenth packet: the server passed those gaps on.
    record = SentRecord()
    for seq in range(1001, 1101):
        if seq % 10:
            record.add(seq)
    loss = RepairedLoss(sent_between=record.between)
    loss.update(block(1, 0, 1000, 0), None)
    # 100 new numbers: the 10 never sent and 2 lost on the subscriber's own link count as
    # lost in its report; only the 2 of the 90 sent are its link's.
    assert loss.update(block(1, 30, 1100, 12), None) == 2 / 90
    # Without the record, all 12 would count (a clean subscriber looked like a lossy one).
    plain = RepairedLoss()
    plain.update(block(1, 0, 1000, 0), None)
    assert plain.update(block(1, 30, 1100, 12), None) == 0.12
    # Nothing sent at all in the interval: no loss of the subscriber's link.
    assert loss.update(block(1, 255, 1110, 22), None) == 0.0


def test_the_sent_record_counts_across_the_wrap_and_knows_its_memory() -> None:
    record = SentRecord()
    for extended in range(65530, 65542):  # 65530..65535, then 0..5 after the wrap
        if extended != 65533:
            record.add(extended & 0xFFFF)
    assert record.between(65529, 65541) == 11
    assert record.between(65529, 65529 + SENT_MEMORY + 1) is None  # further than remembered
    assert record.between(65541, 65541) is None  # nothing new
