"""The room's server-side rules over real WebSockets: reactions, screen share, co-hosting that
holds, hands, "mute everyone", `visible` reports, and the "meeting is ready" redirect."""

from __future__ import annotations

import asyncio

import aiohttp

from facilitator.server.keys import first_shareable

from .harness import MakePeer, ServerProcess, trio


async def test_reactions_reach_everyone_and_are_rate_limited(
    server: ServerProcess, peers: MakePeer
) -> None:
    _sam, ana, ben = await trio(server, peers)
    await ben.settle()
    states_before = sum(1 for m in ben.messages if m["type"] == "state")
    assert (await ana.action("react", reaction="applause"))["type"] == "ok"
    got = await ben.wait_for("reaction")
    assert got["value"]["person"] == ana.person_id()
    assert got["value"]["reaction"] == "applause"
    assert (await ana.action("react", reaction="fireworks"))["error"] == "bad-request"
    # A burst of three, then about one a second.
    replies = [await ana.action("react", reaction="heart") for _ in range(4)]
    assert [r["type"] for r in replies].count("error") >= 1
    assert replies[-1]["error"] == "rate-limited"
    await ben.settle()
    # Reactions are passed on; nobody gets a new state for them.
    assert sum(1 for m in ben.messages if m["type"] == "state") == states_before
    await asyncio.sleep(1.1)
    assert (await ana.action("react", reaction="laugh"))["type"] == "ok"


async def test_one_screen_share_at_a_time(server: ServerProcess, peers: MakePeer) -> None:
    sam, ana, ben = await trio(server, peers)
    assert (await ana.action("share-start"))["type"] == "ok"
    state = await ben.fresh_state(lambda s: s["meeting"]["sharing"] is not None)
    assert state["meeting"]["sharing"] == ana.person_id()
    refused = await ben.action("share-start")
    assert refused["error"] == "already-sharing" and "Ana" in refused["message"]
    # Ben cannot stop Ana's share; a facilitator can.
    assert (await ben.action("stop-share", person=ana.person_id()))["error"] == "not-allowed"
    assert (await sam.action("stop-share", person=ana.person_id()))["type"] == "ok"
    await ben.fresh_state(lambda s: s["meeting"]["sharing"] is None)
    assert (await ben.action("share-start"))["type"] == "ok"
    assert (await ben.action("share-stop"))["type"] == "ok"
    await sam.fresh_state(lambda s: s["meeting"]["sharing"] is None)
    # Leaving ends your share.
    assert (await ben.action("share-start"))["type"] == "ok"
    await ben.disconnect()
    await sam.fresh_state(lambda s: s["meeting"]["sharing"] is None)


async def test_the_creator_cannot_be_removed_or_demoted(
    own_server: ServerProcess, peers: MakePeer
) -> None:
    server = own_server  # restarted below
    sam, ana, ben = await trio(server, peers)
    assert sam.you and sam.you["creator"] is True
    assert ana.you and ana.you["creator"] is False
    assert (await sam.action("make-facilitator", person=ana.person_id()))["type"] == "ok"
    await ana.fresh_state(lambda s: s["you"]["role"] == "facilitator")
    for action in ("remove", "make-participant"):
        reply = await ana.action(action, person=sam.person_id())
        assert reply["error"] == "not-allowed", action
    people = {p["name"]: p for p in (await sam.fresh_state())["people"]}
    assert people["Sam"]["role"] == "facilitator" and people["Sam"]["creator"] is True
    # The creator can make Ana a participant again; she can no longer do facilitator things.
    assert (await sam.action("make-participant", person=ana.person_id()))["type"] == "ok"
    await ana.fresh_state(lambda s: s["you"]["role"] == "participant")
    assert (await ana.action("start"))["error"] == "not-allowed"
    # Stepping down needs another facilitator; the creator's mark survives a restart.
    assert (await sam.action("step-down"))["error"] == "last-facilitator"
    await asyncio.sleep(0.3)
    server.kill()
    server.restart()
    for peer in (sam, ana, ben):
        await peer.disconnect()
        peer.ws = None
        assert (await peer.join())["type"] == "joined"
    assert sam.you and sam.you["creator"] is True
    assert (await sam.action("make-facilitator", person=ben.person_id()))["type"] == "ok"
    await ben.fresh_state(lambda s: s["you"]["role"] == "facilitator")
    assert (await ben.action("remove", person=sam.person_id()))["error"] == "not-allowed"


async def test_hands_and_mute_everyone(server: ServerProcess, peers: MakePeer) -> None:
    sam, ana, ben = await trio(server, peers)
    for peer in (sam, ana, ben):
        assert (await peer.action("hand", raised=True))["type"] == "ok"
    assert (await ana.action("lower-hand", person=ben.person_id()))["error"] == "not-allowed"
    assert (await sam.action("lower-hand", person=ben.person_id()))["type"] == "ok"
    state = await sam.fresh_state(lambda s: sum(p["hand"] is not None for p in s["people"]) == 2)
    assert {p["name"] for p in state["people"] if p["hand"] is not None} == {"Sam", "Ana"}
    assert (await sam.action("lower-all-hands"))["type"] == "ok"
    await sam.fresh_state(lambda s: all(p["hand"] is None for p in s["people"]))
    assert (await sam.action("mute-all"))["type"] == "ok"
    for peer in (ana, ben):
        assert (await peer.wait_for("muted"))["value"]["by"] == "Sam"
    state = await sam.fresh_state(lambda s: sum(p["muted"] for p in s["people"]) == 2)
    assert {p["name"]: p["muted"] for p in state["people"]} == {
        "Sam": False,
        "Ana": True,
        "Ben": True,
    }
    assert (await ana.action("unmute-self"))["error"] == "muted-by-facilitator"


async def test_visible_reports_are_checked_and_rate_limited(
    server: ServerProcess, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(server, peers)
    ok = await ana.request("visible", {"people": [sam.person_id(), ben.person_id()]})
    assert ok["type"] == "ok"
    assert (await ana.request("visible", {"people": []}))["type"] == "ok"  # a hidden tab
    for bad in ({"people": "all"}, {"people": [1, 2]}, {"people": ["x" * 65]}, {}):
        assert (await ana.request("visible", bad))["error"] == "bad-request", bad
    too_many = {"people": [f"p_{i}" for i in range(101)]}
    assert (await ana.request("visible", too_many))["error"] == "bad-request"
    replies = [(await ana.request("visible", {"people": []}))["type"] for _ in range(10)]
    assert "error" in replies
    assert (await ana.request("visible", {"people": []}))["error"] == "rate-limited"


async def test_the_created_page_is_a_redirect_only_its_creator_can_read(
    server: ServerProcess,
) -> None:
    form = {"agenda": "quick-check-in", "title": "Reload me"}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.post(f"{server.base}/meetings", data=form, allow_redirects=False) as r:
            assert r.status == 303
            where = r.headers["Location"]
        assert where.startswith("/meetings/") and "key" not in where
        for _ in range(2):  # reloading shows the same links, and creates nothing
            async with http.get(server.base + where) as r:
                assert r.status == 200
                html = await r.text()
            assert "Reload me" in html and "?key=" in html
        async with http.get(f"{server.base}/api/agendas") as r:
            assert r.status == 200
    # Another browser (no cookie) gets nothing.
    async with aiohttp.ClientSession() as other, other.get(server.base + where) as r:
        assert r.status == 404
        assert "?key=" not in await r.text()


def test_links_name_an_address_others_can_open() -> None:
    assert first_shareable(["127.0.0.1", "::1", "fe80::1%eth0", "192.168.1.20"]) == "192.168.1.20"
    assert first_shareable(["127.0.1.1", "0.0.0.0"]) is None
    assert first_shareable(["not an address", "2001:db8::5"]) == "2001:db8::5"
