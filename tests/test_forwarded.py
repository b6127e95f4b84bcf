"""What a worker believes from the front, and how meetings are spread over workers."""

from __future__ import annotations

from unittest import mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from facilitator.server.forwarded import (
    address_worker,
    from_loopback,
    meeting_in_path,
    owner_of,
    trust_front,
)


def request_from(address: str, headers: dict[str, str]) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (address, 40000) if name == "peername" else default
    )
    return make_mocked_request("GET", "/", headers=headers, transport=transport)


async def seen_by_worker(address: str, headers: dict[str, str]) -> tuple[str | None, bool]:
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return web.Response()

    await trust_front(request_from(address, headers), handler)
    return seen[0].remote, seen[0].secure


async def test_forwarded_headers_count_only_from_loopback() -> None:
    front = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert await seen_by_worker("127.0.0.1", front) == ("203.0.113.9", True)
    assert await seen_by_worker("::1", front) == ("203.0.113.9", True)
    # Anyone else claiming to be someone is not believed.
    assert await seen_by_worker("198.51.100.7", front) == ("198.51.100.7", False)
    assert await seen_by_worker("127.0.0.1", {}) == ("127.0.0.1", False)
    odd = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "gopher"}
    assert await seen_by_worker("127.0.0.1", odd) == ("203.0.113.9", False)


def test_loopback_addresses() -> None:
    assert from_loopback("127.0.0.1") and from_loopback("127.8.9.10") and from_loopback("::1")
    assert not from_loopback("10.0.0.1") and not from_loopback(None)
    assert not from_loopback("not an address")


def test_owners_are_stable_and_spread() -> None:
    ids = [f"meeting-{n}" for n in range(400)]
    owners = [owner_of(i, 4) for i in ids]
    assert owners == [owner_of(i, 4) for i in ids]  # the same answer every time, every process
    counts = [owners.count(w) for w in range(4)]
    assert min(counts) > 60  # roughly even: 100 each expected
    assert all(owner_of(i, 1) == 0 for i in ids)
    # One IPv6 /64 is one client: it always goes to the same worker.
    assert address_worker("2001:db8::1", 4) == address_worker("2001:db8::ffff", 4)


def test_meeting_ids_in_paths() -> None:
    assert meeting_in_path("/m/abc") == "abc"
    assert meeting_in_path("/m/abc/ws") == "abc"
    assert meeting_in_path("/m/abc/notes/p_1") == "abc"
    assert meeting_in_path("/m/") is None
    assert meeting_in_path("/static/room.js") is None
    assert meeting_in_path("/api/meetings") is None
