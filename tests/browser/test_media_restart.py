"""After a server crash, video comes back by itself: pages reconnect and media resumes."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from ..integration.harness import ServerProcess
from .test_video import (
    media_browser,
    media_server,
    pytestmark,
    two_in_a_call,
    videos,
)

__all__ = ["media_browser", "media_server", "pytestmark"]


def test_media_resumes_after_sigkill(
    media_server: ServerProcess, media_browser: Browser, artifacts: Path
) -> None:
    errors: list[str] = []
    sam, ana = two_in_a_call(media_server, media_browser, errors)
    media_server.kill()
    expect(ana.locator("#connection-status")).to_contain_text("Reconnecting", timeout=10_000)
    media_server.restart()
    for page in (sam, ana):
        expect(page.locator("#connection-status")).to_be_hidden(timeout=15_000)
        expect(page.locator("#people-list li.person")).to_have_count(2)  # no ghosts
    # Each page plays the other's video again: frames keep being decoded.
    deadline = time.monotonic() + 20
    playing: set[str] = set()
    before = {name: videos(page) for name, page in (("sam", sam), ("ana", ana))}
    while playing != {"sam", "ana"} and time.monotonic() < deadline:
        time.sleep(1)
        for name, page in (("sam", sam), ("ana", ana)):
            now = videos(page)
            rising = [
                p
                for p, v in now.items()
                if v["width"] > 0 and v["frames"] > before[name].get(p, {}).get("frames", 0) + 5
            ]
            if rising:
                playing.add(name)
            before[name] = now
    assert playing == {"sam", "ana"}, before
    ana.screenshot(path=str(artifacts / "video-after-restart.png"))
    assert not errors, errors
