"""The recap in real browsers: a short meeting, a private note, the charts and the Markdown."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Dialog, expect

from ..integration.harness import ServerProcess
from .pages import join

NOTE = "Sam: blogging for 3 years, a small dog that thinks it is big"


def accept(dialog: Dialog) -> None:
    dialog.accept()


def test_recap_shows_the_meeting_and_only_your_own_notes(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    problems: list[str] = []
    sam = join(browser, server.facilitator, "Sam", problems, dialogs=False)  # confirms "End"
    ana = join(browser, server.participant, "Ana", problems)
    sam.get_by_role("button", name="Start").click()
    sam.get_by_role("button", name="Next item").click()
    expect(ana.locator("#ib-title")).to_contain_text("Name game")

    # Ana starts a note; a new state arrives mid-sentence and she carries on typing unharmed.
    note = ana.get_by_label("What I learned about Sam")
    note.click()
    ana.keyboard.type(NOTE[:20])
    sam.get_by_role("button", name="Next speaker").click()
    expect(sam.locator("#people-list .badge-spoke")).to_have_count(1)
    expect(note).to_be_focused()
    ana.keyboard.type(NOTE[20:])
    expect(note).to_have_value(NOTE)
    expect(ana.locator("#notes-status")).to_have_text("Saved")

    sam.once("dialog", accept)
    sam.get_by_role("button", name="End meeting").click()
    banner = ana.locator("#ended-banner")
    expect(banner).to_contain_text("The meeting has ended. Thanks for coming!")
    banner.get_by_role("link", name="See the recap").click()
    expect(ana).to_have_url(re.compile(rf"/m/{server.meeting_id}/recap$"))

    # The agenda, planned against actual: one bar per item.
    agenda = ana.locator("section").filter(
        has=ana.get_by_role("heading", name="Agenda: planned and actual")
    )
    rows = agenda.locator(".recap-table tbody tr")
    expect(rows).to_have_count(8)  # network-night has 8 items since it got small groups
    expect(agenda.locator("svg.bars rect.bar-actual")).to_have_count(8)
    expect(rows.nth(0)).to_contain_text("Welcome and how it works")
    expect(rows.nth(1)).to_contain_text("Name game")
    # Her own note, under its person.
    heading = ana.get_by_role("heading", name="What I learned about Sam")
    expect(heading).to_be_visible()
    expect(heading.locator("xpath=following-sibling::p[1]")).to_have_text(NOTE)

    ana.screenshot(path=str(artifacts / "recap-wide.png"), full_page=True)
    ana.set_viewport_size({"width": 390, "height": 844})
    ana.screenshot(path=str(artifacts / "recap-phone.png"), full_page=True)
    width = ana.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the recap scrolls sideways on a phone ({width}px)"
    ana.set_viewport_size({"width": 1280, "height": 900})

    # The Markdown download has the table and her note.
    with ana.expect_download() as download:
        ana.get_by_role("link", name="Download as Markdown").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert "| Item | Planned | Actual | Over |" in markdown
    assert NOTE in markdown

    # Sam sees the same meeting, but never Ana's note.
    sam.goto(f"{server.base}/m/{server.meeting_id}/recap")
    expect(sam.get_by_role("heading", name="Agenda: planned and actual")).to_be_visible()
    expect(sam.locator("main")).to_contain_text("You wrote no notes in this meeting.")
    expect(sam.locator("main")).not_to_contain_text("blogging")
    sam.screenshot(path=str(artifacts / "recap-facilitator.png"), full_page=True)
    assert not problems, problems
