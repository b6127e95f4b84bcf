"""Kill the server mid-meeting: open pages reconnect by themselves and show the same meeting."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from ..integration.harness import ServerProcess
from .pages import join, open_tab, seconds


def test_pages_reconnect_after_sigkill(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    sam = join(browser, server.facilitator, "Sam")
    ana = join(browser, server.participant, "Ana")
    sam.get_by_role("button", name="Start").click()
    sam.get_by_role("button", name="Next item").click()
    open_tab(ana, "Chat")
    ana.get_by_label("Message").fill("before the crash")
    ana.get_by_role("button", name="Send").click()
    expect(ana.locator("#now-title")).to_contain_text("Name game")
    expect(sam.locator("#chat-log")).to_contain_text("before the crash")
    time.sleep(0.3)  # the server saves within 0.1 s of a change; SIGKILL gives it no more
    left_before = seconds(ana.get_by_role("timer", name="Meeting time left").inner_text())
    killed = time.monotonic()
    server.kill()
    expect(ana.locator("#connection-status")).to_contain_text("Reconnecting", timeout=10_000)
    time.sleep(1.0)
    server.restart()
    for page in (sam, ana):
        expect(page.locator("#connection-status")).to_be_hidden(timeout=15_000)
        expect(page.locator("#now-title")).to_contain_text("Name game")
        expect(page.locator("#people-list li.person")).to_have_count(2)  # no ghosts
        expect(page.locator("#chat-log")).to_contain_text("before the crash")
    expect(sam.get_by_role("button", name="Next item")).to_be_visible()  # still facilitator
    expect(ana.get_by_role("button", name="Next item")).to_have_count(0)
    # The downtime counted as elapsed time.
    left_after = seconds(ana.get_by_role("timer", name="Meeting time left").inner_text())
    elapsed = time.monotonic() - killed
    assert abs((left_before - left_after) - elapsed) <= 2, (left_before, left_after, elapsed)
    ana.screenshot(path=str(artifacts / "after-restart.png"), full_page=True)
