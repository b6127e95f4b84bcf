"""What ``check_seams`` looks for in the aiortc and aioice internals the packet path uses.

Only source inspection lives here (the seams themselves are in ``aiortc_seams``): each entry
names a function and the lines of it that ``forward_packets`` and ``DirectSender`` rely on.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpreceiver import RTCRtpReceiver as _Receiver

_PACKET_PATH: list[tuple[Callable[..., Any], tuple[str, ...], str]] = [
    (
        _Receiver._handle_rtp_packet,
        (
            "if not self._enabled:",
            "self.__remote_bitrate_estimator.add(",
            "pack_remb_fci(*remb)",
            "codec = self.__codecs.get(packet.payload_type)",
            "self.__remote_streams[packet.ssrc] = StreamStatistics(codec.clockRate)",
            "self.__remote_streams[packet.ssrc].add(packet)",
            "original_ssrc = self.__rtx_ssrc.get(packet.ssrc)",
            "unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)",
            "await self._send_rtcp_nack(",
        ),
        "RTCRtpReceiver._handle_rtp_packet no longer does the bookkeeping forward_packets copies",
    ),
    (
        _Receiver.__init__,
        (
            "self.__remote_bitrate_estimator = RemoteBitrateEstimator()",
            "self.__remote_streams: dict[int, StreamStatistics] = {}",
            "self.__rtcp_ssrc: Optional[int] = None",
            "self.__codecs: dict[int, RTCRtpCodecParameters] = {}",
            "self.__rtx_ssrc: dict[int, int] = {}",
        ),
        "RTCRtpReceiver.__init__ no longer keeps the state forward_packets uses",
    ),
    (
        RTCDtlsTransport._handle_rtp_data,
        ("await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)",),
        "RTCDtlsTransport no longer hands parsed packets to receiver._handle_rtp_packet",
    ),
    (
        RTCRtpSender.send,
        (
            "self.__rtp_header_extensions_map.configure(parameters)",
            "self.__rtx_payload_type = codec.payloadType",
            "self._run_rtp(parameters.codecs[0])",
        ),
        "RTCRtpSender.send no longer sends with the first negotiated codec",
    ),
    (
        RTCRtpSender._run_rtcp,
        (
            "ntp_timestamp=self.__ntp_timestamp",
            "rtp_timestamp=self.__rtp_timestamp",
            "packet_count=self.__packet_count & 0xFFFFFFFF",
            "octet_count=self.__octet_count & 0xFFFFFFFF",
        ),
        "RTCRtpSender's sender reports no longer come from its counters",
    ),
    (
        RTCRtpSender._next_encoded_frame,
        ("data = await self.__track.recv()",),
        "RTCRtpSender no longer waits on its track's recv",
    ),
    (
        RTCDtlsTransport._setup_srtp,
        ("self._tx_srtp = Session(",),
        "RTCDtlsTransport._setup_srtp no longer makes _tx_srtp",
    ),
    (
        RTCDtlsTransport._send_rtp,
        (
            "if self._state != State.CONNECTED:",
            "data = self._tx_srtp.protect(data)",
            "await self.transport._send(data)",
            "self.__tx_bytes += len(data)",
            "self.__tx_packets += 1",
        ),
        "RTCDtlsTransport._send_rtp no longer protects with _tx_srtp and sends on its ICE link",
    ),
    (
        RTCIceTransport.__init__,
        ("self._connection = gatherer._connection", "self._send = self._connection.send"),
        "RTCIceTransport no longer sends through its aioice connection",
    ),
    (
        aioice.ice.Connection.sendto,
        (
            "active_pair = self._nominated.get(component)",
            "await active_pair.protocol.send_data(data, active_pair.remote_addr)",
        ),
        "aioice Connection.sendto no longer sends on the nominated pair",
    ),
    (
        aioice.ice.Connection.send,
        ("await self.sendto(data, 1)",),
        "aioice Connection.send no longer sends on component 1",
    ),
    (
        aioice.ice.StunProtocol.send_data,
        ("self.transport.sendto(data, addr)",),
        "aioice StunProtocol.send_data is no longer one datagram sendto",
    ),
]


def packet_path_problems() -> list[str]:
    """What moved of the internals the packet path (seams 1 and 11) relies on."""
    problems = [
        message
        for function, snippets, message in _PACKET_PATH
        if not all(snippet in inspect.getsource(function) for snippet in snippets)
    ]
    for name in ("_send_rtcp", "_send_rtcp_nack"):
        if not callable(getattr(_Receiver, name, None)):
            problems.append(f"RTCRtpReceiver.{name} is gone")
    init = inspect.getsource(RTCRtpSender.__init__)
    for counter in ("octet_count", "rtp_timestamp", "ntp_timestamp", "rtx_payload_type"):
        if f"self.__{counter}" not in init:
            problems.append(f"RTCRtpSender.__init__ no longer keeps __{counter}")
    return problems
