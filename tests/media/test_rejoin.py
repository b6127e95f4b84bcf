"""Media that comes back by itself (issue 14): kept across a WebSocket drop, and ended loudly.

Real aiortc peers through the real server on 127.0.0.1, and a MediaRoom in this process for the
parts that need a short hold or a closed connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from facilitator.bench.bot import Bot
from facilitator.bench.samples import SampleMedia
from facilitator.media.sfu import MediaConfig, MediaPeer, MediaRoom

from ..integration.harness import Peer, SharedMeeting
from .test_sfu import until


async def flowing(listener: Bot, person: str, more: int = 10, timeout: float = 10.0) -> None:
    """Wait until ``more`` further video frames of ``person`` reached ``listener``."""
    start = listener.frames_from(person, "video")
    await until(lambda: listener.frames_from(person, "video") > start + more, timeout, "video")


@asynccontextmanager
async def joined(
    meeting: SharedMeeting, samples: SampleMedia, *names: str
) -> AsyncIterator[list[Bot]]:
    """Bots with these names, joined with media in this order; they leave at the end."""
    bots = [Bot(meeting.participant, name, samples) for name in names]
    try:
        for bot in bots:
            await bot.join()
        yield bots
    finally:
        for bot in bots:
            await bot.leave()


def carried(bot: Bot) -> set[str]:
    """Whose media the bot's latest offer carries."""
    return {
        str(info["person"]) for info in bot.tracks.values() if not info["own"] and info["person"]
    }


async def test_a_websocket_drop_keeps_the_media_connection(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    async with joined(media_server, samples, "Ana", "Ben") as (ana, ben):
        ana_id, ben_id = ana.person_id or "", ben.person_id or ""
        await flowing(ana, ben_id)
        await flowing(ben, ana_id)
        pc, offers = ana.pc, ben.offers
        assert await ana.rejoin() is True  # joined again on a new socket: media kept
        assert ana.pc is pc and ana.resumes == 1 and ana.restarts == 0
        # Both ways, on the very same connections, and nobody was offered anything new.
        await flowing(ana, ben_id)
        await flowing(ben, ana_id)
        assert pc is not None and ana.pc is pc and pc.connectionState == "connected"
        # Ben may have been offered the same tracks again (Ana was offline a moment), but
        # never without Ana's.
        assert ben.offers == offers or ana_id in carried(ben)
        # The kept connection still renegotiates: a third person's media reaches Ana.
        async with joined(media_server, samples, "Cy") as (cy,):
            await flowing(ana, cy.person_id or "")


async def test_a_join_that_does_not_ask_starts_afresh(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    async with joined(media_server, samples, "Ana", "Ben") as (ana, ben):
        await flowing(ben, ana.person_id or "")
        await ana.client.disconnect()
        reply = await ana.client.join(timeout=10.0)  # no `media: true`: a reloaded page
        assert reply["value"]["media"] is False
        # The kept connection is still there for a moment, so Ben still gets Ana's video ...
        await flowing(ben, ana.person_id or "")
        # ... until the new page starts its own, which replaces it.
        await ana.restart_media()
        await asyncio.wait_for(ana.connected.wait(), 10)
        await flowing(ben, ana.person_id or "")


async def test_a_stranger_cannot_take_over_someones_media(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    stranger = Bot(media_server.participant, "Stranger", None)
    async with joined(media_server, samples, "Ana", "Ben") as (ana, ben):
        try:
            await flowing(ben, ana.person_id or "")
            await ana.client.disconnect()  # Ana's media is held for her now
            reply = await stranger.client.join(timeout=10.0, media=True)
            assert reply["type"] == "joined" and reply["value"]["media"] is False
            await stranger.client.settle()
            offers = [m for m in stranger.client.messages if m["type"] == "offer"]
            assert offers == []  # nothing of Ana's connection was sent to the stranger
            assert stranger.offers == 0
            assert await ana.rejoin() is True  # still hers
            await flowing(ben, ana.person_id or "")
        finally:
            await stranger.close()


async def test_a_removed_person_loses_their_media_at_once(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    host = Peer(media_server.facilitator, "Host")
    await host.join()
    async with joined(media_server, samples, "Ana", "Ben", "Cy") as (ana, ben, cy):
        try:
            ana_id, cy_id = ana.person_id or "", cy.person_id or ""
            await flowing(ben, ana_id)
            await flowing(ben, cy_id)
            # Cy's socket drops (her media is held for her), then she and Ana are removed.
            await cy.client.disconnect()
            await flowing(ben, cy_id)  # held: still forwarded
            for person in (ana_id, cy_id):
                assert (await host.action("remove", person=person))["type"] == "ok"
            await until(lambda: not {ana_id, cy_id} & carried(ben), 5, "an offer without them")
            await asyncio.sleep(0.5)  # packets already on the way
            counts = {p: ben.frames_from(p, "video") for p in (ana_id, cy_id)}
            await asyncio.sleep(1.0)
            assert {p: ben.frames_from(p, "video") for p in (ana_id, cy_id)} == counts
            # Cy cannot get it back either: removed is removed.
            again = await cy.client.join(timeout=10.0, media=True)
            assert again["type"] == "error" and again["error"] == "removed"
        finally:
            await host.close()


@asynccontextmanager
async def lone_peer() -> AsyncIterator[tuple[MediaRoom, MediaPeer, list[tuple[str, Any]]]]:
    """A MediaRoom in this process with one person, p1, and what it said to them."""
    room = MediaRoom("m", MediaConfig())
    said: list[tuple[str, Any]] = []
    try:
        peer = await room.join("p1", lambda kind, value: said.append((kind, value)))
        yield room, peer, said
    finally:
        await room.close()


async def test_a_hold_ends_by_itself_and_only_the_same_key_resumes() -> None:
    async with lone_peer() as (room, peer, said):
        assert said and said[-1][0] == "offer"  # the first offer, waiting for its answer
        assert room.hold("p1", "session-a", seconds=0.3)
        assert room.is_held("p1")
        assert not room.resume("p1", "session-b", lambda k, v: None)  # another session: no
        assert not room.resume("p2", "session-a", lambda k, v: None)  # nobody else's
        again: list[tuple[str, dict[str, Any]]] = []
        assert room.resume("p1", "session-a", lambda kind, value: again.append((kind, value)))
        assert not room.is_held("p1")
        # The unanswered offer is sent again to the new socket, the same one.
        assert [k for k, _ in again] == ["offer"] and again[0][1]["sdp"] == said[-1][1]["sdp"]
        assert room.hold("p1", "session-a", seconds=0.3)
        await asyncio.sleep(0.8)
        assert "p1" not in room.peers and peer.closed  # not taken back in time: closed
        assert not room.hold("p1", "session-a")  # nothing left to hold


async def test_the_server_says_when_it_closes_media_itself() -> None:
    async with lone_peer() as (room, peer, said):
        await peer.pc.close()  # what aiortc does when the connection fails (consent lost)
        await until(lambda: "p1" not in room.peers, 5, "the connection dropped")
        assert ("media-ended", {"reason": "failed"}) in said
