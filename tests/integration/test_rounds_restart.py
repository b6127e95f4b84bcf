"""Kill the server in the middle of a round in small groups: the same groups and deadline return."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import MakePeer, ServerProcess, running_server

AGENDA = Path(__file__).resolve().parents[1] / "agendas" / "pairs-three-rounds.yaml"


@pytest.fixture
def pairs_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own whose start-up meeting has three short rounds in pairs."""
    yield from running_server(tmp_path, agenda=str(AGENDA))


async def test_a_restart_mid_round_brings_back_the_groups_and_the_deadline(
    pairs_server: ServerProcess, peers: MakePeer
) -> None:
    sam = peers(pairs_server.facilitator, "Sam")
    others = [peers(pairs_server.participant, name) for name in ("Ana", "Ben", "Cat")]
    for peer in (sam, *others):
        assert (await peer.join())["type"] == "joined"
    await sam.action("start")
    await sam.action("next-item")
    before = await sam.fresh_state(lambda s: bool(s["groups"]) and s["groups"]["running"])
    groups = [g["members"] for g in before["groups"]["all"]]
    assert sorted(len(g) for g in groups) == [2, 2]
    deadline = before["groups"]["timer"]["deadline"]
    assert deadline is not None
    await asyncio.sleep(0.4)  # the saver runs every 0.1 s
    pairs_server.kill()
    await asyncio.sleep(1.0)
    pairs_server.restart()
    for peer in (sam, *others):
        peer.ws = None
        peer.messages.clear()
        assert (await peer.join())["type"] == "joined"
    state = await sam.fresh_state(lambda s: len(s["people"]) == 4)
    assert state["groups"]["round"] == 1 and state["groups"]["running"]
    assert [g["members"] for g in state["groups"]["all"]] == groups
    assert state["groups"]["timer"]["deadline"] == deadline
    ana = others[0]
    mine = (await ana.fresh_state())["groups"]["yours"]
    assert ana.person_id() in mine["members"] and mine["members"] in groups
    # The recap lists the round's groups; each person's JSON has the people they met.
    partner = next(p for p in mine["members"] if p != ana.person_id())
    names = {p["id"]: p["name"] for p in state["people"]}
    assert (await sam.action("end-round"))["type"] == "ok"
    url = f"{pairs_server.base}/m/{pairs_server.meeting_id}/recap.json"
    async with ana.http.get(url) as response:
        recap = await response.json()
    assert [r["round"] for r in recap["rounds"]] == [1, 2]
    assert sorted(sorted(g) for g in recap["rounds"][0]["groups"]) == sorted(
        sorted(names[p] for p in g) for g in groups
    )
    assert names[partner] in recap["people_you_met"]
    assert "Ana" not in recap["people_you_met"]
    async with ana.http.get(url.replace("recap.json", "recap")) as response:
        page = await response.text()
    assert "Rounds in small groups" in page and "People you met" in page
