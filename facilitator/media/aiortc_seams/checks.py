"""What ``check_seams`` looks for in the aiortc and aioice internals the seams rely on.

Only source inspection lives here (the seams themselves are in the sibling modules): each check
names a function and the lines of it that a seam relies on.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc import clock as aiortc_clock
from aiortc.rate import OveruseEstimator, RateCounter, RemoteBitrateEstimator
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpreceiver import RTCRtpReceiver as _Receiver
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket, unpack_header_extensions

Checks = list[tuple[Callable[..., Any], tuple[str, ...], str]]
"""(function, the lines of its source a seam relies on, what to say when one is gone)."""

_PACKET_PATH: Checks = [
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


def _missing(checks: Checks) -> list[str]:
    """The message of every check whose function no longer has all of its snippets."""
    return [
        message
        for function, snippets, message in checks
        if not all(snippet in inspect.getsource(function) for snippet in snippets)
    ]


def packet_path_problems() -> list[str]:
    """What moved of the internals the packet path (seams 1 and 11) relies on."""
    problems = _missing(_PACKET_PATH)
    for name in ("_send_rtcp", "_send_rtcp_nack"):
        if not callable(getattr(_Receiver, name, None)):
            problems.append(f"RTCRtpReceiver.{name} is gone")
    init = inspect.getsource(RTCRtpSender.__init__)
    for counter in ("octet_count", "rtp_timestamp", "ntp_timestamp", "rtx_payload_type"):
        if f"self.__{counter}" not in init:
            problems.append(f"RTCRtpSender.__init__ no longer keeps __{counter}")
    return problems


def feedback_problems() -> list[str]:
    """What moved of the internals the allocation's feedback seams rely on (15, 16)."""
    problems = []
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    for snippet, message in (
        ("filter(lambda x: x.ssrc == self._ssrc, packet.reports)", "reads report blocks"),
        ("self.__rtt = RTT_ALPHA * self.__rtt", "keeps its round trip from reports"),
        ("unpack_remb_fci(packet.fci)", "reads REMB"),
    ):
        if snippet not in rtcp:
            problems.append(f"RTCRtpSender._handle_rtcp_packet no longer {message}")
    handle = inspect.getsource(_Receiver._handle_rtp_packet)
    if "remb = self.__remote_bitrate_estimator.add(" not in handle:
        problems.append("RTCRtpReceiver no longer gets its REMB from __remote_bitrate_estimator")
    stats = inspect.getsource(StreamStatistics)
    for name in ("def packets_expected", "self.packets_received += 1"):
        if name not in stats:
            problems.append(f"StreamStatistics lost {name.split()[-1]}")
    return problems


_INLINE: Checks = [
    (
        RTCDtlsTransport._recv_next,
        (
            "data = await self.transport._recv()",
            "self.__rx_bytes += len(data)",
            "self.__rx_packets += 1",
            "first_byte > 127 and first_byte < 192 and self._rx_srtp",
            "arrival_time_ms = clock.current_ms()",
            "if is_rtcp(data):",
            "data = self._rx_srtp.unprotect_rtcp(data)",
            "await self._handle_rtcp_data(data)",
            "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)",
        ),
        "RTCDtlsTransport._recv_next no longer reads SRTP the way receive_inline does",
    ),
    (
        aioice.ice.Connection.data_received,
        ("self._queue.put_nowait((data, component))",),
        "aioice Connection.data_received no longer queues each datagram",
    ),
    (
        RTCIceTransport.__init__,
        ("self._recv = self._connection.recv",),
        "RTCIceTransport no longer reads its aioice connection's queue",
    ),
    (
        aiortc_clock.current_ms,
        ("current_datetime() - NTP_EPOCH", "* 1000"),
        "aiortc's clock.current_ms no longer counts milliseconds from 1900",
    ),
]


def inline_problems() -> list[str]:
    """What moved of the internals ``receive_inline`` (seam 17) relies on."""
    problems = _missing(_INLINE)
    if "self._set_state(State.CONNECTED)" not in inspect.getsource(RTCDtlsTransport.start):
        problems.append("RTCDtlsTransport.start no longer marks the transport CONNECTED")
    return problems


def internal_problems() -> list[str]:
    """What moved of the receiver, sender, router and aioice internals the seams replace."""
    problems = []
    handle = inspect.getsource(_Receiver._handle_rtp_packet)
    if "self.__jitter_buffer.add(packet)" not in handle:
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer feeds __jitter_buffer.add")
    if "packet._data = depayload(codec, packet.payload)" not in handle:
        problems.append("RTCRtpReceiver no longer depayloads into packet._data before buffering")
    if "pli_flag" not in handle or "_send_rtcp_pli" not in handle:
        problems.append("RTCRtpReceiver no longer sends a PLI when the buffer asks for one")
    if "self.__jitter_buffer =" not in inspect.getsource(_Receiver.__init__):
        problems.append("RTCRtpReceiver.__init__ no longer creates __jitter_buffer")
    if not callable(getattr(_Receiver, "_send_rtcp_pli", None)):
        problems.append("RTCRtpReceiver._send_rtcp_pli is gone")
    if "self._send_keyframe()" not in inspect.getsource(RTCRtpSender._handle_rtcp_packet):
        problems.append("RTCRtpSender no longer calls _send_keyframe on PLI/FIR")
    if "self.__encoder.pack(data)" not in inspect.getsource(RTCRtpSender._next_encoded_frame):
        problems.append("RTCRtpSender no longer packs pre-encoded av.Packet data")
    if "self.__packet_count = 0" not in inspect.getsource(RTCRtpSender.__init__):
        problems.append("RTCRtpSender no longer counts packets in __packet_count")
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    if "for seq in packet.lost:" not in rtcp or "await self._retransmit(seq)" not in rtcp:
        problems.append("RTCRtpSender no longer retransmits NACKed packets one by one")
    if "self.__rtt: Optional[float] = None" not in inspect.getsource(RTCRtpSender.__init__):
        problems.append("RTCRtpSender no longer keeps its round-trip time in __rtt")
    if "self.__nack_generator = NackGenerator()" not in inspect.getsource(_Receiver.__init__):
        problems.append("RTCRtpReceiver.__init__ no longer creates __nack_generator")
    if "self.__nack_generator.add(packet)" not in handle or ".missing" not in handle:
        problems.append("RTCRtpReceiver no longer asks __nack_generator what to NACK")
    if "self._rtp_router = RtpRouter()" not in inspect.getsource(RTCDtlsTransport.__init__):
        problems.append("RTCDtlsTransport.__init__ no longer creates _rtp_router")
    if "self._rtp_router.route_rtp(packet)" not in inspect.getsource(
        RTCDtlsTransport._handle_rtp_data
    ):
        problems.append("RTCDtlsTransport no longer routes RTP through _rtp_router.route_rtp")
    if "self.ssrc_table[packet.ssrc] = pt_receiver" not in inspect.getsource(RtpRouter.route_rtp):
        problems.append("RtpRouter.route_rtp no longer learns unknown SSRCs by payload type")
    if "self._setup_srtp()" not in inspect.getsource(RTCDtlsTransport.start):
        problems.append("RTCDtlsTransport.start no longer calls _setup_srtp")
    if "self._rx_srtp = Session(" not in inspect.getsource(RTCDtlsTransport._setup_srtp):
        problems.append("RTCDtlsTransport._setup_srtp no longer makes _rx_srtp")
    pump = inspect.getsource(RTCDtlsTransport._recv_next)
    if "self._rx_srtp.unprotect(data)" not in pump or "except pylibsrtp.Error" not in pump:
        problems.append("RTCDtlsTransport no longer unprotects with _rx_srtp, dropping on Error")
    if "self.__octet_count = 0" not in inspect.getsource(RTCRtpSender.__init__):
        problems.append("RTCRtpSender no longer counts bytes in __octet_count")
    receive = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    if "self.receiver.data_received(data" not in receive or "stun.parse_message" not in receive:
        problems.append("aioice StunProtocol.datagram_received changed shape")
    if not isinstance(getattr(aioice.ice.CandidatePair, "remote_addr", None), property):
        problems.append("aioice CandidatePair.remote_addr is gone")
    if "self._check_list" not in inspect.getsource(aioice.ice.Connection.__init__):
        problems.append("aioice Connection no longer keeps _check_list")
    if "get_host_addresses(" not in inspect.getsource(aioice.ice.Connection.gather_candidates):
        problems.append("aioice Connection.gather_candidates no longer calls get_host_addresses")
    return problems


_ESTIMATE: Checks = [
    (
        RemoteBitrateEstimator.__init__,
        ("self.incoming_bitrate = RateCounter(1000, 8000)", "self.estimator = OveruseEstimator()"),
        "RemoteBitrateEstimator no longer keeps a RateCounter and an OveruseEstimator",
    ),
    (
        RemoteBitrateEstimator.add,
        (
            "self.incoming_bitrate.rate(arrival_time_ms)",
            "self.incoming_bitrate.reset()",
            "self.incoming_bitrate.add(payload_size, arrival_time_ms)",
            "self.estimator.update(",
        ),
        "RemoteBitrateEstimator.add no longer uses its parts the way LeanBitrateEstimator's do",
    ),
    (
        RateCounter.__init__,
        ("self._scale = scale", "self._window_size = window_size", "self.reset()"),
        "RateCounter no longer keeps its scale and window",
    ),
    (
        RateCounter.add,
        (
            "self._origin_ms = now_ms",
            "self._erase_old(now_ms)",
            "index = (self._origin_index + now_ms - self._origin_ms) % self._window_size",
        ),
        "RateCounter.add no longer counts into the ring's bucket for now_ms",
    ),
    (
        RateCounter.rate,
        (
            "active_window_size = now_ms - self._origin_ms + 1",
            "if self._total.count > 0 and active_window_size > 1:",
            "return round(self._scale * self._total.value / active_window_size)",
        ),
        "RateCounter.rate no longer divides by the active window",
    ),
    (
        RateCounter._erase_old,
        ("new_origin_ms = now_ms - self._window_size + 1",),
        "RateCounter no longer keeps a window of window_size milliseconds",
    ),
    (
        OveruseEstimator.update,
        ("min_frame_period = self.update_min_frame_period(timestamp_delta_ms)",),
        "OveruseEstimator.update no longer asks update_min_frame_period",
    ),
    (
        OveruseEstimator.update_min_frame_period,
        (
            "if len(self.ts_delta_hist) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:",
            "self.ts_delta_hist.pop(0)",
            "min_frame_period = min(old_ts_delta, min_frame_period)",
            "self.ts_delta_hist.append(ts_delta)",
        ),
        "OveruseEstimator.update_min_frame_period no longer takes the least of the last 60",
    ),
]

_PARSE: Checks = [
    (
        RTCDtlsTransport.__init__,
        ("self._rtp_header_extensions_map = rtp.HeaderExtensionsMap()",),
        "RTCDtlsTransport no longer keeps one _rtp_header_extensions_map",
    ),
    (
        RTCDtlsTransport._handle_rtp_data,
        (
            "packet = RtpPacket.parse(data, self._rtp_header_extensions_map)",
            "except ValueError as exc:",
            "receiver = self._rtp_router.route_rtp(packet)",
        ),
        "RTCDtlsTransport._handle_rtp_data no longer parses, routes and hands over as "
        "handle_rtp does",
    ),
    (
        HeaderExtensionsMap.__init__,
        ("self.__ids = HeaderExtensions()",),
        "HeaderExtensionsMap no longer keeps its ids in __ids",
    ),
    (
        HeaderExtensionsMap.get,
        (
            "if x_id == self.__ids.mid:",
            'values.mid = x_value.decode("utf8")',
            'values.repaired_rtp_stream_id = x_value.decode("ascii")',
            'values.rtp_stream_id = x_value.decode("ascii")',
            'values.abs_send_time = unpack("!L", b"\\00" + x_value)[0]',
            'values.transmission_offset = unpack("!l", x_value + b"\\00")[0] >> 8',
            "values.audio_level = (vad_level & 0x80 == 0x80, vad_level & 0x7F)",
            'values.transport_sequence_number = unpack("!H", x_value)[0]',
        ),
        "HeaderExtensionsMap.get no longer reads extensions the way parse_rtp does",
    ),
    (
        RtpPacket.parse,
        (
            'unpack("!BBHLL", data[0:12])',
            "packet.extensions = extensions_map.get(extension_profile, extension_value)",
            "if not padding_len or padding_len > len(data) - pos:",
            "packet.payload = data[pos:-padding_len]",
        ),
        "RtpPacket.parse no longer reads packets the way parse_rtp does",
    ),
    (
        unpack_header_extensions,
        (
            "if extension_value[pos] == 0:",
            "x_id = (extension_value[pos] & 0xF0) >> 4",
            "x_length = (extension_value[pos] & 0x0F) + 1",
        ),
        "aiortc no longer reads one-byte header extensions the way parse_rtp does",
    ),
]

EXTENSIONS = {
    "abs_send_time",
    "audio_level",
    "mid",
    "repaired_rtp_stream_id",
    "rtp_stream_id",
    "transmission_offset",
    "transport_sequence_number",
}
"""The header extensions aiortc's parser fills in, all of which ``parse_rtp`` reads too."""


def receive_problems() -> list[str]:
    """What moved of the internals the lean estimator, the handler without a coroutine and the
    parser (seams 18, 19, 20) rely on."""
    problems = _missing(_ESTIMATE) + _missing(_PARSE)
    fields = {field.name for field in dataclasses.fields(HeaderExtensions)}
    if fields != EXTENSIONS:
        problems.append(f"aiortc's HeaderExtensions changed: {sorted(fields ^ EXTENSIONS)}")
    return problems
