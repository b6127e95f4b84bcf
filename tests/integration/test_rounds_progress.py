"""An icebreaker round over real WebSockets: previous item, next item, and the round carries on."""

from __future__ import annotations

from typing import Any

from .harness import MakePeer, Peer, ServerProcess, trio

ROUND = ("speaker", "prompt", "up_next", "not_yet_spoken", "spoken", "round", "finished")


def card(state: dict[str, Any]) -> dict[str, Any]:
    """The parts of the icebreaker card that make up the round's progress."""
    icebreaker = state["icebreaker"]
    assert icebreaker is not None
    return {key: icebreaker[key] for key in ROUND}


async def recap_turns(peer: Peer, server: ServerProcess) -> list[dict[str, Any]]:
    """The turns in the shared recap, as the recap page and exports see them."""
    async with peer.http.get(f"{server.base}/m/{server.meeting_id}/recap.json") as response:
        assert response.status == 200
        return list((await response.json())["turns"])


async def test_previous_then_next_item_carries_on_the_round(
    server: ServerProcess, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(server, peers)
    assert (await sam.action("start"))["type"] == "ok"
    assert (await sam.action("next-item"))["type"] == "ok"
    state = await ana.fresh_state(lambda s: s["icebreaker"] is not None)
    first = state["icebreaker"]["speaker"]
    assert (await sam.action("next-speaker"))["type"] == "ok"
    state = await ana.fresh_state(lambda s: s["icebreaker"]["speaker"] != first)
    second = state["icebreaker"]["speaker"]
    assert (await sam.action("next-speaker"))["type"] == "ok"
    state = await ana.fresh_state(lambda s: s["icebreaker"]["speaker"] not in (first, second))
    before = card(state)
    assert before["spoken"] == [first, second]
    speakers = {first, second, before["speaker"]}
    assert speakers == {sam.person_id(), ana.person_id(), ben.person_id()}

    assert (await sam.action("previous-item"))["type"] == "ok"
    await ben.fresh_state(lambda s: s["clock"]["index"] == 0 and s["icebreaker"] is None)
    assert (await sam.action("next-item"))["type"] == "ok"
    state = await ben.fresh_state(lambda s: s["clock"]["index"] == 1)
    # The same speaker, prompt, line and spoken list: the round was not started over.
    assert card(state) == before
    assert state["clock"]["speaker"] is not None
    assert 0 < state["clock"]["speaker"]["given"] == 30
    people = {p["id"]: p["spoken"] for p in state["people"]}
    assert people == {first: True, second: True, before["speaker"]: False}

    # The recap has the two real turns and no phantom one for the held turn.
    turns = await recap_turns(ana, server)
    assert [(t["person"], t["outcome"]) for t in turns] == [(first, "done"), (second, "done")]
    assert all(t["item"] == "Name game" for t in turns)
    # The held turn ends when the facilitator moves on, with the prompt it had all along.
    assert (await sam.action("next-speaker"))["type"] == "ok"
    state = await ana.fresh_state(lambda s: s["icebreaker"]["finished"])
    assert state["icebreaker"]["spoken"] == [first, second, before["speaker"]]
    turns = await recap_turns(ana, server)
    assert len(turns) == 3
    assert (turns[-1]["person"], turns[-1]["prompt"]) == (before["speaker"], before["prompt"])
    assert len({t["prompt"] for t in turns}) == 3
