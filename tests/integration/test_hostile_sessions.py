"""Sessions a stranger cannot abuse (issue 17): invented tokens, the facilitator link's page
views, strangers knocking in rounds, and tokens that change whenever a role does."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from http.cookies import SimpleCookie

import aiohttp
import pytest
from yarl import URL

from .harness import MakePeer, Peer, ServerProcess
from .test_hostile_meetings import DB_NAME, closed, cookie_of, new_meeting, session_rows


@pytest.fixture
def server(own_server: ServerProcess) -> ServerProcess:
    """These tests read their server's session rows: each gets one of its own."""
    return own_server


def rows(server: ServerProcess) -> list[tuple[str, int, int, str]]:
    """Every session row: (person id, facilitator, joined, role)."""
    with sqlite3.connect(server.data / DB_NAME) as db:
        found = db.execute("SELECT person_id, facilitator, joined, role FROM sessions")
        return [(str(p), int(f), int(j), str(r)) for p, f, j, r in found.fetchall()]


def session_morsel(meeting_id: str, token: str) -> SimpleCookie:
    """A session cookie as the server sets it (path ``/m/<id>``), holding ``token``."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[f"fs_{meeting_id}"] = token
    cookie[f"fs_{meeting_id}"]["path"] = f"/m/{meeting_id}"
    return cookie


async def join_with(peer: Peer, token: str, name: str) -> dict[str, object]:
    """Open a WebSocket with ``token`` as the session cookie and join; the first reply."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        jar.update_cookies(session_morsel(peer.meeting_id, token), URL(peer.link))
        ws = await http.ws_connect(
            f"{peer.origin}/m/{peer.meeting_id}/ws", headers={"Origin": peer.origin}
        )
        await ws.send_str(json.dumps({"type": "join", "id": 1, "value": {"name": name}}))
        reply: dict[str, object] = await ws.receive_json(timeout=5)
        if reply.get("error") == "no-session":
            assert await closed(ws) == 4401
        await ws.close()
        return reply


async def test_invented_tokens_are_not_sessions(server: ServerProcess, peers: MakePeer) -> None:
    ana = peers(server.participant, "Ana")
    await ana.join()
    # A token of the right shape that this server never handed out gets nobody in: every
    # new browser costs a page load (rate-limited), not a made-up cookie.
    for invented in ("A" * 43, "B" * 65, cookie_of(ana)[:-1] + "x"):
        reply = await join_with(ana, invented, "Mallory")
        assert reply["type"] == "error" and reply["error"] == "no-session", invented
    assert len(rows(server)) == 1
    # A page load with such a cookie hands out a real one.
    stranger = peers(server.participant, "Stranger")
    stranger.jar.update_cookies(session_morsel(ana.meeting_id, "C" * 65), URL(ana.link))
    assert (await stranger.join())["type"] == "joined"
    assert cookie_of(stranger) != "C" * 65


async def test_facilitator_link_views_are_kept_only_when_they_join(
    server: ServerProcess, peers: MakePeer
) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(20):  # a stranger with the key, as new browsers: a row each
            async with http.get(server.facilitator) as r:
                assert r.status == 200
            http.cookie_jar.clear()
    # They are stored as not joined, so they go after a day (tests/test_store_contract.py).
    assert {(f, j) for _, f, j, _ in rows(server)} == {(1, 0)}
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    assert [(f, j) for p, f, j, _ in rows(server) if p == sam.person_id()] == [(1, 1)]

    # Whoever creates a meeting on the landing page gets its facilitator session with it,
    # kept as long as its cookie: coming back days later (the key long gone from the address
    # bar) still finds them a facilitator.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        form = {"agenda": "quick-check-in", "title": "Mine"}
        async with http.post(f"{server.base}/meetings", data=form) as r:
            assert r.status == 200
            facilitator_url = (await r.text()).split('id="facilitator-url"', 1)[1]
        meeting_id = facilitator_url.split("/m/", 1)[1].split("?", 1)[0]
        mine = [c for c in jar if c.key == f"fs_{meeting_id}"]
        assert len(mine) == 1 and mine[0]["path"] == f"/m/{meeting_id}"
    before = len(rows(server))
    host = peers(f"{server.base}/m/{meeting_id}", "Host")  # the address bar without the key
    host.jar.update_cookies({mine[0].key: mine[0]}, response_url=URL(host.link))
    reply = await host.join()
    assert reply["value"]["you"]["role"] == "facilitator" and reply["value"]["you"]["creator"]
    assert len(rows(server)) == before


async def test_strangers_knocking_in_rounds_do_not_lock_out_invited_people(
    server: ServerProcess, peers: MakePeer
) -> None:
    links = await new_meeting(server, max_people=2, lobby=True)  # remembers 40 people
    host = peers(links["facilitator_url"], "Host")
    await host.join()
    for i in range(60):  # knock with a fresh browser, go, again
        stranger = Peer(links["participant_url"], f"Stranger {i}")
        try:
            reply = await stranger.join(expect="lobby")
            assert reply["type"] == "lobby", reply
        finally:
            await stranger.close()
        await host.fresh_state(lambda s: s["meeting"]["lobby_waiting"] == 0)
    ivy = peers(links["participant_url"], "Ivy")
    assert (await ivy.join(expect="lobby"))["type"] == "lobby"
    state = await host.fresh_state(lambda s: any(p["name"] == "Ivy" for p in s["people"]))
    ivy_id = next(p["id"] for p in state["people"] if p["name"] == "Ivy")
    assert (await host.action("admit", person=ivy_id))["type"] == "ok"
    await ivy.wait_for("joined")
    # The strangers who were forgotten took their session rows with them.
    assert session_rows(server) <= 40


async def test_a_role_change_in_the_room_replaces_the_token(
    server: ServerProcess, peers: MakePeer
) -> None:
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    ana = peers(server.participant, "Ana")
    await ana.join()
    first = cookie_of(ana)
    assert (await sam.action("make-facilitator", person=ana.person_id()))["type"] == "ok"
    # Ana's page is closed (4411) and reconnects; the handshake brings the new cookie.
    await ana.fresh_state(lambda s: s["you"]["role"] == "facilitator")
    promoted = cookie_of(ana)
    assert promoted != first
    assert (await join_with(ana, first, "Old"))["error"] == "no-session"
    assert (await ana.action("start"))["type"] == "ok"
    assert [(r, f) for p, f, _, r in rows(server) if p == ana.person_id()] == [("facilitator", 0)]

    # Stepping down replaces the token too, and a reconnect does not make the creator a
    # facilitator again; the facilitator link does.
    sam_first = cookie_of(sam)
    assert (await sam.action("step-down"))["type"] == "ok"
    await sam.fresh_state(lambda s: s["you"]["role"] == "participant")
    assert cookie_of(sam) != sam_first
    await sam.disconnect()
    sam.ws = None
    sam.link = sam.link.split("?", 1)[0]
    assert (await sam.join())["value"]["you"]["role"] == "participant"
    assert (await sam.action("pause"))["error"] == "not-allowed"
    await sam.disconnect()
    sam.ws = None
    sam.link = server.facilitator
    assert (await sam.join())["value"]["you"]["role"] == "facilitator"

    # Made a participant again: a new token once more.
    assert (await sam.action("make-participant", person=ana.person_id()))["type"] == "ok"
    await ana.fresh_state(lambda s: s["you"]["role"] == "participant")
    assert cookie_of(ana) not in (first, promoted)
    reply = await join_with(ana, promoted, "Old")
    assert reply.get("error") == "no-session", reply
    await asyncio.sleep(0.2)
    assert "Traceback" not in server.log()
