"""Video calls in real browsers: three Chromium pages see and hear each other through the SFU.

WebRTC runs only inside a private network namespace that has nothing but loopback (`make test`
uses `unshare -n`), so no media can reach this machine's other addresses.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from ..integration.harness import ServerProcess, running_server
from .conftest import CHROMIUM, FLAGS
from .pages import open_tab

pytestmark = pytest.mark.skipif(
    [name for _, name in socket.if_nameindex()] != ["lo"],
    reason="needs a private network namespace: run `make test` (unshare -n)",
)

REMOTE_VIDEOS = "#tiles article.tile:not(.is-you).has-video .tile-media video"

FRAMES = """(selector) => Array.from(document.querySelectorAll(selector)).map((v) => ({
    person: v.closest("article.tile").dataset.personId,
    width: v.videoWidth,
    frames: v.getVideoPlaybackQuality().totalVideoFrames,
    paused: v.paused,
}))"""

# No page ever plays its own microphone back, and every remote sound is audible.
AUDIO_CHECK = """() => {
    const session = window.__facilitatorTest.media;
    const own = session.audioTrack ? session.audioTrack.id : null;
    const tracksOf = (el) => (el.srcObject ? el.srcObject.getTracks().map((t) => t.id) : []);
    const videos = Array.from(document.querySelectorAll("video"));
    const audios = Array.from(document.querySelectorAll("#remote-audio audio"));
    return {
        ownAudioPlayed: [...videos, ...audios].some(
            (el) => own && tracksOf(el).includes(own) && !el.muted),
        videosMuted: videos.every((v) => v.muted),
        remoteAudible: audios.filter((a) => !a.muted && !a.paused && a.srcObject
            && a.srcObject.getAudioTracks().length === 1).length,
    };
}"""


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose media uses 127.0.0.1 only."""
    yield from running_server(tmp_path, extra=["--ice-address", "127.0.0.1"])


@pytest.fixture
def media_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with fake camera and microphone, allowed to use loopback for WebRTC."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*FLAGS, "--allow-loopback-in-peer-connection"],
    )
    yield browser
    browser.close()


def join(
    browser: Browser, link: str, name: str, errors: list[str], init_script: str | None = None
) -> Page:
    """A page that joins with camera and microphone (``init_script`` runs before the page's)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["camera", "microphone"]
    )
    if init_script is not None:
        context.add_init_script(init_script)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{name}: {exc}"))
    page.goto(link)
    # The pre-join screen previews the camera; both toggles start on.
    expect(page.locator("#preview-video")).to_be_visible()
    expect(page.get_by_role("button", name="Camera on")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="Mic on")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#room")).to_be_visible()
    return page


def two_in_a_call(
    server: ServerProcess, browser: Browser, errors: list[str], init_script: str | None = None
) -> tuple[Page, Page]:
    """Sam (facilitator) and Ana joined, each seeing the other's video tile."""
    sam = join(browser, server.facilitator, "Sam", errors, init_script)
    ana = join(browser, server.participant, "Ana", errors, init_script)
    for page in (sam, ana):
        expect(page.locator(REMOTE_VIDEOS)).to_have_count(1, timeout=15_000)
    return sam, ana


def videos(page: Page) -> dict[str, dict[str, Any]]:
    """The remote videos shown on a page, by person id."""
    return {v["person"]: v for v in page.evaluate(FRAMES, REMOTE_VIDEOS)}


def own_id(page: Page) -> str:
    person = page.locator("#tiles article.tile.is-you").get_attribute("data-person-id")
    assert person
    return person


def test_three_browsers_see_each_other(
    media_server: ServerProcess, media_browser: Browser, artifacts: Path
) -> None:
    errors: list[str] = []
    sam = join(media_browser, media_server.facilitator, "Sam", errors)
    ana = join(media_browser, media_server.participant, "Ana", errors)
    ben = join(media_browser, media_server.participant, "Ben", errors)
    pages = {"sam": sam, "ana": ana, "ben": ben}
    ids = {name: own_id(page) for name, page in pages.items()}

    # Everyone sees the two others' cameras, playing.
    for page in pages.values():
        expect(page.locator(REMOTE_VIDEOS)).to_have_count(2, timeout=15_000)
        expect(page.locator("#tiles article.tile.is-you .tile-media video.mirror")).to_be_visible()
    # ... and playing: every remote video's decoded frame count keeps rising (a second is
    # plenty normally; a loaded machine may need a keyframe request, so give it some more).
    others = {name: {ids[o] for o in pages if o != name} for name in pages}
    first = {name: videos(page) for name, page in pages.items()}
    for name in pages:
        assert set(first[name]) == others[name], (name, first[name])
    waiting = set(pages)
    deadline = time.monotonic() + 10
    latest: dict[str, dict[str, dict[str, Any]]] = {}
    while waiting and time.monotonic() < deadline:
        time.sleep(1.0)
        for name in sorted(waiting):
            latest[name] = now = videos(pages[name])
            if all(
                person in now
                and now[person]["width"] > 0
                and not now[person]["paused"]
                and now[person]["frames"] > first[name][person]["frames"]
                for person in others[name]
            ):
                waiting.discard(name)
    assert not waiting, {name: (first[name], latest.get(name)) for name in waiting}
    for name, page in pages.items():
        audio = page.evaluate(AUDIO_CHECK)
        assert audio == {"ownAudioPlayed": False, "videosMuted": True, "remoteAudible": 2}, (
            name,
            audio,
        )
    for name, page in pages.items():
        page.screenshot(path=str(artifacts / f"call-{name}.png"), full_page=True)

    # Ana turns her camera off: the others see her initials instead of her video.
    ana.get_by_role("button", name="Camera on").click()
    expect(ana.get_by_role("button", name="Camera off")).to_have_attribute("aria-pressed", "false")
    for page in (sam, ben, ana):
        tile = page.locator(f'#tiles article.tile[data-person-id="{ids["ana"]}"]')
        expect(tile.locator(".tile-avatar")).to_be_visible(timeout=5_000)
        expect(tile.locator(".tile-avatar")).to_have_text("A")
        expect(tile.locator("video")).to_be_hidden()
    # The camera is off.
    assert ana.evaluate("() => window.__facilitatorTest.media.videoTrack") is None

    # Ben turns his microphone off: a "Mic off" badge on his tile everywhere.
    ben.get_by_role("button", name="Mic on").click()
    expect(ben.get_by_role("button", name="Mic off")).to_have_attribute("aria-pressed", "false")
    for page in (sam, ana):
        tile = page.locator(f'#tiles article.tile[data-person-id="{ids["ben"]}"]')
        expect(tile.locator(".badge-mic-off")).to_have_text("Mic off")

    for name, page in pages.items():
        page.screenshot(path=str(artifacts / f"camera-off-{name}.png"), full_page=True)
    sam.set_viewport_size({"width": 390, "height": 844})
    expect(sam.locator(REMOTE_VIDEOS)).to_have_count(1)  # Ben's; Ana's camera is off
    sam.screenshot(path=str(artifacts / "call-phone.png"), full_page=True)
    assert sam.evaluate("document.documentElement.scrollWidth") <= 390

    # Camera back on: her video returns.
    ana.get_by_role("button", name="Camera off").click()
    for page in (sam, ben):
        tile = page.locator(f'#tiles article.tile[data-person-id="{ids["ana"]}"]')
        expect(tile.locator("video")).to_be_visible(timeout=5_000)
        expect(tile.locator(".tile-avatar")).to_be_hidden()

    # A facilitator mutes Ana: her microphone goes off and she cannot turn it back on until unmuted.
    sam.set_viewport_size({"width": 1280, "height": 900})
    open_tab(sam, "People")
    sam.get_by_role("button", name="Mute Ana").click()
    mic = ana.locator("#mic-button")
    expect(mic).to_be_disabled()
    expect(mic).to_have_attribute("aria-pressed", "false")
    expect(mic).to_contain_text("Mic off")
    expect(ana.locator("#muted-banner")).to_be_visible()
    assert ana.evaluate("() => window.__facilitatorTest.media.audioTrack.enabled") is False
    sam.get_by_role("button", name="Unmute Ana").click()
    expect(mic).to_be_enabled()
    mic.click()
    expect(ana.get_by_role("button", name="Mic on")).to_have_attribute("aria-pressed", "true")
    assert ana.evaluate("() => window.__facilitatorTest.media.audioTrack.enabled") is True
    assert errors == []
