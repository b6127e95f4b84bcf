"""The SFU's building blocks without a network: the forwarding buffer, relay tracks, seams."""

from __future__ import annotations

import asyncio

import av
import pytest
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from facilitator.media.aiortc_seams import STALL_SECONDS, ForwardingBuffer, check_seams
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
