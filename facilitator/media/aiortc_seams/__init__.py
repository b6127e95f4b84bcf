"""The only package that touches aiortc and aioice internals; ``check_seams`` guards each one.

One module per side: ``receive`` (1, 2, 8, 16, 19), ``estimate`` (18), ``parse`` (20), ``send``
(3, 4, 7, 12, 15), ``transport`` (9, 10, 17, 19), ``codecs`` (13), ``ice`` (5, 6, 11, 14);
``checks`` inspects the internals they rely on.

aiortc is built to decode what it receives and encode what it sends. An SFU must do neither, so
these seams are used (``tests/test_media_units.py`` fails loudly if an aiortc upgrade moves one):

1. ``RTCRtpReceiver._handle_rtp_packet`` is replaced per receiver (``forward_packets``): it
   keeps aiortc's bookkeeping (statistics for receiver reports, the bitrate estimate for REMB,
   RTX unwrapping, NACKs) and hands each RTP packet to the SFU as it is, never depayloading it.
   The test bots instead replace ``__jitter_buffer`` with a ForwardingBuffer (``frames.py``),
   which hands them whole encoded frames without decoding.
2. ``RTCRtpReceiver._send_rtcp_pli`` asks a publisher for a keyframe.
3. ``RTCRtpSender._send_keyframe`` (called on PLI/FIR from a subscriber) is overridden per sender
   to forward the request to the publisher, since nothing is encoded here.
4. ``RTCRtpSender.__packet_count`` and ``__octet_count`` are read for statistics and metrics.
5. ``aioice.ice.get_host_addresses`` is wrapped so ``--ice-address`` chooses the host candidates
   (aioice leaves 127.0.0.1 out, and a server with several interfaces needs a choice).
6. ``aioice.ice.StunProtocol.datagram_received`` is guarded: aioice hands every datagram that is
   not STUN to the DTLS transport whoever sent it, and aiortc closes the whole connection on
   the first one it cannot read (a single 0-byte datagram does it). Only STUN, and data from
   addresses in the connection's candidate pairs, get through.
7. ``RTCRtpSender._handle_rtcp_packet``'s NACK branch is replaced per sender: aiortc sends a
   packet again for every time a NACK names it. A ``RetransmitLimiter`` decides instead.
8. ``RTCRtpReceiver.__nack_generator`` is replaced by a ``BoundedNackGenerator``: aiortc's does
   work in proportion to any jump in sequence numbers.
9. ``RTCDtlsTransport._rtp_router`` is replaced by a ``BoundedRtpRouter``: aiortc's learns every
   new SSRC, and the receiver then keeps statistics (and reports) for each one.
10. ``RTCDtlsTransport._setup_srtp`` is wrapped per transport so its ``_rx_srtp`` session sits
   behind an ``SsrcGate``: libsrtp makes a stream (and searches a longer list on every packet)
   for each new SSRC that authenticates, so SSRCs the router would drop never reach it.
11. ``RTCPeerConnection.__connect`` runs as a task nobody awaits: ``quiet_failed_connects``
   logs its ConnectionError (a peer gone while connecting) as one line instead of a traceback.
12. ``RTCRtpSender.send`` is wrapped per sender (``DirectSender``) to learn what the subscriber
   negotiated (payload types, mid, header extension ids, RTX). Packets then go out without
   aiortc's sender loop: protected with the DTLS transport's ``_tx_srtp`` and written with one
   synchronous ``sendto`` on the nominated ICE pair's socket (aioice's ``send`` is a coroutine
   around the same call). The sender's ``__packet_count``, ``__octet_count``,
   ``__rtp_timestamp`` and ``__ntp_timestamp`` are kept true, so its sender reports let
   browsers sync audio and video; its own loop idles on a track that never yields a frame.
13. ``RTCRtpTransceiver._codecs`` (what aiortc negotiated) is a property on the server's
   transceivers (``offer_codecs``), so Opus carries ``usedtx=1;useinbandfec=1`` and VP8 its RTX.
   ``RtpRouter.ssrc_table`` is taught each receiver's RTX SSRCs (``route_rtx``, after
   ``RTCRtpReceiver.receive``): aiortc's router drops RTX when several m-lines share its type.
14. ``aioice.ice.Connection.query_consent`` is replaced (``tolerant_consent``): aioice closes a
   connection after a few consent checks of one try each fail, which a busy server causes itself.
15. ``RTCRtpSender._handle_rtcp_packet`` is wrapped once more per sender (``watch_feedback``):
   after aiortc (which updates ``__rtt`` from the report), each REMB naming the sender's SSRC and
   each report block about it go to the allocation (a subscriber's downlink and loss; with RTX,
   the loss left after repair, from the RTX stream's own block: ``RepairedLoss``).
16. The REMB ``forward_packets`` sends towards a publisher is min(aiortc's estimate, a
   ``RembCap``), and ``send_remb`` sends one at once when the cap falls; ``UplinkMeter`` reads
   the receiver's ``__remote_streams`` statistics for the publisher's uplink loss.
17. ``aioice.ice.Connection.data_received`` is replaced per connection (``receive_inline``):
   once DTLS is up, SRTP and SRTCP are decrypted and handled as each datagram arrives, as
   ``RTCDtlsTransport._recv_next`` would, instead of one queue round-trip and task switch per
   packet; the packet handlers run to the end at once (a rare one that waits goes on as a task).
18. ``RTCRtpReceiver.__remote_bitrate_estimator`` of a video receiver is a
   ``LeanBitrateEstimator`` (``lean_estimator``): aiortc's estimator with its ``RateCounter`` and
   ``OveruseEstimator.update_min_frame_period`` replaced by ones that give the same answers
   without a Python loop per millisecond or per remembered frame. (Audio receivers have none.)
19. ``RTCDtlsTransport._handle_rtp_data`` is done by ``receive_inline`` itself (``handle_rtp``):
   parse, route, then a ``PacketHandler`` (the handler ``forward_packets`` installs) handles the
   packet without a coroutine; only RTCP it must send (REMB, NACK) runs as one.
20. ``RtpPacket.parse`` is done by ``parse_rtp`` for packets with one-byte header extensions
   and no CSRCs (what browsers send), reading aiortc's ids from ``HeaderExtensionsMap.__ids``;
   the same ``RtpPacket`` in one pass instead of two.
"""

from __future__ import annotations

from ..frames import STALL_SECONDS as STALL_SECONDS  # the bots and tests import these from here
from .base import SeamError as SeamError
from .checks import feedback_problems as feedback_problems
from .checks import inline_problems, internal_problems, packet_path_problems, receive_problems
from .codecs import OFFERED as OFFERED
from .codecs import OPUS_PARAMETERS as OPUS_PARAMETERS
from .codecs import ParameterizedTransceiver as ParameterizedTransceiver
from .codecs import codec_problems
from .codecs import offer_codecs as offer_codecs
from .codecs import pin_codec as pin_codec
from .codecs import route_rtx as route_rtx
from .estimate import LeanBitrateEstimator as LeanBitrateEstimator
from .estimate import lean_estimator as lean_estimator
from .ice import CONSENT_FAILURES as CONSENT_FAILURES
from .ice import CONSENT_RETRANSMISSIONS as CONSENT_RETRANSMISSIONS
from .ice import connect_problems, consent_problems
from .ice import guard_datagrams as guard_datagrams
from .ice import quiet_failed_connects as quiet_failed_connects
from .ice import restrict_host_addresses as restrict_host_addresses
from .ice import tolerant_consent as tolerant_consent
from .ice import tolerant_query_consent as tolerant_query_consent
from .parse import parse_rtp as parse_rtp
from .receive import ForwardingBuffer as ForwardingBuffer
from .receive import PacketHandler as PacketHandler
from .receive import PacketSink as PacketSink
from .receive import RembCap as RembCap
from .receive import UplinkMeter as UplinkMeter
from .receive import bound_nacks as bound_nacks
from .receive import forward_packets as forward_packets
from .receive import forwarding_buffer as forwarding_buffer
from .receive import install_forwarding as install_forwarding
from .receive import request_keyframe as request_keyframe
from .receive import send_remb as send_remb
from .send import ABS_SEND_TIME as ABS_SEND_TIME
from .send import AUDIO_LEVEL as AUDIO_LEVEL
from .send import MID as MID
from .send import DirectSender as DirectSender
from .send import RepairedLoss as RepairedLoss
from .send import SendParameters as SendParameters
from .send import limit_retransmissions as limit_retransmissions
from .send import on_keyframe_request as on_keyframe_request
from .send import sender_bytes as sender_bytes
from .send import sender_packets as sender_packets
from .send import watch_feedback as watch_feedback
from .transport import BoundedRtpRouter as BoundedRtpRouter
from .transport import SsrcGate as SsrcGate
from .transport import bound_ssrcs as bound_ssrcs
from .transport import gate_srtp as gate_srtp
from .transport import receive_inline as receive_inline


def check_seams() -> None:
    """Raise SeamError naming every internal that moved (call at start-up and in tests)."""
    problems = internal_problems() + connect_problems() + packet_path_problems()
    problems += codec_problems() + consent_problems() + feedback_problems()
    problems += inline_problems() + receive_problems()
    if problems:
        raise SeamError("aiortc internals moved: " + "; ".join(problems))
