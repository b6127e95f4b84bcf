"""Hostile clients: oversized frames, floods, other meetings' facilitators, removed people."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from .harness import ROOT, MakePeer, ServerProcess, SharedMeeting, running_server


async def test_frames_over_64_kb_close_the_connection(
    server: SharedMeeting, peers: MakePeer
) -> None:
    ana = peers(server.participant, "Ana")
    await ana.join()
    assert ana.ws is not None
    await ana.ws.send_str(json.dumps({"type": "ping", "value": {"pad": "x" * 70_000}}))
    await ana.wait_closed(5)
    assert ana.ws.closed
    # The server is fine, and so is everyone else.
    ben = peers(server.participant, "Ben")
    assert (await ben.join())["type"] == "joined"


async def test_a_flood_is_rate_limited_then_cut_off(server: SharedMeeting, peers: MakePeer) -> None:
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    flood = peers(server.participant, "Flood")
    await flood.join()
    assert flood.ws is not None
    for _ in range(300):
        if flood.ws.closed:
            break
        await flood.ws.send_str(
            json.dumps({"type": "action", "value": {"action": "hand", "raised": True}})
        )
    await flood.wait_closed(10)
    assert flood.ws.closed
    # Cut off for flooding (4429), or for not reading its replies fast enough (its outbox
    # overflowed, 4408): either way the server protected itself.
    assert flood.ws.close_code in (4429, 4408), flood.ws.close_code
    # The facilitator's connection never noticed.
    assert (await sam.action("start"))["type"] == "ok"


async def test_another_meetings_facilitator_has_no_power_here(
    server: SharedMeeting, peers: MakePeer
) -> None:
    body = {"agenda": "quick-check-in"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base}/api/meetings", json=body) as r,
    ):
        other = await r.json()
    # One browser: facilitator of the other meeting, then opens this meeting's link.
    eve = peers(other["facilitator_url"], "Eve")
    await eve.join()
    assert eve.you and eve.you["role"] == "facilitator"
    eve.link = server.participant
    eve.meeting_id = server.meeting_id
    await eve.disconnect()
    eve.ws = None
    await eve.join()
    assert eve.you and eve.you["role"] == "participant"
    for action in ("start", "lock", "end", "make-facilitator"):
        reply = await eve.action(action, person=eve.you["id"])
        assert reply["error"] == "not-allowed"
    # Her key for the other meeting does not open this one either.
    key = other["facilitator_url"].rsplit("key=", 1)[1]
    mallory = peers(f"{server.participant}?key={key}", "Mallory")
    await mallory.join()
    assert mallory.you and mallory.you["role"] == "participant"


async def test_a_removed_person_never_gets_back_in(server: SharedMeeting, peers: MakePeer) -> None:
    sam = peers(server.facilitator, "Sam")
    bob = peers(server.participant, "Bob")
    await sam.join()
    await bob.join()
    await sam.action("remove", person=bob.person_id())
    await bob.wait_for("removed")
    for attempt in range(100):
        if attempt % 2 == 0:  # the same browser, reconnecting
            bob.ws = None
            reply = await bob.join()
            assert reply["error"] == "removed"
        else:  # a brand-new browser with the same link waits in the lobby
            fresh = peers(server.participant, f"Bob {attempt}")
            assert (await fresh.join(expect="lobby"))["type"] == "lobby"
            assert (await fresh.action("chat", text="let me in"))["error"] in (
                "in-lobby",
                "not-joined",
            )
            await fresh.close()
    state = await sam.fresh_state()
    assert [p["name"] for p in state["people"] if p["state"] == "in"] == ["Sam"]


async def test_the_key_never_reaches_participants(server: SharedMeeting, peers: MakePeer) -> None:
    key = server.facilitator.rsplit("key=", 1)[1]
    sam = peers(server.facilitator, "Sam")
    ana = peers(server.participant, "Ana")
    await sam.join()
    await ana.join()
    await sam.action("start")
    await sam.action("make-facilitator", person=ana.person_id())
    await ana.settle()
    assert key not in json.dumps(ana.messages)
    assert key not in json.dumps(sam.messages)
    async with aiohttp.ClientSession() as http, http.get(server.participant) as r:
        assert key not in await r.text()
    assert key not in server.log()


VANISHING_CLIENT = textwrap.dedent(
    """
    import asyncio, sys
    from facilitator.bench.client import ProtocolClient
    async def main(link):
        ghost = ProtocolClient(link, "Ghost")
        await ghost.join()
        print("joined", flush=True)
        await asyncio.sleep(3600)
    asyncio.run(main(sys.argv[1]))
    """
)


@pytest.fixture
def quick_heartbeat_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own that pings every second (not every 8), so the test takes seconds."""
    yield from running_server(tmp_path, extra=["--heartbeat", "1"])


async def test_a_peer_that_vanishes_leaves_the_people_list(
    quick_heartbeat_server: ServerProcess, peers: MakePeer
) -> None:
    server = quick_heartbeat_server
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    ghost = subprocess.Popen(
        [sys.executable, "-c", VANISHING_CLIENT, server.participant],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        assert ghost.stdout is not None
        assert ghost.stdout.readline().strip() == b"joined"
        await sam.fresh_state(lambda s: any(p["name"] == "Ghost" for p in s["people"]))
        ghost.send_signal(signal.SIGSTOP)  # frozen: the socket stays open, nothing answers
        await sam.fresh_state(lambda s: all(p["name"] != "Ghost" for p in s["people"]), timeout=20)
    finally:
        ghost.kill()
        ghost.wait()
