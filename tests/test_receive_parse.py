"""Seam 20: ``parse_rtp`` makes the packet aiortc's ``RtpPacket.parse`` makes."""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest
from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpReceiveParameters
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket

from facilitator.media.aiortc_seams.parse import extension_ids, parse_rtp

URIS = {
    "mid": "urn:ietf:params:rtp-hdrext:sdes:mid",
    "repaired_rtp_stream_id": "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    "rtp_stream_id": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "abs_send_time": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "transmission_offset": "urn:ietf:params:rtp-hdrext:toffset",
    "audio_level": "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "transport_sequence_number": (
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    ),
}


def mapping() -> tuple[HeaderExtensionsMap, HeaderExtensions]:
    """A transport's extension map with every extension aiortc knows, and its ids."""
    ice = RTCIceTransport(RTCIceGatherer())
    transport = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
    extensions = [
        RTCRtpHeaderExtensionParameters(id=number, uri=uri)
        for number, uri in enumerate(URIS.values(), start=1)
    ]
    transport._rtp_header_extensions_map.configure(
        RTCRtpReceiveParameters(headerExtensions=extensions)
    )
    return transport._rtp_header_extensions_map, extension_ids(transport)


def random_packet(rng: random.Random) -> RtpPacket:
    packet = RtpPacket(
        payload_type=rng.randrange(128),
        marker=rng.randrange(2),
        sequence_number=rng.randrange(65536),
        timestamp=rng.randrange(1 << 32),
        ssrc=rng.randrange(1 << 32),
        payload=rng.randbytes(rng.choice((0, 1, 3, 100, 1200))),
    )
    values: dict[str, Any] = {
        "mid": rng.choice(("0", "1", "video", "x" * 20)),  # 20 bytes: two-byte extensions
        "repaired_rtp_stream_id": "r1",
        "rtp_stream_id": "hi",
        "abs_send_time": rng.randrange(1 << 24),
        "audio_level": (rng.random() < 0.5, rng.randrange(128)),
        "transport_sequence_number": rng.randrange(65536),
    }
    # (No transmission offset: aiortc writes 2 bytes of it and reads 3, so it is written below.)
    for name, value in values.items():
        if rng.random() < 0.5:
            setattr(packet.extensions, name, value)
    if rng.random() < 0.2:
        packet.padding_size = rng.randint(1, 30)
    if rng.random() < 0.1:
        packet.csrc = [rng.randrange(1 << 32) for _ in range(rng.randint(1, 3))]
    return packet


def same(ours: RtpPacket, theirs: RtpPacket) -> bool:
    return vars(ours) == vars(theirs)


def test_packets_parse_as_aiortc_parses_them() -> None:
    rng = random.Random(20)
    extensions, ids = mapping()
    one_byte = 0
    for _ in range(3000):
        data = random_packet(rng).serialize(extensions)
        one_byte += data[0] & 0x1F == 0x10 and data[12:14] == b"\xbe\xde"
        assert same(parse_rtp(data, ids, extensions), RtpPacket.parse(data, extensions))
    assert one_byte > 1000  # most took the one-pass path


def test_every_one_byte_extension_reads_as_aiortc_reads_it() -> None:
    extensions, ids = mapping()
    elements = bytes([0x10]) + b"1" + bytes([0x21]) + b"r1" + bytes([0x31]) + b"hi"
    elements += bytes([0x42, 1, 2, 3, 0x52, 0xFF, 0xFF, 0xFE, 0x60, 0x85, 0x71, 0x12, 0x34])
    elements += bytes([0x00, 0x00, 0x90, 0x07])  # padding, then an id nobody negotiated
    elements += bytes(-len(elements) % 4)
    header = struct.pack("!BBHII", 0x90, 0x80 | 111, 7, 8, 9)
    data = header + struct.pack("!HH", 0xBEDE, len(elements) // 4) + elements + b"opus"
    ours = parse_rtp(data, ids, extensions)
    assert same(ours, RtpPacket.parse(data, extensions))
    assert ours.extensions == HeaderExtensions(
        abs_send_time=0x010203,
        audio_level=(True, 5),
        mid="1",
        repaired_rtp_stream_id="r1",
        rtp_stream_id="hi",
        transmission_offset=-2,
        transport_sequence_number=0x1234,
    )
    assert ours.payload == b"opus" and ours.marker == 1 and ours.payload_type == 111


def test_a_packet_aiortc_cannot_read_is_a_value_error() -> None:
    extensions, ids = mapping()
    packet = RtpPacket(payload_type=96, sequence_number=1, ssrc=5, payload=b"payload")
    packet.extensions.abs_send_time = 12345
    good = packet.serialize(extensions)
    truncated_extension = good[:14] + b"\x00\x09" + good[16:]
    bad_padding = bytes([good[0] | 0x20]) + good[1:-1] + b"\xff"
    short_send_time = good[:16] + bytes([0x41, 1, 2, 0]) + good[20:]  # abs-send-time of 2 bytes
    for data in (good[:11], truncated_extension, bad_padding, short_send_time):
        with pytest.raises(ValueError):
            parse_rtp(data, ids, extensions)
        with pytest.raises((ValueError, struct.error)):
            RtpPacket.parse(data, extensions)


def test_damaged_packets_fail_or_parse_as_aiortc_parses_them() -> None:
    rng = random.Random(21)
    extensions, ids = mapping()
    both_read = 0
    for _ in range(5000):
        data = bytearray(random_packet(rng).serialize(extensions))
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(min(len(data), 40))] = rng.randrange(256)
        if rng.random() < 0.2:
            del data[rng.randrange(len(data)) :]
        raw = bytes(data)
        try:
            theirs = RtpPacket.parse(raw, extensions)
        except (ValueError, struct.error):
            with pytest.raises(ValueError):
                parse_rtp(raw, ids, extensions)
            continue
        assert same(parse_rtp(raw, ids, extensions), theirs)
        both_read += 1
    assert both_read > 1000
