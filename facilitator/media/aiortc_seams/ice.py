"""Seams on ICE: host addresses, guarded datagrams, tolerant consent, quiet failed connects.

Seams 5, 6, 11 and 14.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import Sequence
from typing import Any

import aioice.ice
import aioice.stun
from aiortc import RTCPeerConnection

log = logging.getLogger(__name__)


_ORIGINAL_HOST_ADDRESSES = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Use exactly these host candidate addresses for every new ICE connection (None: default).

    Process-wide, as aioice looks the function up at gathering time; a server has one setting.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _ORIGINAL_HOST_ADDRESSES
        return
    chosen = list(addresses)

    def chosen_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = chosen_addresses


_ORIGINAL_DATAGRAM_RECEIVED = aioice.ice.StunProtocol.datagram_received


def _guarded_datagram_received(
    self: aioice.ice.StunProtocol, data: bytes | str, addr: tuple[Any, ...]
) -> None:
    if not data:
        return  # aiortc would read data[0] and close the connection
    first = data[0] if isinstance(data, bytes) else 0
    if first > 3:  # not STUN (its first two bits are zero): must come from a known peer
        source = (addr[0], addr[1])
        if not _from_nominated(self, source):
            pairs = getattr(self.receiver, "_check_list", ())
            if not any(pair.remote_addr == source for pair in pairs):
                return
        if first > 127 and isinstance(data, bytes):  # RTP/RTCP (RFC 7983): skip the STUN parse
            self.receiver.data_received(data, self.local_candidate.component)
            return
    _ORIGINAL_DATAGRAM_RECEIVED(self, data, addr)


def _from_nominated(protocol: aioice.ice.StunProtocol, source: tuple[Any, ...]) -> bool:
    """True when ``source`` is the peer of the pair media flows on (the usual case, checked
    first so a media packet does not walk the whole check list)."""
    nominated = getattr(protocol.receiver, "_nominated", None)
    if not nominated:
        return False
    pair = nominated.get(protocol.local_candidate.component)
    return pair is not None and pair.protocol is protocol and pair.remote_addr == source


def guard_datagrams() -> None:
    """Drop empty datagrams, and non-STUN ones from strangers, before aiortc sees them."""
    aioice.ice.StunProtocol.datagram_received = _guarded_datagram_received  # type: ignore[method-assign]


CONSENT_RETRANSMISSIONS = 2
"""Each consent check is sent again up to twice (aioice: never): tries 0.5 s then 1 s apart, and
2 s for the last answer, so a response held up by a busy event loop still counts."""
CONSENT_FAILURES = 6
"""Failed checks in a row (each about 5 s after the last) before a connection is closed: about
50 s without any answer, where aioice's one-try checks give up after 33 s of answers later than
0.5 s."""
_ORIGINAL_QUERY_CONSENT = aioice.ice.Connection.query_consent


async def tolerant_query_consent(connection: aioice.ice.Connection) -> None:
    """aioice's consent freshness loop (RFC 7675), with retries and a log line on closing."""
    assert connection.remote_password is not None
    key = connection.remote_password.encode("utf8")
    failures = 0
    while True:
        interval = float(aioice.ice.CONSENT_INTERVAL)
        await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))
        for pair in list(connection._nominated.values()):
            request = connection.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=key,
                    retransmissions=CONSENT_RETRANSMISSIONS,
                )
                failures = 0
            except aioice.stun.TransactionError:
                failures += 1
            if failures >= CONSENT_FAILURES:
                log.warning(
                    "closing a media connection: %d consent checks in a row got no answer",
                    failures,
                )
                connection._query_consent_task = None  # close() must not cancel this task
                await connection.close()
                return


def tolerant_consent() -> None:
    """Make every ICE connection's consent checks tolerant (process-wide, like aioice's)."""
    aioice.ice.Connection.query_consent = tolerant_query_consent  # type: ignore[assignment]


def consent_problems() -> list[str]:
    problems = []
    source = inspect.getsource(_ORIGINAL_QUERY_CONSENT)
    for needed in (
        "self._nominated.values()",
        "self.build_request(pair, nominate=False)",
        "retransmissions=0",
        "CONSENT_FAILURES",
        "self._query_consent_task = None",
        "self.close()",
    ):
        if needed not in source:
            problems.append(f"aioice Connection.query_consent no longer has {needed}")
    if "self.query_consent()" not in inspect.getsource(aioice.ice.Connection.connect):
        problems.append("aioice Connection.connect no longer starts query_consent")
    return problems


_CONNECT_TASK = "RTCPeerConnection.__connect"


def quiet_failed_connects(loop: asyncio.AbstractEventLoop) -> None:
    """Log a media connection that fails while connecting as one line, not a traceback.

    aiortc starts ``RTCPeerConnection.__connect`` with ``ensure_future`` and never awaits it, so
    an ICE or DTLS failure while connecting (the browser went away, the network dropped) reaches
    the event loop as "Task exception was never retrieved". That is a normal network event.
    """
    default = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        task = context.get("future")
        exc = context.get("exception")
        coro = task.get_coro() if isinstance(task, asyncio.Task) else None
        name = getattr(coro, "__qualname__", "")
        if isinstance(exc, ConnectionError) and name == _CONNECT_TASK:
            log.info("a media connection failed while connecting: %s", exc)
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def connect_problems() -> list[str]:
    """What moved of the internals ``quiet_failed_connects`` relies on."""
    connect = getattr(RTCPeerConnection, "_RTCPeerConnection__connect", None)
    if getattr(connect, "__qualname__", "") != _CONNECT_TASK:
        return ["RTCPeerConnection.__connect is gone (quiet_failed_connects)"]
    return []
