"""Seam 20: received RTP parsed as aiortc's ``RtpPacket.parse`` would, in fewer steps.

aiortc parses header extensions in two passes (a list of ``(id, bytes)`` for any profile, then
a dispatch that unpacks each with ``struct``); browsers send one-byte extensions without CSRCs,
which ``parse_rtp`` reads in one pass into the same ``RtpPacket``. Anything else (CSRCs,
two-byte extensions) goes to aiortc's own parser.
"""

from __future__ import annotations

import struct

from aiortc import RTCDtlsTransport
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket

from .base import SeamError

RTP_HEADER = struct.Struct("!BBHLL")


def extension_ids(transport: RTCDtlsTransport) -> HeaderExtensions:
    """The header extension ids ``transport`` parses with (updated in place as m-lines are
    negotiated)."""
    ids = getattr(transport._rtp_header_extensions_map, "_HeaderExtensionsMap__ids", None)
    if not isinstance(ids, HeaderExtensions):
        raise SeamError("HeaderExtensionsMap has no __ids")
    return ids


def parse_rtp(data: bytes, ids: HeaderExtensions, mapping: HeaderExtensionsMap) -> RtpPacket:
    """The RtpPacket aiortc's ``RtpPacket.parse(data, mapping)`` makes; ``ids`` are
    ``mapping``'s. Raises ValueError for a packet that cannot be read (aiortc raises
    ``struct.error`` for some of those)."""
    # Version 2, an extension, no CSRC, one-byte extensions; anything else goes to aiortc.
    if len(data) < 16 or data[0] & 0xDF != 0x90 or data[12] != 0xBE or data[13] != 0xDE:
        try:
            return RtpPacket.parse(data, mapping)
        except struct.error as exc:
            raise ValueError(str(exc)) from exc
    end = 16 + ((data[14] << 8) | data[15]) * 4
    if len(data) < end:
        raise ValueError("RTP packet has truncated extension value")
    first, second, sequence_number, timestamp, ssrc = RTP_HEADER.unpack_from(data)
    packet = RtpPacket(
        payload_type=second & 0x7F,
        marker=second >> 7,
        sequence_number=sequence_number,
        timestamp=timestamp,
        ssrc=ssrc,
    )
    read_one_byte_extensions(data, 16, end, ids, packet.extensions)
    if first & 0x20:
        padding = data[-1]
        if not padding or padding > len(data) - end:
            raise ValueError("RTP packet padding length is invalid")
        packet.padding_size = padding
        packet.payload = data[end:-padding]
    else:
        packet.payload = data[end:]
    return packet


def read_one_byte_extensions(
    data: bytes, pos: int, end: int, ids: HeaderExtensions, values: HeaderExtensions
) -> None:
    """Set ``values`` from the one-byte header extensions in ``data[pos:end]``, as
    ``HeaderExtensionsMap.get`` does (the same ids, in the same order of precedence)."""
    while pos < end:
        byte = data[pos]
        if byte == 0:  # padding
            pos += 1
            continue
        x_id = byte >> 4
        size = (byte & 0x0F) + 1
        pos += 1
        if end < pos + size:
            raise ValueError("RTP one-byte header extension value is truncated")
        if x_id == ids.mid:
            values.mid = data[pos : pos + size].decode("utf8")
        elif x_id == ids.repaired_rtp_stream_id:
            values.repaired_rtp_stream_id = data[pos : pos + size].decode("ascii")
        elif x_id == ids.rtp_stream_id:
            values.rtp_stream_id = data[pos : pos + size].decode("ascii")
        elif x_id == ids.abs_send_time:
            if size != 3:
                raise ValueError("abs-send-time is not 3 bytes")
            values.abs_send_time = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]
        elif x_id == ids.transmission_offset:
            if size != 3:
                raise ValueError("transmission offset is not 3 bytes")
            values.transmission_offset = int.from_bytes(data[pos : pos + 3], "big", signed=True)
        elif x_id == ids.audio_level:
            if size != 1:
                raise ValueError("audio level is not 1 byte")
            level = data[pos]
            values.audio_level = (level & 0x80 == 0x80, level & 0x7F)
        elif x_id == ids.transport_sequence_number:
            if size != 2:
                raise ValueError("transport sequence number is not 2 bytes")
            values.transport_sequence_number = (data[pos] << 8) | data[pos + 1]
        pos += size
