"""Load generator processes: each runs some synthetic participants and answers commands.

A worker takes commands over a pipe (``join``, ``subscribe``, ``status``, ``mark``, ``end``,
``leave``) and answers with counters (the snapshot below), so the load test can measure clean
windows: ``mark`` and ``end`` pause the publishers while counters are taken.

Generators: ``aiortc`` (``bot.Bot``: aiortc's full media stack, as a browser stand-in),
``light`` (``light_bot.LightBot``: pre-built RTP packets, one core drives many more people) and
``janus`` (``janus.JanusBot``: the light participant through Janus's VideoRoom API).
"""

from __future__ import annotations

import asyncio
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

GENERATORS = ("light", "aiortc")


def worker(
    conn: Connection,
    target: str,
    names: list[str],
    kbps: int,
    generator: str,
    cache: Path,
    affinity: set[int] | None,
) -> None:
    """A worker process's body: ``target`` is a meeting link, or Janus's API URL."""
    if affinity:
        os.sched_setaffinity(0, affinity)
    asyncio.run(_work(conn, target, names, kbps, generator, cache))


def _make_bot(generator: str, target: str, name: str, media: Any) -> Any:
    if generator == "janus":
        from .janus import JanusBot

        return JanusBot(target, name, media)
    if generator == "light":
        from .light_bot import LightBot

        return LightBot(target, name, media)
    from .bot import Bot

    return Bot(target, name, media, stamp=True)


async def _work(
    conn: Connection, target: str, names: list[str], kbps: int, generator: str, cache: Path
) -> None:
    from ..media.aiortc_seams import restrict_host_addresses
    from .samples import cached_samples

    if generator != "aiortc":
        from .light import check_internals

        check_internals()
    restrict_host_addresses(["127.0.0.1"])
    media = cached_samples(cache, kbps=kbps)
    loop = asyncio.get_running_loop()
    bots: list[Any] = []
    while True:
        command, argument = await loop.run_in_executor(None, conn.recv)
        if command == "join":
            bot = _make_bot(generator, target, names[len(bots)], media)
            await bot.join()
            bots.append(bot)
            conn.send({"person": bot.person_id, "joined": time.monotonic()})
        elif command == "subscribe":
            for bot in bots:
                await bot.subscribe(argument)
            conn.send({bot.person_id: bot.joined_at for bot in bots})
        elif command == "status":
            conn.send(snapshot(bots, False))
        elif command == "leave":
            for bot in bots:
                await bot.leave()
            conn.send({})
            return
        elif command in ("mark", "end"):
            _pause(bots, True)
            await asyncio.sleep(0.6)  # let what is on the way arrive
            counters = snapshot(bots, command == "end")
            for bot in bots:
                _measure(bot, command == "mark")
            if command == "mark":  # after "end" they stay quiet until the server is measured
                _pause(bots, False)
            conn.send(counters)


def _pause(bots: list[Any], paused: bool) -> None:
    for bot in bots:
        for track in (bot.audio, bot.video):
            if track is not None:
                track.pause(paused)


def _measure(bot: Any, on: bool) -> None:
    if hasattr(bot, "measure"):
        bot.measure(on)
    else:
        bot.delays.clear()
        bot.measuring = on


def snapshot(bots: list[Any], with_delays: bool) -> dict[str, Any]:
    """This process's CPU time and every bot's counters."""
    return {
        "cpu": time.process_time(),
        "wall": time.monotonic(),
        "bots": {
            bot.person_id: (
                bot.snapshot(with_delays) if hasattr(bot, "snapshot") else _aiortc(bot, with_delays)
            )
            for bot in bots
        },
    }


def _aiortc(bot: Any, with_delays: bool) -> dict[str, Any]:
    return {
        "sent": {
            "audio": bot.audio.count if bot.audio else 0,
            "video": bot.video.count if bot.video else 0,
        },
        "received": {f"{p}/{k}": r.frames for (p, k), r in bot.received.items()},
        "packets_in": None,
        "first_keyframe": {
            p: r.first_keyframe_at
            for (p, k), r in bot.received.items()
            if k == "video" and r.first_keyframe_at is not None
        },
        "joined": bot.joined_at,
        "delays": list(bot.delays) if with_delays else [],
    }
