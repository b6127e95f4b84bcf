"""Your own connection's quality on your tile, and the notice when the server sends fewer videos.

The grading runs in the page (static/quality.js has no DOM, so it is tested here by importing it);
the notice and the paused tiles are driven through the documented test hook (the server's side of
`network` is tested in tests/test_allocator.py and tests/media/test_network.py).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from ..integration.harness import ServerProcess
from .test_video import join, media_browser, media_server, pytestmark

__all__ = ["media_browser", "media_server", "pytestmark"]

OWN_QUALITY = "#tiles article.tile.is-you .tile-info .tile-quality"

GRADES = """async () => {
    const q = await import("/static/quality.js");
    const meter = new q.QualityMeter();
    const first = meter.sample([
        {type: "inbound-rtp", id: "in1", packetsLost: 0, packetsReceived: 100},
    ]);
    const lossy = meter.sample([
        {type: "inbound-rtp", id: "in1", packetsLost: 12, packetsReceived: 188},
        {type: "candidate-pair", nominated: true, state: "succeeded", currentRoundTripTime: 0.03},
    ]);
    const uplink = new q.QualityMeter().sample([
        {type: "remote-inbound-rtp", fractionLost: 0.05, roundTripTime: 0.1},
        {type: "candidate-pair", nominated: false, state: "succeeded", currentRoundTripTime: 2},
    ]);
    return {
        nothing: q.grade({loss: null, rtt: null}),
        good: q.grade({loss: 0, rtt: 0.05}),
        lossFair: q.grade({loss: 0.05, rtt: null}),
        rttFair: q.grade({loss: null, rtt: 0.3}),
        lossWeak: q.grade({loss: 0.2, rtt: 0.05}),
        rttWeak: q.grade({loss: 0, rtt: 0.8}),
        first, lossy, uplink,
    };
}"""


PAUSED_BOXES = """(id) => {
    const tile = document.querySelector(`#tiles article.tile[data-person-id="${id}"]`);
    const box = (el) => {
        const r = el.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,
                width: r.width, height: r.height};
    };
    const label = tile.querySelector(".tile-paused");
    const lineHeight = parseFloat(getComputedStyle(label).lineHeight) || 16;
    return {tile: box(tile), label: box(label), name: box(tile.querySelector(".tile-name")),
            lines: Math.round(label.getBoundingClientRect().height / lineHeight),
            dimmed: getComputedStyle(tile.querySelector(".tile-media video")).filter};
}"""


def test_own_tile_shows_connection_quality_and_the_fewer_videos_notice(
    media_server: ServerProcess, media_browser: Browser, artifacts: Path
) -> None:
    errors: list[str] = []
    sam = join(media_browser, media_server.facilitator, "Sam", errors)
    ana = join(media_browser, media_server.participant, "Ana", errors)
    # Loopback loses nothing and answers at once: both see "good" on their own tile only.
    for page in (sam, ana):
        badge = page.locator(OWN_QUALITY)
        expect(badge).to_have_attribute("data-quality", "good", timeout=20_000)
        expect(badge).to_have_text("Connection: good")
        expect(page.locator("#tiles article.tile:not(.is-you) .tile-quality")).to_have_count(0)

    grades = sam.evaluate(GRADES)
    assert grades["nothing"] is None
    assert grades["good"] == "good"
    assert grades["lossFair"] == grades["rttFair"] == "fair"
    assert grades["lossWeak"] == grades["rttWeak"] == "weak"
    assert grades["first"] == {"loss": None, "rtt": None}  # inbound loss needs two samples
    assert grades["lossy"]["loss"] == 0.12 and grades["lossy"]["rtt"] == 0.03
    assert grades["uplink"] == {"loss": 0.05, "rtt": 0.1}  # an unselected pair does not count

    # The hook shows what a weak network would; the sampler takes over again after.
    shown = sam.evaluate(
        """(selector) => {
            window.__facilitatorTest.quality("weak");
            const badge = document.querySelector(selector);
            return [badge.dataset.quality, badge.textContent];
        }""",
        OWN_QUALITY,
    )
    assert shown == ["weak", "Connection: weak"]
    expect(sam.locator(OWN_QUALITY)).to_have_attribute("data-quality", "good", timeout=10_000)

    notice = sam.locator("#network-notice")
    expect(notice).to_have_attribute("role", "status")
    expect(notice).to_have_text("")
    sam.evaluate("() => window.__facilitatorTest.network({constrained: true})")
    expect(notice).to_have_text("Your connection is weak: showing fewer videos.")
    expect(ana.locator("#network-notice")).to_have_text("")
    # A video the server pauses for this connection says so on its tile, and only there.
    ana_tile = sam.locator("#tiles article.tile:not(.is-you)")
    ana_id = ana_tile.get_attribute("data-person-id")
    assert ana_id
    label = ana_tile.locator(".tile-paused")
    expect(label).to_be_hidden()
    sam.evaluate(
        "(id) => window.__facilitatorTest.network({constrained: true, paused: [id]})", ana_id
    )
    expect(label).to_be_visible()
    expect(label).to_have_text("Video paused to save bandwidth")
    expect(sam.locator("#tiles article.tile.is-you .tile-paused")).to_be_hidden()
    # The corner tile shows just the grade; its name keeps the whole sentence.
    expect(sam.locator(OWN_QUALITY)).to_have_text("Connection: good")
    sam.screenshot(path=str(artifacts / "video-paused.png"))
    # At a phone's and a desktop's size the label stays inside its tile, clear of the name.
    for size, (width, height) in {"phone": (390, 844), "desktop": (1920, 1080)}.items():
        sam.set_viewport_size({"width": width, "height": height})
        sam.wait_for_timeout(300)  # the tiles are laid out again on the next frame
        boxes = sam.evaluate(PAUSED_BOXES, ana_id)
        tile, text, name = boxes["tile"], boxes["label"], boxes["name"]
        assert text["width"] > 0 and text["height"] > 0, (size, boxes)
        assert tile["left"] - 0.5 <= text["left"] and text["right"] <= tile["right"] + 0.5
        assert tile["top"] - 0.5 <= text["top"] and text["bottom"] <= tile["bottom"] + 0.5
        assert text["bottom"] <= name["top"] or text["top"] >= name["bottom"], (size, boxes)
        assert boxes["lines"] <= 3, (size, boxes)  # a short label, not a column of words
        assert "brightness" in boxes["dimmed"], boxes  # the frozen picture is dimmed
        sam.screenshot(path=str(artifacts / f"video-paused-{size}.png"))
    sam.evaluate("() => window.__facilitatorTest.network({constrained: false})")
    expect(notice).to_have_text("")
    expect(label).to_be_hidden()
    assert errors == []
