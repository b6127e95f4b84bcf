"""The synthetic participant's looping track: keyframes every loop, or only when asked."""

from __future__ import annotations

from facilitator.bench.bot import LoopTrack

FRAMES = (b"key", b"delta-1", b"delta-2")


async def sent(track: LoopTrack, count: int) -> list[bytes]:
    return [bytes(await track.recv()) for _ in range(count)]


async def test_the_loop_starts_again_at_its_keyframe() -> None:
    track = LoopTrack("video", FRAMES, fps=500)
    assert await sent(track, 7) == [*FRAMES, *FRAMES, b"key"]


async def test_keyframes_on_request_only_go_at_the_start_and_when_asked() -> None:
    track = LoopTrack("video", FRAMES, fps=500)
    track.loop_keyframes = False
    assert await sent(track, 6) == [
        b"key",
        b"delta-1",
        b"delta-2",
        b"delta-1",
        b"delta-2",
        b"delta-1",
    ]
    track.request_keyframe()
    assert await sent(track, 3) == [b"key", b"delta-1", b"delta-2"]
    assert track.keyframe_requests == 1
