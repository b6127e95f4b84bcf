"""The network lab's participants: one process each, inside its own network namespace.

A worker enters its namespace (``netlab.enter``) before it makes any socket or thread, then
answers the scenario's commands over a pipe. Synthetic workers run a ``Bot`` that keeps arrival
timelines and report ``netmetrics`` windows; the Chromium worker drives a real browser with
Playwright (fake camera, a silent fake microphone) and reports its ``getStats()`` counters.
"""

from __future__ import annotations

import asyncio
import os
import time
import wave
from dataclasses import asdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from . import netmetrics
from .netlab import enter

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "facilitator"
LADDER = ((640, 480, 500), (480, 360, 340), (400, 300, 230), (320, 240, 150), (240, 180, 100))
"""The adapting publisher's versions of its video: (width, height, target kbps), best first."""
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Keeps every RTCPeerConnection the page makes, so getStats() can be read from outside.
CAPTURE_PCS = """(() => {
  const Original = window.RTCPeerConnection;
  window.__netlabPcs = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__netlabPcs.push(this); }
  };
})();"""
READ_STATS = """async () => {
  const out = [];
  for (const pc of window.__netlabPcs || []) {
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" || s.type === "outbound-rtp") out.push(s);
    });
  }
  return out;
}"""


def prepare() -> None:
    """Encode (once, cached) the samples every synthetic worker reads."""
    from .samples import cached_samples

    cached_samples(CACHE, kbps=500)
    for width, height, kbps in LADDER:
        cached_samples(CACHE, width, height, kbps=kbps)


def bot_worker(conn: Connection, pid: int, address: str, link: str, name: str, adapt: bool) -> None:
    """A synthetic participant in ``pid``'s namespace (the process's target)."""
    enter(pid)
    asyncio.run(_bot(conn, address, link, name, adapt))


async def _bot(conn: Connection, address: str, link: str, name: str, adapt: bool) -> None:
    from ..media.aiortc_seams import restrict_host_addresses
    from .bot import Bot, rung
    from .samples import cached_samples

    restrict_host_addresses([address])
    media = cached_samples(CACHE, kbps=500)
    ladder = [rung(cached_samples(CACHE, w, h, kbps=k).video) for w, h, k in LADDER]
    # Like a page, it comes back by itself after a drop (the link-down scenario), and like a
    # browser's encoder it sends keyframes only when asked (so keyframe rates mean something).
    bot = Bot(
        link,
        name,
        media,
        ladder=ladder if adapt else None,
        timeline=True,
        stay=True,
        keyframes_on_request=True,
    )
    loop = asyncio.get_running_loop()
    while True:
        command, args = await loop.run_in_executor(None, conn.recv)
        if command == "join":
            await bot.join()
            conn.send(bot.person_id)
        elif command == "flowing":
            now = time.monotonic()
            conn.send(sum(1 for r in bot.received.values() if r.times and r.times[-1][0] > now - 2))
        elif command == "window":
            conn.send(bot_window(bot, *args))
        elif command == "recovery":
            since, end = args
            conn.send(
                {
                    f"{p}/{k}": netmetrics.recovery(r.times, since, end)
                    for (p, k), r in bot.received.items()
                }
            )
        elif command == "leave":
            await bot.leave()
            conn.send(None)
            return


def bot_window(bot: Any, start: float, end: float) -> dict[str, Any]:
    """What a bot received and sent between two times."""
    streams = {}
    for (person, kind), received in bot.received.items():
        measured = netmetrics.window(received.times, start, end, kind == "video")
        streams[f"{person}/{kind}"] = asdict(measured)
    sent = {}
    for kind, track in (("audio", bot.audio), ("video", bot.video)):
        frames, size = netmetrics.sent_in(track.sent_times, start, end)
        sent[kind] = {"frames": frames, "bytes": size}
    video = bot.video
    return {
        "streams": streams,
        "sent": sent,
        "keyframe_requests": sum(1 for t in video.request_times if start <= t < end),
        "estimate_kbps": getattr(video, "estimate", None) and video.estimate / 1000,
        "rung": getattr(video, "level", None),
    }


def chromium_worker(conn: Connection, pid: int, link: str, name: str, folder: str) -> None:
    """A real Chromium in ``pid``'s namespace (the process's target)."""
    enter(pid)
    asyncio.run(_chromium(conn, link, name, Path(folder)))


def silent_wav(path: Path, seconds: int = 2) -> Path:
    """A silent mono WAV file (Chromium's fake microphone loops it)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(b"\0\0" * 48_000 * seconds)
    return path


async def _chromium(conn: Connection, link: str, name: str, folder: Path) -> None:
    from urllib.parse import urlsplit

    from playwright.async_api import async_playwright

    parts = urlsplit(link)
    origin = f"{parts.scheme}://{parts.netloc}"
    silence = silent_wav(folder / f"silence-{os.getpid()}.wav")
    flags = [
        *CHROMIUM_FLAGS,
        f"--use-file-for-fake-audio-capture={silence}",
        # Cameras need a secure context; the lab's server address is plain HTTP.
        f"--unsafely-treat-insecure-origin-as-secure={origin}",
    ]
    loop = asyncio.get_running_loop()
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        await context.add_init_script(CAPTURE_PCS)
        page = await context.new_page()
        while True:
            command, _ = await loop.run_in_executor(None, conn.recv)
            if command == "join":
                await page.goto(link)
                await page.get_by_label("Your name").fill(name)
                await page.get_by_role("button", name="Join").click()
                await page.locator("#room").wait_for()
                tile = page.locator("#tiles article.tile.is-you")
                conn.send(await tile.get_attribute("data-person-id"))
            elif command == "flowing":
                stats = await page.evaluate(READ_STATS)
                conn.send(
                    sum(
                        1
                        for s in stats
                        if s["type"] == "inbound-rtp"
                        and (s.get("framesDecoded", 0) > 0 or s.get("packetsReceived", 0) > 0)
                    )
                )
            elif command == "sample":
                conn.send({"at": time.monotonic(), "stats": await page.evaluate(READ_STATS)})
            elif command == "leave":
                await browser.close()
                conn.send(None)
                return


def chromium_window(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Two ``sample`` replies as a bot-like window: streams by mid, and what it sent."""
    seconds = after["at"] - before["at"]
    old = {(s["type"], s.get("mid"), s.get("ssrc")): s for s in before["stats"]}
    streams: dict[str, dict[str, Any]] = {}
    sent = {"audio": {"frames": 0, "bytes": 0}, "video": {"frames": 0, "bytes": 0}}
    requests = 0
    for stat in after["stats"]:
        was = old.get((stat["type"], stat.get("mid"), stat.get("ssrc")), {})

        def delta(key: str, stat: dict[str, Any] = stat, was: dict[str, Any] = was) -> float:
            return float(stat.get(key, 0) or 0) - float(was.get(key, 0) or 0)

        kind = stat.get("kind", "video")
        if stat["type"] == "outbound-rtp":
            frames = delta("framesEncoded") if kind == "video" else delta("packetsSent")
            sent[kind]["frames"] += int(frames)
            sent[kind]["bytes"] += int(delta("bytesSent"))
            requests += int(delta("pliCount") + delta("firCount"))
            continue
        video = kind == "video"
        frames = int(delta("framesDecoded") if video else delta("packetsReceived"))
        # getStats counts a freeze only once the next frame comes: a stopped stream is frozen.
        frozen = delta("totalFreezesDuration") if frames else seconds
        streams[f"chromium-mid-{stat.get('mid')}/{kind}"] = {
            "seconds": seconds,
            "frames": frames,
            "keyframes": int(delta("keyFramesDecoded")),
            "bytes": int(delta("bytesReceived")),
            "frozen_s": frozen if video else 0.0,
            "longest_freeze_s": 0.0,
            "freezes": int(delta("freezeCount")),
            "lost": int(delta("packetsLost")),
            "received_packets": int(delta("packetsReceived")),
        }
    return {"streams": streams, "sent": sent, "keyframe_requests": requests, "chromium": True}
