"""Real aiortc peers through the real server on 127.0.0.1: forwarding without re-encoding."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from facilitator.bench.bot import Bot
from facilitator.bench.samples import SampleMedia, make_samples

from ..integration.harness import Peer, SharedMeeting


async def until(check: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait for a condition (media takes a moment to connect)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def test_four_people_see_and_hear_each_other_byte_for_byte(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    bots = [Bot(media_server.participant, f"Bot {i}", samples, record=True) for i in range(4)]
    try:
        for bot in bots:
            await bot.join()
        ids = [bot.person_id or "" for bot in bots]

        def everyone_flowing() -> bool:
            return all(
                b.frames_from(other, kind) >= 20
                for b in bots
                for other in ids
                if other != b.person_id
                for kind in ("audio", "video")
            )

        await until(everyone_flowing, 20, "audio and video from everyone to everyone")
        sent_video = set(samples.video)
        sent_audio = set(samples.audio)
        for bot in bots:
            for (person, kind), received in bot.received.items():
                assert person != bot.person_id
                sent = sent_video if kind == "video" else sent_audio
                # The very bytes the publisher sent: nothing was decoded and encoded again.
                assert received.data and all(frame in sent for frame in received.data)
                if kind == "video":
                    assert received.data[0] == samples.video[0]  # starts at a keyframe
                    # In order: each frame follows the one before, or restarts at the keyframe.
                    order = [samples.video.index(f) for f in received.data]
                    n = len(samples.video)
                    assert all(b in ((a + 1) % n, 0) for a, b in itertools.pairwise(order))
    finally:
        for bot in bots:
            await bot.leave()


async def test_a_new_joiner_gets_a_keyframe_at_once(media_server: SharedMeeting) -> None:
    # One keyframe every 10 s: anything sooner was asked for by the server.
    slow = make_samples(width=160, height=120, frames=300, kbps=100)
    first = Bot(media_server.participant, "First", slow)
    late = Bot(media_server.participant, "Late", slow, record=True)
    try:
        await first.join()
        await asyncio.wait_for(first.connected.wait(), 10)
        await asyncio.sleep(1.5)  # well past the stream's first keyframe
        await late.join()
        started = time.monotonic()
        assert first.person_id is not None
        await until(lambda: late.frames_from(first.person_id or "", "video") > 0, 8, "video")
        received = late.received[(first.person_id, "video")]
        assert received.data[0] == slow.video[0]
        assert first.video is not None and first.video.keyframe_requests >= 1
        assert received.first_keyframe_at is not None
        assert received.first_keyframe_at - started < 8  # the natural keyframe is 10 s away
    finally:
        await first.leave()
        await late.leave()


async def test_leaving_removes_tracks_everywhere(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    bots = [Bot(media_server.participant, f"Bot {i}", samples) for i in range(3)]
    try:
        for bot in bots:
            await bot.join()
        leaver = bots[2]
        assert leaver.person_id is not None
        await until(
            lambda: all(b.frames_from(leaver.person_id or "", "video") > 5 for b in bots[:2])
        )
        offers = [b.offers for b in bots[:2]]
        await leaver.leave()
        await until(lambda: all(b.offers > n for b, n in zip(bots[:2], offers, strict=True)))
        for bot in bots[:2]:
            carried = {info["person"] for info in bot.tracks.values() if not info["own"]}
            assert leaver.person_id not in carried
            before = bot.frames_from(leaver.person_id, "video")
            await asyncio.sleep(0.5)
            assert bot.frames_from(leaver.person_id, "video") == before
        # The two who stayed still see each other.
        a, b = bots[:2]
        count = a.frames_from(b.person_id or "", "video")
        await until(lambda: a.frames_from(b.person_id or "", "video") > count + 10)
    finally:
        for bot in bots[:2]:
            await bot.leave()


async def test_a_facilitator_mute_stops_audio_at_the_server(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    host = Peer(media_server.facilitator, "Host")
    talker = Bot(media_server.participant, "Talker", samples)
    listener = Bot(media_server.participant, "Listener", samples)
    try:
        await host.join()
        await talker.join()
        await listener.join()
        who = talker.person_id or ""
        await until(lambda: listener.frames_from(who, "audio") > 20, what="audio")
        assert (await host.action("mute", person=who))["type"] == "ok"
        await talker.wait_for("muted")
        await asyncio.sleep(0.3)  # packets already on the way
        audio, video = listener.frames_from(who, "audio"), listener.frames_from(who, "video")
        await asyncio.sleep(1.0)
        assert listener.frames_from(who, "audio") == audio  # not one packet more
        assert listener.frames_from(who, "video") > video + 10  # video goes on
        assert (await host.action("unmute", person=who))["type"] == "ok"
        await until(lambda: listener.frames_from(who, "audio") > audio + 10, what="audio again")
    finally:
        await host.close()
        await talker.leave()
        await listener.leave()
