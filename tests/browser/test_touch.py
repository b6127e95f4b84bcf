"""Staying in touch in real browsers: two people choose each other during the call, and after it
both recaps show the match with the contact line and a vCard; a one-sided choice shows nothing."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Dialog, Page, expect

from ..integration.harness import ServerProcess
from .pages import join, open_tab

ANA_LINE = "ana@example.org or https://ana.example.org/about"
BEN_LINE = "@ben.writes on the fediverse"


def accept(dialog: Dialog) -> None:
    dialog.accept()


def choose(page: Page, name: str, line: str) -> None:
    """Tick "stay in touch" beside ``name`` in the notes panel and write a contact line."""
    page.get_by_label(f"I'd like to stay in touch with {name}").check()
    expect(page.locator("#notes-status")).to_have_text("Saved")
    field = page.get_by_label("My contact line")
    field.fill(line)
    field.press("Tab")
    expect(page.locator("#notes-status")).to_have_text("Saved")


def test_two_people_who_chose_each_other_see_each_others_contact_line(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    problems: list[str] = []
    sam = join(browser, server.facilitator, "Sam", problems, dialogs=False)  # confirms "End"
    ana = join(browser, server.participant, "Ana", problems)
    ben = join(browser, server.participant, "Ben", problems)
    cy = join(browser, server.participant, "Cy", problems)
    sam.get_by_role("button", name="Start").click()
    for page in (ana, ben, cy):
        open_tab(page, "Notes")  # the notes panel is a tab of the side panel
    expect(ana.get_by_label("I'd like to stay in touch with Ben")).to_be_visible()
    choose(ana, "Ben", ANA_LINE)
    choose(ben, "Ana", BEN_LINE)
    choose(cy, "Ana", "cy-one-sided@example.org")  # Ana does not choose Cy
    ana.screenshot(path=str(artifacts / "room-notes-panel.png"), full_page=True)

    sam.once("dialog", accept)
    open_tab(sam, "Facilitator")
    sam.get_by_role("button", name="End meeting").click()
    expect(ana.locator("#ended-banner")).to_contain_text("The meeting has ended.")
    recap = f"{server.base}/m/{server.meeting_id}/recap"
    for page, other, line in ((ana, "Ben", BEN_LINE), (ben, "Ana", ANA_LINE)):
        page.goto(recap)
        card = page.locator("#stay-in-touch")
        expect(card).to_contain_text(f"You and {other} both want to stay in touch.")
        expect(card.locator(".contact-line")).to_have_text(line)
        with page.expect_download() as download:
            card.get_by_role("link", name=f"Download {other}'s contact card (.vcf)").click()
        assert download.value.suggested_filename == f"{other.lower()}.vcf"
        vcard = Path(download.value.path()).read_text(encoding="utf-8")
        assert vcard.startswith("BEGIN:VCARD") and f"FN:{other}" in vcard
    # Ben's line is text; Ana's has a clickable link (and an e-mail link), nothing else.
    links = ben.locator("#stay-in-touch .contact-line a")
    expect(links).to_have_count(2)
    expect(links.nth(1)).to_have_attribute("href", "https://ana.example.org/about")
    expect(ana.locator("#stay-in-touch .contact-line a")).to_have_count(0)
    ana.screenshot(path=str(artifacts / "recap-match-ana.png"), full_page=True)
    ben.screenshot(path=str(artifacts / "recap-match-ben.png"), full_page=True)

    # Cy chose Ana alone: Cy's recap shows no match, and Ana's shows nothing of it.
    cy.goto(recap)
    expect(cy.locator("#stay-in-touch")).to_contain_text("No matches yet.")
    expect(cy.get_by_role("switch", name="I'd like to stay in touch with Ana")).to_have_attribute(
        "aria-checked", "true"
    )
    expect(ana.locator("main")).not_to_contain_text("cy-one-sided")
    expect(ana.get_by_role("switch", name="I'd like to stay in touch with Cy")).to_have_attribute(
        "aria-checked", "false"
    )
    cy.screenshot(path=str(artifacts / "recap-no-match-cy.png"), full_page=True)
    sam.goto(recap)
    expect(sam.locator("main")).not_to_contain_text("both want to stay in touch")
    expect(sam.locator("main")).not_to_contain_text("cy-one-sided")

    # On the recap page, Ana changes her mind about Cy: a new match appears on the next visit.
    ana.get_by_role("switch", name="I'd like to stay in touch with Cy").click()
    expect(ana.locator("#stay-in-touch")).to_contain_text("You and Cy both want to stay in touch.")
    cy.reload()
    expect(cy.locator("#stay-in-touch .contact-line")).to_have_text(ANA_LINE)
    assert not problems, problems
