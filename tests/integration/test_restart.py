"""Kill the server mid-meeting and start it again: the meeting carries on where it was."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from .harness import MakePeer, ServerProcess, trio


def item_left(state: dict[str, object], now: float) -> float:
    clock = state["clock"]
    assert isinstance(clock, dict)
    item = clock["item"]
    return float(item["deadline"] - now if item["deadline"] is not None else item["remaining"])


async def test_sigkill_and_restart_restores_everything(
    own_server: ServerProcess, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(own_server, peers)
    await sam.action("start")
    await sam.action("next-item")
    await sam.action("next-item")
    await sam.action("extend-item", seconds=120)
    await ana.action("chat", text="see you after the restart")
    await sam.action("make-facilitator", person=ana.person_id())
    await sam.action("remove", person=ben.person_id())
    await sam.action("lock")
    before = await sam.fresh_state(lambda s: s["meeting"]["locked"])
    deadline = before["clock"]["item"]["deadline"]
    await asyncio.sleep(0.4)  # the saver runs every 0.1 s
    own_server.kill()
    await asyncio.sleep(1.5)  # downtime
    own_server.restart()
    for peer in (sam, ana):
        peer.ws = None
        peer.messages.clear()
        assert (await peer.join())["type"] == "joined"
    state = await sam.fresh_state(lambda s: len(s["people"]) == 2)
    assert state["clock"]["status"] == "running"
    assert state["clock"]["index"] == 2
    assert state["meeting"]["locked"] is True
    # Deadlines are absolute: the downtime counted as elapsed time.
    assert state["clock"]["item"]["deadline"] == deadline
    assert abs(item_left(state, time.time()) - (deadline - time.time())) < 1
    roles = {p["name"]: p["role"] for p in state["people"]}
    assert roles == {"Sam": "facilitator", "Ana": "facilitator"}
    history = await ana.wait_for("chat-history")
    assert [m["text"] for m in history["value"]["messages"]] == ["see you after the restart"]
    ben.ws = None
    assert (await ben.join())["error"] == "removed"
    assert state["icebreaker"] is not None and state["icebreaker"]["title"] == "Funny questions"
    # The key is stored only as a hash.
    db = sqlite3.connect(own_server.data / "facilitator.sqlite3")
    dump = "\n".join(db.iterdump())
    db.close()
    key = own_server.facilitator.rsplit("key=", 1)[1]
    assert key not in dump
    assert key not in own_server.log()


async def test_sigterm_tells_clients_and_exits_quickly(
    own_server: ServerProcess, peers: MakePeer
) -> None:
    ana = peers(own_server.participant, "Ana")
    await ana.join()
    await ana.action("chat", text="saved on the way out")
    took = own_server.terminate()
    assert took < 5
    await ana.wait_for("bye")
    own_server.restart()
    ana.ws = None
    ana.messages.clear()
    await ana.join()
    history = await ana.wait_for("chat-history")
    assert [m["text"] for m in history["value"]["messages"]] == ["saved on the way out"]
