"""Seams on the DTLS transport: bounded SSRCs before any per-SSRC state is made (9, 10)."""

from __future__ import annotations

from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport
from aiortc.rtcdtlstransport import RtpReceiver, RtpRouter
from aiortc.rtp import RtpPacket

from ..limits import MAX_RTCP_SSRCS, MAX_SSRCS_PER_RECEIVER
from .base import SeamError


class BoundedRtpRouter(RtpRouter):
    """aiortc's RtpRouter, but a receiver accepts at most MAX_SSRCS_PER_RECEIVER SSRCs.

    aiortc gives a packet with an unknown SSRC to the one receiver of its payload type and
    remembers the SSRC; the receiver then keeps statistics, reports and NACK state for it. A
    peer sending thousands of SSRCs would grow all of that (and aiortc's receiver-report task
    dies past 255). The negotiated SSRCs count first; beyond the limit, new ones are dropped
    before any per-SSRC state is made.
    """

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0
        """Packets dropped for an SSRC over the limit."""

    def accepts(self, ssrc: int, payload_type: int) -> bool:
        """False when a packet would be dropped for having one SSRC too many."""
        if ssrc in self.ssrc_table:
            return True
        receivers = self.payload_type_table.get(payload_type, ())
        if len(receivers) != 1:
            return False  # aiortc drops it too (but libsrtp would already have made a stream)
        (receiver,) = receivers
        return sum(1 for r in self.ssrc_table.values() if r is receiver) < MAX_SSRCS_PER_RECEIVER

    def route_rtp(self, packet: RtpPacket) -> RtpReceiver | None:
        """The receiver for ``packet``, or None to drop it."""
        if not self.accepts(packet.ssrc, packet.payload_type):
            self.refused += 1
            return None
        return super().route_rtp(packet)


def bound_ssrcs(transport: RTCDtlsTransport) -> BoundedRtpRouter:
    """Give ``transport`` a BoundedRtpRouter, keeping whatever is registered already, and gate
    its inbound SRTP by the same rule (call before the connection starts)."""
    current = transport._rtp_router
    if isinstance(current, BoundedRtpRouter):
        return current
    if not isinstance(current, RtpRouter):
        raise SeamError("RTCDtlsTransport has no _rtp_router to replace")
    router = BoundedRtpRouter()
    for name in ("receivers", "senders", "mid_table", "ssrc_table", "payload_type_table"):
        setattr(router, name, getattr(current, name))
    transport._rtp_router = router
    gate_srtp(transport, router)
    return router


class SsrcGate:
    """Stands in for a transport's inbound SRTP session, refusing SSRCs before libsrtp sees them.

    SRTP packets whose SSRC the router would drop, and SRTCP from more than MAX_RTCP_SSRCS
    senders, raise ``pylibsrtp.Error``, which aiortc treats as a packet that failed to decrypt.
    """

    def __init__(self, session: Any, router: BoundedRtpRouter) -> None:
        self.session = session
        self.router = router
        self.rtcp_ssrcs: set[int] = set()
        self.refused = 0

    def unprotect(self, data: bytes) -> bytes:
        """Decrypt one SRTP packet, if its SSRC is one the router accepts."""
        if len(data) >= 12:
            ssrc = int.from_bytes(data[8:12], "big")
            if not self.router.accepts(ssrc, data[1] & 0x7F):
                self.refused += 1
                raise pylibsrtp.Error("SSRC over the limit")
        return bytes(self.session.unprotect(data))

    def unprotect_rtcp(self, data: bytes) -> bytes:
        """Decrypt one SRTCP packet, if it comes from one of the first MAX_RTCP_SSRCS SSRCs."""
        ssrc = int.from_bytes(data[4:8], "big") if len(data) >= 8 else None
        known = ssrc in self.rtcp_ssrcs or ssrc in self.router.ssrc_table
        if ssrc is not None and not known and len(self.rtcp_ssrcs) >= MAX_RTCP_SSRCS:
            self.refused += 1
            raise pylibsrtp.Error("RTCP SSRC over the limit")
        plain = bytes(self.session.unprotect_rtcp(data))
        if ssrc is not None and not known:
            self.rtcp_ssrcs.add(ssrc)  # only once it authenticated
        return plain


def gate_srtp(transport: RTCDtlsTransport, router: BoundedRtpRouter) -> None:
    """Put ``transport``'s inbound SRTP behind an SsrcGate as soon as its keys are set up."""
    setup = transport._setup_srtp

    def setup_gated() -> None:
        setup()
        if transport._rx_srtp is not None and not isinstance(transport._rx_srtp, SsrcGate):
            transport._rx_srtp = SsrcGate(transport._rx_srtp, router)  # type: ignore[assignment]

    transport._setup_srtp = setup_gated  # type: ignore[method-assign]
