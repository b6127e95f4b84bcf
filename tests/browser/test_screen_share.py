"""Screen share in real browsers: one share at a time takes everyone's stage, forwarded like a
camera; a facilitator can stop it, and the browser's own "Stop sharing" ends it cleanly."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from ..integration.harness import ServerProcess
from .test_video import join, media_browser, media_server, pytestmark

__all__ = ["media_browser", "media_server", "pytestmark"]

SHARE_PLAYING = """() => {
    const v = document.getElementById("share-video");
    return Boolean(v && v.srcObject && v.videoWidth > 0
        && v.getVideoPlaybackQuality().totalVideoFrames > 0);
}"""


def expect_share_playing(page: Page) -> None:
    expect(page.locator("#share-view")).to_be_visible(timeout=10_000)
    page.wait_for_function(SHARE_PLAYING, timeout=15_000)


def test_screen_share(media_server: ServerProcess, media_browser: Browser, artifacts: Path) -> None:
    errors: list[str] = []
    sam = join(media_browser, media_server.facilitator, "Sam", errors)
    ana = join(media_browser, media_server.participant, "Ana", errors)
    ben = join(media_browser, media_server.participant, "Ben", errors)
    for page in (sam, ana, ben):
        expect(page.locator("#tiles article.tile:not(.is-you).has-video")).to_have_count(
            2, timeout=15_000
        )

    # Ana shares: her screen takes everyone's stage (Chromium's fake capture stands in).
    ana.get_by_role("button", name="Share screen").click()
    expect(ana.get_by_role("button", name="Stop sharing")).to_have_attribute("aria-pressed", "true")
    for page in (sam, ben):
        expect_share_playing(page)
        expect(page.locator("#share-caption")).to_have_text("Ana is sharing their screen")
    expect(ana.locator("#share-caption")).to_have_text("You are sharing your screen")
    # One at a time: Ben's button waits.
    expect(ben.get_by_role("button", name="Share screen")).to_be_disabled()
    sam.screenshot(path=str(artifacts / "share-facilitator.png"))

    # A facilitator stops it; Ana's capture ends too.
    sam.get_by_role("button", name="Stop this share").click()
    expect(ana.get_by_role("button", name="Share screen")).to_be_enabled()
    for page in (sam, ana, ben):
        expect(page.locator("#share-view")).to_be_hidden()
    assert ana.evaluate("() => window.__facilitatorTest.media.screenTrack") is None

    # Ben shares, then presses the browser's "Stop sharing" (the track ends by itself).
    ben.get_by_role("button", name="Share screen").click()
    expect_share_playing(ana)
    ben.evaluate("""() => {
        const track = window.__facilitatorTest.media.screenTrack;
        track.stop();
        track.dispatchEvent(new Event("ended"));
    }""")
    for page in (sam, ana, ben):
        expect(page.locator("#share-view")).to_be_hidden()
    share = ben.get_by_role("button", name="Share screen")
    expect(share).to_have_attribute("aria-pressed", "false")
    # The cameras carried on throughout.
    expect(sam.locator("#tiles article.tile:not(.is-you).has-video")).to_have_count(2)
    assert errors == []
