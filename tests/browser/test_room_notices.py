"""Nothing is missed in the room: your turn, a knock at the lobby, a raised hand, a new message,
a new role; reactions, the tab title, the self view, the lobby's way out, and controls that show
the real state after the end."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from ..integration.harness import ServerProcess
from .pages import join, open_tab, watch

HIDE_TAB = """() => {
    Object.defineProperty(document, "hidden", {value: true, configurable: true});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def speaker_id(page: Page) -> str:
    tile = page.locator("#spotlight-slot article.tile")
    expect(tile).to_have_count(1)
    person = tile.get_attribute("data-person-id")
    assert person
    return person


def test_nothing_is_missed(server: ServerProcess, browser: Browser, artifacts: Path) -> None:
    problems: list[str] = []
    sam = join(browser, server.facilitator, "Sam", problems, dialogs=False)
    sam.on("dialog", lambda d: d.accept())  # "Mute everyone?", "End the meeting?"
    ana = join(browser, server.participant, "Ana", problems)
    ben = join(browser, server.participant, "Ben", problems)
    pages = {"Sam": sam, "Ana": ana, "Ben": ben}
    ids = {
        name: page.locator("#tiles article.tile.is-you").get_attribute("data-person-id")
        for name, page in pages.items()
    }

    # Before Start the item timer is not amber; the countdown never shows "+00:00 over".
    expect(ana.locator("#timer-box-item")).not_to_have_class("warn")
    formats = ana.evaluate("""async () => {
        const f = await import("/static/format.js");
        return [f.countdownText(0), f.countdownText(-0.4), f.countdownText(-1.2),
                f.warnThreshold([300, 60], 60, 60), f.warnThreshold([300, 60], 600, 60),
                f.hardStopText(12, 30), f.hardStopText(0, 30), f.hardStopText(-29.5, 30)];
    }""")
    assert formats == [
        "00:00",
        "00:00",
        "+00:01 over",
        15,
        60,
        "",
        "This call ends in 0:30",
        "This call ends in 0:01",
    ]

    # Every guest looks at another tab of the panel: the turn is announced all the same.
    open_tab(ana, "Notes")
    open_tab(ben, "Agenda")
    sam.get_by_role("button", name="Start").click()
    sam.get_by_role("button", name="Next item").click()
    first = speaker_id(ana)
    if first == ids["Sam"]:
        sam.get_by_role("button", name="Next speaker").click()
        # Wait for the next speaker's tile: the old one stays until the state comes.
        expect(ana.locator("#spotlight-slot article.tile")).not_to_have_attribute(
            "data-person-id", first
        )
        first = speaker_id(ana)
    turn = next(page for name, page in pages.items() if ids[name] == first)
    expect(turn.locator("#announcer")).to_have_text("It's your turn")
    expect(turn).to_have_title("Your turn! · Network night")
    expect(turn.locator("#ib-your-turn")).to_be_visible()
    expect(turn.get_by_role("button", name="Pass")).to_be_visible()
    turn.screenshot(path=str(artifacts / "your-turn.png"))

    # A hidden tab shows the meeting countdown in its title.
    other = ben if turn is ana else ana
    other.evaluate(HIDE_TAB)
    expect(other).to_have_title(re.compile(r"^\d\d:\d\d left · Network night$"))

    # A new message with the chat closed: a toast, a badge, an announcement; links work.
    other.evaluate("""() => {
        Object.defineProperty(document, "hidden", {value: false, configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    open_tab(sam, "Chat")
    sam.get_by_label("Message").fill("Slides: https://example.org/deck?p=1.")
    sam.get_by_role("button", name="Send").click()
    for page in (ana, ben):
        expect(page.locator("#toasts")).to_contain_text(
            "Sam: Slides: https://example.org/deck?p=1."
        )
        expect(page.locator("#open-chat .tab-badge")).to_have_text("1")
        expect(page.locator("#announcer")).to_contain_text("Sam: Slides")
        link = page.locator("#chat-log a")
        expect(link).to_have_attribute("href", "https://example.org/deck?p=1")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
    open_tab(ben, "Chat")
    expect(ben.locator("#open-chat .tab-badge")).to_be_hidden()

    # A raised hand: the facilitator hears of it and can lower it.
    ben.get_by_role("button", name="Raise hand").click()
    expect(sam.locator("#toasts")).to_contain_text("Ben raised their hand.")
    open_tab(sam, "People")
    sam.get_by_role("button", name="Lower Ben's hand").click()
    expect(ben.get_by_role("button", name="Raise hand")).to_be_visible()

    # Reactions float over the sender's tile for everyone.
    ana.get_by_text("React", exact=True).click()
    ana.get_by_role("button", name="Applause").click()
    bubble = ben.locator(f'article.tile[data-person-id="{ids["Ana"]}"] .reaction-float')
    expect(bubble).to_have_attribute("aria-label", "Ana: Applause")

    # Becoming a facilitator, and back.
    sam.get_by_role("button", name="Make facilitator Ana").click()
    expect(ana.locator("#toasts")).to_contain_text("You're now a facilitator.")
    expect(ana.get_by_role("tab", name="Facilitator")).to_be_visible()
    sam.get_by_role("button", name="Make participant Ana").click()
    expect(ana.get_by_role("tab", name="Facilitator")).to_be_hidden()

    # Hide self view.
    ben.get_by_text("More", exact=True).click()
    ben.get_by_role("button", name="Hide self view").click()
    expect(ben.locator(f'article.tile[data-person-id="{ids["Ben"]}"]')).to_be_hidden()

    # A knock at the lobby; the person waiting sees their preview and can leave.
    open_tab(sam, "Facilitator")
    sam.get_by_role("button", name="Lobby on").click()
    cleo = watch(browser.new_context(viewport={"width": 1280, "height": 900}).new_page(), problems)
    cleo.goto(server.participant)
    cleo.get_by_label("Your name").fill("Cleo")
    cleo.get_by_role("button", name="Join").click()
    expect(cleo.locator("#lobby")).to_be_visible()
    expect(cleo.locator("#lobby #preview-box")).to_be_visible()
    expect(cleo.locator("#lobby").get_by_role("button", name="Camera on")).to_be_visible()
    expect(sam.locator("#toasts")).to_contain_text("Cleo is waiting in the lobby.")
    expect(sam.locator("#open-people .tab-waiting")).to_have_text("1 waiting")
    cleo.screenshot(path=str(artifacts / "lobby.png"))
    cleo.locator("#lobby").get_by_role("button", name="Leave").click()
    expect(cleo.locator("#left")).to_be_visible()
    assert cleo.evaluate("() => window.__facilitatorTest.media.videoTrack") is None

    # Mute everyone; then the end: the controls say what is true.
    sam.get_by_role("button", name="Mute everyone").click()
    expect(ana.locator("#muted-banner")).to_be_visible()
    sam.get_by_role("button", name="End meeting").click()
    for page in (ana, ben):
        expect(page.locator("#ended-banner")).to_be_visible()
        expect(page.locator("#camera-button")).to_have_text("Camera off")
        expect(page.locator("#camera-button")).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#camera-button")).to_be_disabled()
    ana.screenshot(path=str(artifacts / "ended.png"))
    assert not problems, problems
