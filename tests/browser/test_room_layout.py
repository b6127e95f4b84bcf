"""The room is a video call: at a laptop, a desktop and a phone size, with four people during
an icebreaker turn, the window is faces, the speaker, the prompt, the time and the controls,
and nothing scrolls. Screenshots of each size are saved under test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from ..integration.harness import ServerProcess
from .pages import join

SIZES = {"laptop": (1366, 768), "desktop": (1920, 1080), "phone": (390, 844)}

MEASURE = """() => {
    const vw = window.innerWidth, vh = window.innerHeight;
    const area = (r) => Math.max(0, Math.min(r.right, vw) - Math.max(r.left, 0))
        * Math.max(0, Math.min(r.bottom, vh) - Math.max(r.top, 0));
    const box = (el) => {
        if (!el) return null;
        const r = el.getBoundingClientRect();
        const shown = r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,
                width: r.width, height: r.height, shown,
                inside: shown && r.left >= -0.5 && r.top >= -0.5 && r.right <= vw + 0.5
                    && r.bottom <= vh + 0.5};
    };
    const tiles = Array.from(document.querySelectorAll("#stage article.tile"))
        .filter((t) => !t.closest("[hidden]"));
    return {
        vw, vh,
        scrollHeight: document.documentElement.scrollHeight,
        scrollWidth: document.documentElement.scrollWidth,
        speaker: box(document.querySelector("#spotlight-slot article.tile")),
        prompt: box(document.querySelector("#ib-prompt")),
        timers: ["meeting", "item", "speaker"].map(
            (k) => box(document.getElementById("timer-" + k))),
        mic: box(document.getElementById("mic-button")),
        camera: box(document.getElementById("camera-button")),
        leave: box(document.getElementById("leave-button")),
        faces: tiles.reduce((sum, t) => sum + area(t.getBoundingClientRect()), 0),
        tileCount: tiles.length,
    };
}"""


def check_call_layout(page: Page, size: str) -> dict[str, Any]:
    """Measure one page and assert the room is a call at this size."""
    m: dict[str, Any] = page.evaluate(MEASURE)
    viewport = m["vw"] * m["vh"]
    where = f"{size}: {m}"
    assert m["scrollHeight"] <= m["vh"], where
    assert m["scrollWidth"] <= m["vw"], where
    assert m["speaker"] and m["speaker"]["inside"], where
    share = m["speaker"]["width"] * m["speaker"]["height"] / viewport
    assert share >= (0.25 if size == "phone" else 0.20), (share, where)
    assert m["prompt"] and m["prompt"]["inside"], where
    for timer in m["timers"]:
        assert timer and timer["inside"], where
    for control in ("mic", "camera", "leave"):
        assert m[control] and m[control]["inside"], (control, where)
    assert m["tileCount"] == 4, where
    assert m["faces"] / viewport >= 0.40, (m["faces"] / viewport, where)
    return m


def test_the_room_is_a_call_at_three_sizes(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    problems: list[str] = []
    sam = join(browser, server.facilitator, "Sam", problems)
    guests = [join(browser, server.participant, name, problems) for name in ("Ana", "Ben", "Cleo")]
    pages = {"sam": sam, "ana": guests[0], "ben": guests[1], "cleo": guests[2]}
    sam.get_by_role("button", name="Start").click()
    sam.get_by_role("button", name="Next item").click()
    for page in pages.values():
        expect(page.locator("#ib-prompt")).not_to_be_empty()
        expect(page.locator("#spotlight-slot article.tile")).to_have_count(1)
        expect(page.locator("#stage article.tile")).to_have_count(4)
    shares: dict[str, float] = {}
    for size, (width, height) in SIZES.items():
        for page in pages.values():
            page.set_viewport_size({"width": width, "height": height})
        sam.wait_for_timeout(150)  # a frame for the tiles to be sized
        sam.screenshot(path=str(artifacts / f"room-{size}-facilitator.png"))
        guests[0].screenshot(path=str(artifacts / f"room-{size}-guest.png"))
        for name, page in pages.items():
            m = check_call_layout(page, size)
            shares[f"{size}-{name}"] = round(m["faces"] / (m["vw"] * m["vh"]), 3)
    print("faces share of the window:", shares)

    # The side panel shrinks the stage on a wide screen and never covers it.
    sam.set_viewport_size({"width": 1366, "height": 768})
    sam.get_by_role("button", name="People").click()
    expect(sam.get_by_role("tab", name="People")).to_have_attribute("aria-selected", "true")
    stage = sam.locator("#stage").bounding_box()
    panel = sam.locator("#side-panel").bounding_box()
    assert stage and panel and stage["x"] + stage["width"] <= panel["x"] + 1, (stage, panel)
    sam.wait_for_timeout(150)
    expect(sam.locator("#spotlight-slot article.tile")).to_be_in_viewport(ratio=1.0)
    sam.screenshot(path=str(artifacts / "room-laptop-panel-open.png"))
    # On a phone it is a sheet over the stage, with a close button.
    ana = guests[0]
    ana.set_viewport_size({"width": 390, "height": 844})
    ana.get_by_role("button", name="Chat").click()
    expect(ana.get_by_role("tabpanel")).to_be_visible()
    ana.screenshot(path=str(artifacts / "room-phone-chat-sheet.png"))
    ana.get_by_role("button", name="Close panel").click()
    expect(ana.locator("#side-panel")).to_be_hidden()
    assert not problems, problems
