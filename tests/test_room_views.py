"""State messages for a crowd: the shared part is built once per change, not once per person."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from aiohttp import web

from facilitator.domain.agenda import parse_agenda
from facilitator.domain.meeting import Meeting
from facilitator.server import protocol
from facilitator.server.rooms import Client, Room
from facilitator.server.views import STATE_PREFIX, join_objects
from facilitator.store import Session

from .conftest import FakeClock

AGENDA = "title: Crowd\nitems:\n  - title: Talk\n    duration: 1h\n"


class FakeSocket:
    """What a Client uses of a WebSocket: texts sent, and whether it is closed."""

    def __init__(self) -> None:
        self.closed = False
        self.sent: list[str] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(text)

    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in map(json.loads, self.sent) if m["type"] == "state"]


def crowd_room(t: FakeClock, people: int) -> tuple[Room, list[Client]]:
    agenda, errors = parse_agenda(AGENDA, "crowd.yaml", {})
    assert errors == [] and agenda is not None
    meeting = Meeting("m1", agenda, {}, created_at=t.t, max_people=people + 1)
    room = Room(meeting, "hash", now=lambda: t.t)
    roles = ["facilitator"] + ["participant"] * people
    clients = []
    for i, role in enumerate(roles):
        meeting.arrive(f"p{i}", f"Person {i}", role, t.t)
        session = Session(f"token{i}", "m1", f"p{i}", role == "facilitator")
        client = Client(cast(web.WebSocketResponse, FakeSocket()), session)
        client.joined = True
        room.clients.add(client)
        clients.append(client)
    return room, clients


def expected(room: Room, person_id: str) -> dict[str, Any]:
    view = room.meeting.view(person_id, room.now())
    view["meeting"]["storage_ok"] = room.storage.ok
    return view


def test_a_crowd_costs_one_shared_build_per_role_and_change(fake_clock: FakeClock) -> None:
    room, clients = crowd_room(fake_clock, 60)
    for client in clients:
        text = room.render(client)
        assert text is not None
        assert json.loads(text) == {"type": "state", "value": expected(room, client.person_id)}
    assert room.views.builds == 2  # participants' and facilitators' shared part, once each
    room.meeting.act("p0", "start", {}, fake_clock.advance(1))
    room.meeting.act("p5", "hand", {"raised": True}, fake_clock.advance(1))
    room.changed()
    texts = [room.render(c) for c in clients]
    assert room.views.builds == 4
    host = json.loads(texts[0] or "")["value"]
    guest = json.loads(texts[5] or "")["value"]
    assert host == expected(room, "p0") and guest == expected(room, "p5")
    assert host["you"]["role"] == "facilitator" and "lobby_waiting" in host["meeting"]
    assert guest["you"]["hand"] is not None and "lobby_waiting" not in guest["meeting"]
    assert guest["clock"]["status"] == "running"


def test_a_burst_of_changes_gives_each_connection_one_state(fake_clock: FakeClock) -> None:
    async def run() -> tuple[Room, list[Client]]:
        room, clients = crowd_room(fake_clock, 40)
        pumps = [asyncio.create_task(c.pump(room.render)) for c in clients]
        await asyncio.sleep(0.01)
        before = room.views.builds
        # Ten people raise their hands within one turn of the event loop: one broadcast.
        for i in range(1, 11):
            room.meeting.act(f"p{i}", "hand", {"raised": True}, fake_clock.advance(0.01))
            room.changed()
        await asyncio.sleep(0.01)
        assert room.views.builds - before == 2
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        return room, clients

    room, clients = asyncio.run(run())
    for client in clients:
        states = cast(FakeSocket, client.ws).states()
        assert len(states) == 1
        assert states[0] == expected(room, client.person_id)
        assert len([p for p in states[0]["people"] if p["hand"] is not None]) == 10


def test_a_shared_part_is_built_again_after_a_second(fake_clock: FakeClock) -> None:
    room, clients = crowd_room(fake_clock, 3)
    first = json.loads(room.render(clients[1]) or "")["value"]
    fake_clock.advance(0.5)
    assert json.loads(room.render(clients[2]) or "")["value"]["server_time"] == first["server_time"]
    fake_clock.advance(0.6)
    later = json.loads(room.render(clients[2]) or "")["value"]
    assert later["server_time"] == fake_clock.t and later == expected(room, "p2")
    assert room.views.builds == 2


def test_state_texts_are_joined_like_protocol_encode_writes_them() -> None:
    assert protocol.encode("state", {"a": 1}).startswith(STATE_PREFIX)
    assert json.loads(join_objects('{"a":1}', '{"b":[2]}')) == {"a": 1, "b": [2]}
    assert join_objects("{}", '{"b":2}') == '{"b":2}'
    assert join_objects('{"a":1}', "{}") == '{"a":1}'
