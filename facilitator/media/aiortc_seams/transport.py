"""Seams on the DTLS transport: bounded SSRCs before any per-SSRC state is made (9, 10), and
media handled as it arrives (17, 19)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport
from aiortc.rtcdtlstransport import RtpReceiver, RtpRouter, State
from aiortc.rtp import HeaderExtensions, RtpPacket, is_rtcp

from ..limits import MAX_RTCP_SSRCS, MAX_SSRCS_PER_RECEIVER
from .base import DTLS as _DTLS
from .base import SeamError
from .parse import extension_ids, parse_rtp
from .receive import PacketHandler

log = logging.getLogger(__name__)


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


NTP_OFFSET = 2_208_988_800
"""Seconds from the NTP epoch (1900) to the Unix one: aiortc's ``clock.current_ms`` counts from
1900, through a datetime per call."""


def arrival_ms() -> int:
    """Milliseconds since 1900, as aiortc's ``clock.current_ms`` (the bitrate estimator's clock)."""
    return int((time.time() + NTP_OFFSET) * 1000)


def receive_inline(transport: RTCDtlsTransport) -> Callable[[], int]:
    """Handle ``transport``'s SRTP and SRTCP as each datagram arrives, not through its queue.

    aiortc puts every datagram in an ``asyncio.Queue`` that the DTLS transport's task reads one
    at a time: a task switch per packet. Once DTLS is up, media datagrams are decrypted, parsed
    and handed to their receiver or sender right in aioice's ``data_received`` (what
    ``_recv_next`` does, same counters, same SRTP session, same routing); RTP is parsed by
    ``parse_rtp`` and a PacketHandler handles it without a coroutine, and RTCP it must send
    (or a handler that is not a PacketHandler) runs at once: one that must wait (rare:
    sending RTCP over TURN) finishes as a task. DTLS itself, and anything before
    the connection is up, still go through the queue. Returns how many datagrams were handled
    inline (for tests). Call it once the transport exists (after ``addTransceiver``).
    """
    connection = transport.transport._connection
    queued = connection.data_received
    pending: set[asyncio.Future[None]] = set()
    counted = [0]
    rx_bytes, rx_packets = _DTLS + "rx_bytes", _DTLS + "rx_packets"
    ids = extension_ids(transport)

    def data_received(data: bytes, component: int) -> None:
        session = transport._rx_srtp
        if (
            not data
            or not 127 < data[0] < 192
            or session is None
            or transport._state is not State.CONNECTED
            or not pending_free(pending)
        ):
            queued(data, component)
            return
        setattr(transport, rx_bytes, getattr(transport, rx_bytes) + len(data))
        setattr(transport, rx_packets, getattr(transport, rx_packets) + 1)
        counted[0] += 1
        try:
            if is_rtcp(data):
                run_now(transport._handle_rtcp_data(session.unprotect_rtcp(data)), pending)
            else:
                arrival = arrival_ms()
                handle_rtp(transport, session.unprotect(data), arrival, ids, pending)
        except pylibsrtp.Error:
            return  # aiortc drops a packet that does not decrypt

    connection.data_received = data_received  # type: ignore[method-assign]
    return lambda: counted[0]


def handle_rtp(
    transport: RTCDtlsTransport,
    data: bytes,
    arrival: int,
    ids: HeaderExtensions,
    pending: set[asyncio.Future[None]],
) -> None:
    """Parse, route and handle one decrypted RTP packet, as ``_handle_rtp_data`` does; a
    receiver on the packet path handles it without a coroutine (seam 19)."""
    try:
        packet = parse_rtp(data, ids, transport._rtp_header_extensions_map)
    except ValueError:
        return  # aiortc drops a packet it cannot parse
    receiver = transport._rtp_router.route_rtp(packet)
    if receiver is None:
        return
    handler = receiver._handle_rtp_packet
    if not isinstance(handler, PacketHandler):
        run_now(handler(packet, arrival_time_ms=arrival), pending)
        return
    try:
        rest = handler.now(packet, arrival)
    except Exception:  # aiortc's read loop would stop the whole transport
        log.exception("handling a media packet failed")
        return
    if rest is not None:
        run_now(rest, pending)


MAX_PENDING = 64
"""Handlers left waiting at once before packets go back through aiortc's queue (a slow TURN
link must not grow tasks without bound)."""


def pending_free(pending: set[asyncio.Future[None]]) -> bool:
    """True while fewer than MAX_PENDING handlers are waiting."""
    return len(pending) < MAX_PENDING


def run_now(coroutine: Coroutine[Any, Any, None], pending: set[asyncio.Future[None]]) -> None:
    """Run ``coroutine`` right now; if it has to wait, the rest of it runs as a task.

    The packet handlers are coroutines that almost never wait, so they run to the end here
    without a task or a trip through the event loop (asyncio's eager tasks, in Python 3.11).
    """
    try:
        waiting = coroutine.send(None)
    except StopIteration:
        return
    except ConnectionError:  # closing under us: aiortc's loop would stop reading, as we do
        return
    except Exception:  # aiortc's read loop would stop the whole transport
        log.exception("handling a media packet failed")
        return
    # A future says it is being awaited until a task takes it: hand that over to the task, so
    # another handler may await the same future meanwhile (as asyncio's own tasks allow).
    blocking = bool(getattr(waiting, "_asyncio_future_blocking", False))
    if blocking:
        waiting._asyncio_future_blocking = False
    task = asyncio.ensure_future(_Rest(coroutine, waiting, blocking).finish())
    pending.add(task)
    task.add_done_callback(pending.discard)
    task.add_done_callback(_report)
    task.add_done_callback(lambda _: coroutine.close())  # cancelled before it ran: close it


class _Rest:
    """The rest of a coroutine that ``run_now`` started, as something a task can await."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting: Any, blocking: bool) -> None:
        self.coroutine = coroutine
        self.waiting = waiting
        self.blocking = blocking

    async def finish(self) -> None:
        """Await what the coroutine was waiting for, then carry on with it."""
        await self

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, waiting = self.coroutine, self.waiting
        if self.blocking:
            waiting._asyncio_future_blocking = True
        while True:
            try:
                answer = yield waiting
            except BaseException as exc:  # cancellation and errors go into the coroutine
                try:
                    waiting = coroutine.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting = coroutine.send(answer)
                except StopIteration:
                    return


def _report(task: asyncio.Future[None]) -> None:
    if task.cancelled() or isinstance(task.exception(), ConnectionError):
        return
    if task.exception() is not None:
        log.error("handling a media packet failed", exc_info=task.exception())
