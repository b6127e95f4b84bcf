"""A whole meeting in real browsers: create, join by link, run the agenda, raise a hand."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from ..integration.harness import ServerProcess
from .pages import join, open_tab, seconds


def test_a_facilitated_meeting_in_three_browsers(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    # The host creates the meeting from the landing page.
    host_page = browser.new_page()
    host_page.goto(server.base + "/")
    host_page.get_by_label("Title").fill("Thursday network night")
    host_page.get_by_role("button", name="Create meeting").click()
    expect(host_page.get_by_text("Your meeting is ready")).to_be_visible()
    participant_link = host_page.get_by_label("Participant link").input_value()
    facilitator_link = host_page.get_by_label("Facilitator link").input_value()
    host_page.screenshot(path=str(artifacts / "created.png"), full_page=True)

    sam = join(browser, facilitator_link, "Sam")
    assert "key=" not in sam.url  # the key leaves the address bar
    ana = join(browser, participant_link, "Ana")
    ben = join(browser, participant_link, "Ben")
    expect(ana.get_by_role("button", name="Start")).to_have_count(0)
    expect(sam.locator("#people-list li.person")).to_have_count(3)

    sam.get_by_role("button", name="Start").click()
    sam.get_by_role("button", name="Next item").click()
    for page in (ana, ben, sam):
        expect(page.locator("#now-title")).to_contain_text("Name game")
        expect(page.locator("#ib-title")).to_contain_text("Name game")
        expect(page.locator("#ib-prompt")).not_to_be_empty()
        for label in ("Meeting time left", "Item time left", "Speaker time left"):
            expect(page.get_by_role("timer", name=label)).to_be_visible()

    # The three screens agree on every countdown within a second.
    for label in ("Meeting time left", "Item time left", "Speaker time left"):
        readings = []
        started = time.monotonic()
        for page in (sam, ana, ben):
            readings.append(seconds(page.get_by_role("timer", name=label).inner_text()))
        took = time.monotonic() - started
        assert max(readings) - min(readings) <= 1 + int(took), (label, readings)
    item_left = seconds(ana.get_by_role("timer", name="Item time left").inner_text())
    assert 250 <= item_left <= 300  # the name game has 5 minutes

    ana.get_by_role("button", name="Raise hand").click()
    expect(ana.get_by_role("button", name="Lower hand")).to_be_visible()
    open_tab(sam, "People")
    ana_row = sam.locator("#people-list li.person").filter(has_text="Ana")
    expect(ana_row).to_contain_text("hand raised")
    expect(sam.get_by_role("button", name=re.compile("^Mute Ana"))).to_be_visible()

    open_tab(ana, "Chat")
    ana.get_by_label("Message").fill("Hello <b>everyone</b>")
    ana.get_by_role("button", name="Send").click()
    expect(ben.locator("#chat-log")).to_contain_text("Hello <b>everyone</b>")

    for name, page in (("facilitator", sam), ("participant-ana", ana), ("participant-ben", ben)):
        page.screenshot(path=str(artifacts / f"room-{name}.png"), full_page=True)
    ben.set_viewport_size({"width": 390, "height": 844})
    ben.screenshot(path=str(artifacts / "room-phone.png"), full_page=True)
    assert ben.evaluate("document.documentElement.scrollWidth") <= 390
