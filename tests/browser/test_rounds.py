"""Rounds in small groups in real browsers: four people (one facilitator) meet in pairs for two
rounds. Each page shows "Your group" with one other name and plays only that person's video,
the round countdown and its warning, help and broadcasts reach the right people, and after the
rounds everyone is back in the main room with all three other videos. Nothing scrolls, at a
laptop size and on a phone. Screenshots are saved under test-artifacts/.

WebRTC runs only inside a private network namespace with nothing but loopback (`make test`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect

from ..integration.harness import ServerProcess, running_server
from .conftest import ARTIFACTS, CHROMIUM, FLAGS
from .pages import open_tab, seconds

pytestmark = pytest.mark.skipif(
    [name for _, name in socket.if_nameindex()] != ["lo"],
    reason="needs a private network namespace: run `make test` (unshare -n)",
)

AGENDA = Path(__file__).resolve().parents[1] / "agendas" / "pairs-two-rounds.yaml"
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
REMOTE_TILES = "#tiles article.tile:not(.is-you)"
# Every toast and announcement a page ever showed, kept for the test (they fade after seconds).
RECORD_NOTICES = """() => {
    window.__notices = [];
    new MutationObserver((changes) => {
        for (const change of changes) {
            const node = change.target;
            const target = node instanceof Element ? node : node.parentElement;
            if (target && target.closest("#toasts, #announcer")) {
                window.__notices.push(target.closest("#toasts, #announcer").textContent);
            }
        }
    }).observe(document, {subtree: true, childList: true, characterData: true});
}"""
FRAMES = """() => Array.from(document.querySelectorAll("#tiles article.tile:not(.is-you)"))
    .filter((t) => !t.hidden && !t.closest("[hidden]"))
    .map((t) => {
        const v = t.querySelector(".tile-media video");
        return {person: t.dataset.personId,
                frames: v ? v.getVideoPlaybackQuality().totalVideoFrames : -1};
    })"""
NO_SCROLL = """() => ({scroll: document.documentElement.scrollHeight, height: window.innerHeight,
    wide: document.documentElement.scrollWidth, width: window.innerWidth})"""


@pytest.fixture
def rounds_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server with the two-rounds agenda whose media uses 127.0.0.1 only."""
    yield from running_server(tmp_path, agenda=str(AGENDA), extra=["--ice-address", "127.0.0.1"])


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


def join(browser: Browser, link: str, name: str, problems: list[str]) -> Page:
    """A fresh laptop-sized browser that joins with camera and microphone on."""
    context = browser.new_context(viewport=LAPTOP, permissions=["camera", "microphone"])
    context.add_init_script(f"({RECORD_NOTICES})()")
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"{name}: {exc}"))
    page.goto(link)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#room")).to_be_visible()
    return page


def noticed(page: Page, text: str, timeout: float = 30) -> None:
    """Wait until a toast or the live region said ``text``."""
    page.wait_for_function(
        "(text) => window.__notices.some((n) => n.includes(text))", arg=text, timeout=timeout * 1000
    )


def playing(page: Page, count: int, what: str, timeout: float = 45) -> set[str]:
    """Wait until the stage shows ``count`` other people, each video's frames rising."""
    deadline = time.monotonic() + timeout
    last: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        first = {v["person"]: v["frames"] for v in page.evaluate(FRAMES)}
        page.wait_for_timeout(1000)
        last = page.evaluate(FRAMES)
        now = {v["person"]: v["frames"] for v in last}
        same = len(now) == count and set(now) == set(first)
        if same and all(first[p] >= 0 and now[p] > first[p] for p in now):
            return set(now)
    page.screenshot(path=str(ARTIFACTS / f"failed-{what}.png"))
    raise AssertionError(f"{what}: remote videos not playing: {last}")


def tiles_inside(page: Page, what: str) -> None:
    """Every tile on the stage is fully inside the window (none cut off by the stage)."""
    page.wait_for_timeout(300)  # the layout follows a resize on the next frame
    cut = page.evaluate("""() => Array.from(document.querySelectorAll("#stage article.tile"))
        .filter((t) => !t.hidden && !t.closest("[hidden]"))
        .map((t) => t.getBoundingClientRect())
        .filter((r) => r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth)
        .length""")
    if cut:
        box = page.evaluate("""() => {
            const t = document.getElementById("tiles");
            return {w: t.clientWidth, h: t.clientHeight, tw: t.style.getPropertyValue("--tile-w"),
                    th: t.style.getPropertyValue("--tile-h"), count: t.dataset.count,
                    layout: document.getElementById("stage").dataset.layout,
                    kids: Array.from(t.children).map((c) => [c.className, c.hidden])};
        }""")
        page.screenshot(path=str(ARTIFACTS / f"failed-{what}.png"))
        raise AssertionError(f"{what}: {cut} tiles cut off: {box}")


def no_scroll(page: Page, what: str) -> None:
    size = page.evaluate(NO_SCROLL)
    assert size["scroll"] <= size["height"], (what, size)
    assert size["wide"] <= size["width"], (what, size)


def group_names(page: Page) -> list[str]:
    region = page.get_by_role("region", name="Your group")
    expect(region).to_be_visible(timeout=20_000)
    return region.locator("#group-members li").all_inner_texts()


def test_two_rounds_in_pairs(
    rounds_server: ServerProcess, media_browser: Browser, artifacts: Path
) -> None:
    problems: list[str] = []
    sam = join(media_browser, rounds_server.facilitator, "Sam", problems)
    names = {"sam": "Sam", "ana": "Ana", "ben": "Ben", "cy": "Cy"}
    pages = {"sam": sam}
    for key in ("ana", "ben", "cy"):
        pages[key] = join(media_browser, rounds_server.participant, names[key], problems)
    ids = {
        key: page.locator("#tiles article.tile.is-you").get_attribute("data-person-id")
        for key, page in pages.items()
    }
    for page in pages.values():
        playing(page, 3, "before the rounds")

    # The private choice, beside each person in the People tab.
    ana = pages["ana"]
    open_tab(ana, "People")
    avoid = ana.get_by_label("Please don't put me in a group with Ben")
    expect(ana.locator(f'#people-list li[data-person-id="{ids["ben"]}"]')).to_contain_text(
        "Only you see this"
    )
    avoid.check()
    expect(avoid).to_be_checked()
    ana.locator("#panel-close").click()

    # The facilitator's five tabs fit on one line with the panel open at 1366×768.
    open_tab(sam, "Facilitator")
    tops = sam.locator("#side-panel [role=tab]").evaluate_all(
        "(tabs) => tabs.map((t) => Math.round(t.getBoundingClientRect().top))"
    )
    assert len(tops) == 5 and len(set(tops)) == 1, tops
    tablist = sam.locator("#side-panel [role=tablist]")
    fits = tablist.evaluate("(l) => l.scrollWidth <= l.clientWidth")
    assert fits, "the tabs do not fit in the panel's width"
    sam.get_by_role("button", name="Start").click()
    sam.locator("#fp-next").click()

    # Round 1: everyone is in a pair, sees its one other member, and the round's countdown.
    for key, page in pages.items():
        members = group_names(page)
        assert len(members) == 2 and f"{names[key]} (you)" in members, (key, members)
        timer = page.get_by_role("timer", name="Round time left")
        expect(timer).to_be_visible()
        assert 0 < seconds(timer.inner_text()) <= 40
    for page in pages.values():
        noticed(page, "seconds left in this round")
    # More time, so the checks below happen inside round 1 even on a busy machine.
    sam.get_by_role("button", name="Round +1 min").click()
    partner = {}
    for key, page in pages.items():
        members = group_names(page)
        other = next(m for m in members if not m.endswith("(you)"))
        partner[key] = next(k for k, n in names.items() if n == other)
        assert playing(page, 1, f"{key} in round 1") == {ids[partner[key]]}
        expect(page.locator(REMOTE_TILES)).to_have_count(1)
        expect(page.locator("#group-prompt")).not_to_be_empty()
        no_scroll(page, f"{key} in round 1")
        tiles_inside(page, f"{key} in round 1")
    assert all(partner[partner[k]] == k for k in pages), partner

    # The facilitator sees every group; help and broadcasts reach the right people.
    expect(sam.locator("#fg-groups li")).to_have_count(2)
    ana.get_by_role("button", name="Ask for help").click()
    noticed(sam, "Ana in group")
    prompt = ana.locator("#group-prompt").inner_text()
    ana.get_by_role("button", name="Next card").click()
    expect(ana.locator("#group-prompt")).not_to_have_text(prompt)
    expect(pages[partner["ana"]].locator("#group-prompt")).not_to_have_text(prompt)
    sam.get_by_label("Broadcast to every group").fill("Two minutes to go!")
    sam.locator("#fg-broadcast-form button").click()
    for key in ("ana", "ben", "cy"):
        expect(pages[key].locator("#broadcast-banner")).to_contain_text("Sam to every group")
    for key, page in pages.items():
        page.screenshot(path=str(artifacts / f"round1-{key}.png"))
    sam.get_by_role("button", name="End round").click()

    # Round 2: new pairs (nobody meets the same person twice), dealt by the server.
    for page in pages.values():
        expect(page.locator("#group-round")).to_have_text("Round 2 of 2", timeout=20_000)
    for key, page in pages.items():
        members = group_names(page)
        assert len(members) == 2, members
        assert f"{names[partner[key]]}" not in members, (key, members)
        playing(page, 1, f"{key} in round 2")
    phone = pages["cy"]
    phone.set_viewport_size(PHONE)
    phone.wait_for_timeout(500)
    expect(phone.get_by_role("region", name="Your group")).to_be_in_viewport()
    expect(phone.get_by_role("timer", name="Round time left")).to_be_in_viewport()
    no_scroll(phone, "phone in round 2")
    tiles_inside(phone, "phone in round 2")
    phone.screenshot(path=str(artifacts / "round2-phone.png"))
    pages["ben"].screenshot(path=str(artifacts / "round2-ben.png"))

    # The round ends by itself: everyone is back in the main room, with all three videos.
    for page in pages.values():
        expect(page.get_by_role("region", name="Your group")).to_be_hidden(timeout=60_000)
        expect(page.get_by_role("timer", name="Round time left")).to_be_hidden()
    for key, page in pages.items():
        playing(page, 3, f"{key} after the rounds")
        noticed(page, "back in the main room")
    phone.set_viewport_size(LAPTOP)
    for key, page in pages.items():
        no_scroll(page, f"{key} after the rounds")
        tiles_inside(page, f"{key} after the rounds")
        page.screenshot(path=str(artifacts / f"after-{key}.png"))
    assert not problems, problems
