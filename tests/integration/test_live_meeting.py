"""A live meeting over real WebSockets: joining, controls, roles, lobby, lock and removal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from facilitator.domain.meeting import FACILITATORS

from .harness import MakePeer, SharedMeeting, trio

ARGS: dict[str, dict[str, Any]] = {
    "go-to-item": {"index": 2},
    "extend-item": {"seconds": 60},
    "extend-call": {"seconds": 300},
    "extend-speaker": {"seconds": 30},
}


def comparable(state: dict[str, Any]) -> str:
    """A state without the fields that change with time or with the viewer."""
    data = dict(state)
    data.pop("server_time")
    data["clock"] = {
        k: v for k, v in data["clock"].items() if k not in ("planned_end", "projected_end")
    }
    data["agenda"] = [{k: v for k, v in row.items() if k != "elapsed"} for row in data["agenda"]]
    return json.dumps(data, sort_keys=True)


async def test_everyone_sees_everyone_and_roles_come_from_the_link(
    server: SharedMeeting, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(server, peers)
    await ben.fresh_state(lambda s: len(s["people"]) == 3)
    people = {p["name"]: p for p in ben.state()["people"]}
    assert people["Sam"]["role"] == "facilitator"
    assert people["Ana"]["role"] == people["Ben"]["role"] == "participant"
    assert sam.you and sam.you["role"] == "facilitator"
    # Notes are for facilitators only.
    assert "notes" in sam.state()["agenda"][0]
    assert "notes" not in ana.state()["agenda"][0]


async def test_the_facilitator_runs_the_agenda_and_everyone_follows(
    server: SharedMeeting, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(server, peers)
    assert (await sam.action("start"))["type"] == "ok"
    state = await ana.fresh_state(lambda s: s["clock"]["status"] == "running")
    assert state["clock"]["index"] == 0
    assert state["clock"]["meeting"]["deadline"] is not None
    assert (await sam.action("next-item"))["type"] == "ok"
    for peer in (ana, ben):
        state = await peer.fresh_state(lambda s: s["clock"]["index"] == 1)
        assert state["agenda"][1]["state"] == "current"
        card = state["icebreaker"]
        assert card["title"] == "Name game"
        assert card["speaker"] in {p["id"] for p in state["people"]}
        assert card["prompt"]
        assert state["clock"]["speaker"]["given"] == 30
    # Pause freezes, resume carries on.
    assert (await sam.action("pause"))["type"] == "ok"
    paused = await ana.fresh_state(lambda s: s["clock"]["status"] == "paused")
    assert paused["clock"]["item"]["deadline"] is None
    assert (await sam.action("resume"))["type"] == "ok"
    await ana.fresh_state(lambda s: s["clock"]["status"] == "running")
    before = (await ana.fresh_state())["clock"]["item"]["deadline"]
    assert (await sam.action("extend-item", seconds=60))["type"] == "ok"
    later = await ana.fresh_state(lambda s: s["clock"]["item"]["deadline"] != before)
    assert later["clock"]["item"]["deadline"] == pytest.approx(before + 60, abs=0.01)
    # Speakers: next, skip, back, reshuffle.
    first = later["icebreaker"]["speaker"]
    assert (await sam.action("next-speaker"))["type"] == "ok"
    state = await ana.fresh_state(lambda s: s["icebreaker"]["speaker"] != first)
    assert first in state["icebreaker"]["spoken"]
    assert (await sam.action("previous-speaker"))["type"] == "ok"
    await ana.fresh_state(lambda s: s["icebreaker"]["speaker"] == first)
    assert (await sam.action("skip-speaker"))["type"] == "ok"
    assert (await sam.action("reshuffle"))["type"] == "ok"
    assert (await sam.action("previous-item"))["type"] == "ok"
    await ben.fresh_state(lambda s: s["clock"]["index"] == 0 and s["icebreaker"] is None)
    assert (await sam.action("go-to-item", index=4))["type"] == "ok"
    state = await ben.fresh_state(lambda s: s["clock"]["index"] == 4)
    assert state["icebreaker"]["title"] == "Quick history"
    assert (await sam.action("end"))["type"] == "ok"
    await ana.wait_for("ended")
    await ben.fresh_state(lambda s: s["clock"]["status"] == "ended")
    # After the end people can still say goodbye, but nobody can run the agenda.
    assert (await sam.action("next-item"))["error"] == "meeting-ended"
    assert (await ana.action("chat", text="Thanks all!"))["type"] == "ok"


async def test_participants_cannot_use_facilitator_actions(
    server: SharedMeeting, peers: MakePeer
) -> None:
    sam, ana, _ben = await trio(server, peers)
    await sam.action("start")
    await sam.action("next-item")
    await ana.settle()
    before = comparable(ana.state())
    for action in FACILITATORS:
        args = dict(ARGS.get(action, {}), person=sam.person_id(), role="facilitator", key="x")
        reply = await ana.action(action, **args)
        assert reply["type"] == "error" and reply["error"] == "not-allowed", action
    await ana.settle()
    assert comparable(ana.state()) == before
    people = {p["name"]: p for p in sam.state()["people"]}
    assert people["Ana"]["role"] == "participant"
    assert people["Sam"]["muted"] is False
    assert "refused" in server.log()


async def test_a_wrong_key_gives_no_powers(server: SharedMeeting, peers: MakePeer) -> None:
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    wrong = server.facilitator[:-4] + "AAAA"
    mallory = peers(wrong, "Mallory")
    await mallory.join()
    assert mallory.you and mallory.you["role"] == "participant"
    assert (await mallory.action("start"))["error"] == "not-allowed"
    assert (await mallory.action("lock"))["error"] == "not-allowed"
    # A join message cannot claim a role or someone else's identity.
    eve = peers(server.participant, "Eve")
    await eve.open_page()
    await eve.connect()
    reply = await eve.request(
        "join",
        {"name": "Eve", "role": "facilitator", "id": sam.person_id(), "person": sam.person_id()},
        want=("joined", "error"),
    )
    assert reply["value"]["you"]["role"] == "participant"
    assert reply["value"]["you"]["id"] != sam.person_id()
    assert (await eve.action("end"))["error"] == "not-allowed"


async def test_chat_hands_and_pass(server: SharedMeeting, peers: MakePeer) -> None:
    sam, ana, ben = await trio(server, peers)
    assert (await ana.action("chat", text="<b>hi</b> http://example.org"))["type"] == "ok"
    message = await ben.wait_for("chat")
    assert message["value"]["text"] == "<b>hi</b> http://example.org"
    assert message["value"]["name"] == "Ana"
    assert (await ben.action("hand", raised=True))["type"] == "ok"
    await asyncio.sleep(0.01)
    assert (await ana.action("hand", raised=True))["type"] == "ok"
    state = await sam.fresh_state(lambda s: sum(1 for p in s["people"] if p["hand"]) == 2)
    hands = sorted((p for p in state["people"] if p["hand"]), key=lambda p: p["hand"])
    assert [p["name"] for p in hands] == ["Ben", "Ana"]
    # Late joiners get the chat history.
    cat = peers(server.participant, "Cat")
    await cat.join()
    history = await cat.wait_for("chat-history")
    assert [m["text"] for m in history["value"]["messages"]] == ["<b>hi</b> http://example.org"]
    # Only the current speaker can pass.
    await sam.action("start")
    await sam.action("next-item")
    state = await ana.fresh_state(lambda s: s["icebreaker"] is not None)
    speaker = state["icebreaker"]["speaker"]
    by_id = {p.person_id(): p for p in (sam, ana, ben, cat)}
    others = [p for pid, p in by_id.items() if pid != speaker]
    assert (await others[0].action("pass"))["error"] == "not-your-turn"
    assert (await by_id[speaker].action("pass"))["type"] == "ok"
    state = await ana.fresh_state(lambda s: s["icebreaker"]["speaker"] != speaker)
    assert state["icebreaker"]["not_yet_spoken"][-1] == speaker


async def test_lobby_lock_and_full_room(server: SharedMeeting, peers: MakePeer) -> None:
    async with aiohttp.ClientSession() as http:
        body = {"agenda": "quick-check-in", "lobby": True, "max_people": 3}
        async with http.post(f"{server.base}/api/meetings", json=body) as response:
            assert response.status == 201
            links = await response.json()
    host = peers(links["facilitator_url"], "Host")
    await host.join()
    guest = peers(links["participant_url"], "Guest")
    reply = await guest.join(expect="lobby")
    assert reply["type"] == "lobby"
    state = await host.fresh_state(lambda s: any(p["state"] == "lobby" for p in s["people"]))
    waiting = next(p for p in state["people"] if p["state"] == "lobby")
    assert waiting["name"] == "Guest"
    assert (await guest.action("chat", text="let me in"))["error"] == "in-lobby"
    # Another facilitator arriving does not let anyone in by itself.
    co = peers(links["facilitator_url"], "Co-host")
    await co.join()
    await guest.settle()
    assert not [m for m in guest.messages if m["type"] == "admitted"]
    assert (await host.action("admit", person=waiting["id"]))["type"] == "ok"
    await guest.wait_for("admitted")
    await guest.wait_for("joined")
    await guest.fresh_state(lambda s: s["you"]["state"] == "in")
    # The room holds three: a fourth is turned away.
    late = peers(links["participant_url"], "Late")
    reply = await late.join()
    assert reply["error"] == "room-full"
    # Locked: nobody new, but people already in can reconnect.
    await host.action("lobby-off")
    await guest.disconnect()
    assert (await host.action("lock"))["type"] == "ok"
    guest.ws = None
    assert (await guest.join())["type"] == "joined"
    newcomer = peers(links["participant_url"], "New")
    await co.close()
    reply = await newcomer.join()
    assert reply["error"] == "room-locked"
    assert (await host.action("unlock"))["type"] == "ok"
    newcomer2 = peers(links["participant_url"], "New2")
    assert (await newcomer2.join())["type"] == "joined"


async def test_removed_people_stay_out(server: SharedMeeting, peers: MakePeer) -> None:
    sam, ana, ben = await trio(server, peers)
    assert (await sam.action("remove", person=ben.person_id()))["type"] == "ok"
    await ben.wait_for("removed")
    assert ben.ws is not None
    await ben.wait_closed(5)
    assert ben.ws.closed
    state = await ana.fresh_state(lambda s: all(p["name"] != "Ben" for p in s["people"]))
    assert state["meeting"]["lobby"] is True
    # Same browser (same cookie), reconnecting: refused.
    for _ in range(5):
        ben.ws = None
        reply = await ben.join()
        assert reply["type"] == "error" and reply["error"] == "removed"
    # A fresh browser lands in the lobby: the facilitator decides.
    again = peers(server.participant, "Ben again")
    assert (await again.join(expect="lobby"))["type"] == "lobby"


async def test_mute_and_facilitator_handover(server: SharedMeeting, peers: MakePeer) -> None:
    sam, ana, ben = await trio(server, peers)
    assert (await sam.action("mute", person=ana.person_id()))["type"] == "ok"
    await ana.wait_for("muted")
    state = await ana.fresh_state(lambda s: s["you"]["muted"])
    assert state["you"]["muted"] is True
    assert (await ana.action("unmute-self"))["error"] == "muted-by-facilitator"
    assert (await sam.action("unmute", person=ana.person_id()))["type"] == "ok"
    await ana.wait_for("unmuted")
    assert (await sam.action("make-facilitator", person=ben.person_id()))["type"] == "ok"
    await ben.fresh_state(lambda s: s["you"]["role"] == "facilitator")
    assert (await ben.action("start"))["type"] == "ok"
    assert (await sam.action("step-down"))["type"] == "ok"
    await sam.fresh_state(lambda s: s["you"]["role"] == "participant")
    assert (await sam.action("pause"))["error"] == "not-allowed"


async def test_reconnect_keeps_the_person(server: SharedMeeting, peers: MakePeer) -> None:
    sam, ana, _ = await trio(server, peers)
    first_id = ana.person_id()
    await ana.action("hand", raised=True)
    await ana.disconnect()
    await sam.fresh_state(lambda s: all(p["name"] != "Ana" for p in s["people"]))
    ana.ws = None
    ana.messages.clear()
    assert (await ana.join())["type"] == "joined"
    assert ana.person_id() == first_id
    state = await sam.fresh_state(lambda s: any(p["name"] == "Ana" for p in s["people"]))
    assert next(p for p in state["people"] if p["name"] == "Ana")["hand"] is not None


async def test_bad_messages_get_errors_and_the_connection_survives(
    server: SharedMeeting, peers: MakePeer
) -> None:
    ana = peers(server.participant, "Ana")
    await ana.join()
    assert ana.ws is not None
    await ana.ws.send_str("{not json")
    assert (await ana.wait_for("error"))["error"] == "bad-json"
    await ana.send("teleport", {})
    await ana.wait_for("error", where=lambda m: m["error"] == "unknown-type")
    assert (await ana.action("fly"))["error"] == "unknown-action"
    assert (await ana.action("hand", raised="yes"))["error"] == "bad-request"
    await ana.send("action", [1, 2, 3])
    await ana.wait_for("error", where=lambda m: m["error"] == "bad-message")
    reply = await ana.ping(123.5)
    assert reply["value"]["t"] == 123.5 and reply["value"]["server_time"] > 1e9


async def test_foreign_origin_is_refused(server: SharedMeeting) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{server.base}/m/{server.meeting_id}/ws"
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect(url, headers={"Origin": "https://evil.example"})
        assert caught.value.status == 403
