"""Rounds in small groups through the real server with synthetic participants (127.0.0.1 only):
each pair sees and hears only itself, group chat stays in the group, and nobody can get around it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from facilitator.bench.bot import Bot
from facilitator.bench.samples import SampleMedia

from ..integration.harness import Peer, ServerProcess, SharedMeeting

AGENDA = Path(__file__).resolve().parents[1] / "agendas" / "pairs-three-rounds.yaml"
KINDS = ("audio", "video")
FRESH = 5
"""New frames that show a stream is flowing."""


def pairs_meeting(server: ServerProcess) -> SharedMeeting:
    """A meeting from the test-only agenda: three short rounds in pairs."""
    start = len(server.log())
    body = json.dumps({"yaml": AGENDA.read_text("utf-8")}).encode()
    request = Request(f"{server.base}/api/meetings", body, {"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as response:
        links = json.loads(response.read())
    return SharedMeeting(server, links["participant_url"], links["facilitator_url"], start)


async def until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Wait for a condition (media takes a moment to renegotiate)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


def carried(bot: Bot) -> set[str]:
    """The people whose media the server currently sends this bot."""
    return {info["person"] for info in bot.tracks.values() if not info["own"] and info["person"]}


def counts(bots: list[Bot]) -> dict[tuple[str, str, str], int]:
    """Frames each bot has had from every other bot, by kind."""
    ids = [b.person_id or "" for b in bots]
    return {
        (b.person_id or "", other, kind): b.frames_from(other, kind)
        for b in bots
        for other in ids
        if other != b.person_id
        for kind in KINDS
    }


async def receives_only(bots: list[Bot], allowed: dict[str, set[str]], what: str) -> None:
    """Every bot gets fresh audio and video from exactly the people ``allowed`` and nobody else."""
    # Generous waits: other test runs may share the machine's two cores.
    await until(lambda: all(carried(b) == allowed[b.person_id or ""] for b in bots), 60, what)
    before = counts(bots)

    def flowing() -> bool:
        now = counts(bots)
        return all(now[key] >= before[key] + FRESH for key in now if key[1] in allowed[key[0]])

    try:
        await until(flowing, 60, f"{what}: media flowing")
    except AssertionError:
        now = counts(bots)
        stuck = {k: (before[k], now[k]) for k in now if k[1] in allowed[k[0]]}
        stuck = {k: v for k, v in stuck.items() if v[1] < v[0] + FRESH}
        raise AssertionError(f"{what}: no media flowing for {stuck}") from None
    after = counts(bots)
    for key, value in after.items():
        if key[1] not in allowed[key[0]]:
            assert value == before[key], f"{key[0]} got {key[2]} from {key[1]} ({what})"


async def refused(peer: Peer | Bot, action: str, **args: Any) -> str:
    """The action is refused; return the error code."""
    client = peer.client if isinstance(peer, Bot) else peer
    reply = await client.action(action, **args)
    assert reply["type"] == "error", reply
    return str(reply["error"])


def in_round(number: int) -> Callable[[dict[str, Any]], bool]:
    """A state test: round ``number`` of the groups is on."""
    return lambda state: bool(state["groups"]) and state["groups"]["round"] == number


def chat_from(person: str, mark: str) -> Callable[[dict[str, Any]], bool]:
    """A message test: a chat from ``person`` starting with ``mark``."""
    return lambda m: m["value"]["person"] == person and m["value"]["text"].startswith(mark)


def chats(client: Peer) -> list[dict[str, Any]]:
    return [m["value"] for m in client.messages if m["type"] == "chat"]


async def test_six_people_in_pairs_for_three_rounds(
    shared_media_server: ServerProcess, samples: SampleMedia
) -> None:
    meeting = pairs_meeting(shared_media_server)
    host = Peer(meeting.facilitator, "Host")
    nosy = Peer(meeting.participant, "Nosy")
    bots = [Bot(meeting.participant, f"Bot {i}", samples) for i in range(6)]
    try:
        for peer in (host, nosy):
            await peer.join()
            # Both sit out the groups: they stay in the main room (and have no media).
            assert (await peer.action("opt-out", sit_out=True))["type"] == "ok"
        for bot in bots:
            await bot.join()
        ids = [bot.person_id or "" for bot in bots]
        everyone = {pid: set(ids) - {pid} for pid in ids}
        await receives_only(bots, everyone, "everyone before the rounds")
        assert (await host.action("start"))["type"] == "ok"
        assert (await host.action("next-item"))["type"] == "ok"

        met: set[frozenset[str]] = set()
        for number in (1, 2, 3):
            state = await host.fresh_state(in_round(number), timeout=15)
            groups = [g["members"] for g in state["groups"]["all"]]
            assert sorted(len(g) for g in groups) == [2, 2, 2] and state["groups"]["running"]
            assert sorted(p for g in groups for p in g) == sorted(ids)
            assert set(state["groups"]["main_room"]) == {host.person_id(), nosy.person_id()}
            partner = {a: {b} for a, b in groups} | {b: {a} for a, b in groups}
            pairs = {frozenset(g) for g in groups}
            assert not pairs & met, "a pair met twice"
            met |= pairs
            await receives_only(bots, partner, f"round {number}")

            # Chat in a pair reaches that pair only.
            mark = f"round {number}"
            for bot in bots:
                await bot.client.action("chat", text=f"{mark} from {bot.person_id}")
            for bot in bots:
                other = next(iter(partner[bot.person_id or ""]))
                await bot.client.wait_for("chat", where=chat_from(other, mark))
            await host.settle()
            for bot in bots:
                mine = partner[bot.person_id or ""] | {bot.person_id}
                senders = {c["person"] for c in chats(bot.client) if c["text"].startswith(mark)}
                assert senders == mine
            assert not [c for c in chats(host) + chats(nosy) if c["group"] is not None]

            if number == 1:
                # Nobody but a facilitator visits, moves or ends anything; nothing changes.
                first, other_group = groups[0], groups[1]
                inside = next(b for b in bots if b.person_id == first[0])
                group_id = state["groups"]["all"][1]["id"]
                assert await refused(nosy, "visit-group", group=group_id) == "not-allowed"
                assert await refused(inside, "visit-group", group="1-2") == "not-allowed"
                assert (
                    await refused(inside, "move-to-group", person=first[0], group="1-2")
                    == "not-allowed"
                )
                assert await refused(nosy, "end-round") == "not-allowed"
                assert await refused(inside, "next-card") == "no-icebreaker"
                later = await host.fresh_state()
                assert [g["members"] for g in later["groups"]["all"]] == groups
                assert later["groups"]["round"] == 1
                assert "all" not in nosy.state()["groups"]
                assert nosy.state()["groups"]["yours"] is None
                you = inside.client.latest_state or {}
                assert you["groups"]["yours"]["members"] == first and "all" not in you["groups"]
                assert other_group[0] not in you["groups"]["yours"]["members"]
                # A participant reconnecting reads the main room's chat only, never a group's.
                await nosy.disconnect()
                seen = len(nosy.messages)
                await nosy.join()
                history = await nosy.wait_for("chat-history", after=seen)
                assert history["value"]["messages"] == []
                await receives_only(bots, partner, "round 1, after the refusals")
            # Rounds 1 and 2 end early (unless a slow machine let them run out already).
            if number < 3 and host.state()["groups"]["round"] == number:
                assert (await host.action("end-round"))["type"] == "ok"

        # The last round ends by itself, after its 30-second warning.
        warning = await bots[0].client.wait_for(
            "round-warning", where=lambda m: m["value"]["round"] == 3, timeout=40
        )
        assert warning["value"]["left"] <= 30
        state = await host.fresh_state(lambda s: s["groups"]["finished"], timeout=40)
        assert not state["groups"]["running"] and state["groups"]["all"] == []
        await receives_only(bots, everyone, "everyone after the rounds")
        back = await bots[1].client.wait_for(
            "grouped", where=lambda m: m["value"]["reason"] == "back"
        )
        assert back["value"]["group"] is None
    except AssertionError as exc:
        problems = [
            line for line in meeting.log().splitlines() if "WARNING" in line or "ERROR" in line
        ]
        raise AssertionError(f"{exc}\nserver: {problems[-20:]}") from None
    finally:
        for bot in bots:
            await bot.leave()
        await host.close()
        await nosy.close()
