"""The landing page in a real browser: sample agendas with timelines, and creating a meeting."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from ..integration.harness import ServerProcess


def test_landing_page_shows_the_sample_agendas(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.base + "/")
    for title in ("Network night", "Get to know your network", "Quick check-in"):
        expect(page.get_by_text(title, exact=True).first).to_be_visible()
    # The network-night timeline: offsets, items, decks and per-speaker timeboxes.
    card = (
        page.locator("label, article, li, section")
        .filter(has_text="Network night")
        .filter(has_text="Quick history of each person")
        .last
    )
    expect(card).to_contain_text("Welcome and how it works")
    expect(card).to_contain_text("22:00")
    expect(card).to_contain_text("Dumb mistakes")
    expect(card).to_contain_text("45s")
    expect(page.get_by_role("button", name="Create meeting")).to_be_visible()
    page.screenshot(path=str(artifacts / "landing-wide.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "landing-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    assert not errors, errors


def test_custom_agenda_errors_show_inline_with_line_numbers(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    page = browser.new_page()
    page.goto(server.base + "/")
    page.get_by_label("Paste or upload your own agenda").check()
    page.get_by_label("Agenda YAML").fill(
        "title: Mine\nitems:\n  - title: Hello\n    duration: 5 minutes\n"
    )
    expect(page.get_by_role("alert").filter(has_text="items[0].duration")).to_contain_text(
        "your agenda:4:15"
    )
    page.screenshot(path=str(artifacts / "yaml-error.png"), full_page=True)
    page.get_by_label("Agenda YAML").fill(
        "title: Mine\nitems:\n  - title: Hello\n    duration: 5m\n"
    )
    page.get_by_role("button", name="Create meeting").click()
    expect(page.get_by_text("Your meeting is ready")).to_be_visible()
    participant = page.get_by_label("Participant link").input_value()
    facilitator = page.get_by_label("Facilitator link").input_value()
    assert "/m/" in participant and facilitator.startswith(participant + "?key=")
    # Reloading shows the same meeting (no second one), and the key is not in the address.
    assert "key" not in page.url and "/created" in page.url
    page.reload()
    expect(page.get_by_label("Participant link")).to_have_value(participant)
    expect(page.get_by_label("Facilitator link")).to_have_value(facilitator)
