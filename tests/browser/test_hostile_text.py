"""Hostile text everywhere people can type renders as inert text, with no CSP violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from ..integration.harness import ROOT, ServerProcess, running_server
from .pages import join, open_tab, watch

IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "</script><script>window.__pwned=2</script>"
RTL = "\u202eevil\u202c"


def yaml_quoted(text: str) -> str:
    """A double-quoted YAML string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


DECK = "\n".join(
    [
        f"title: {yaml_quoted('Hostile ' + IMG)}",
        f"how_it_works: {yaml_quoted(SCRIPT + ' how')}",
        "prompts:",
        f"  - {yaml_quoted('Prompt ' + IMG)}",
        f"  - {yaml_quoted('Prompt ' + SCRIPT)}",
    ]
)
AGENDA = "\n".join(
    [
        f"title: {yaml_quoted('Title ' + IMG)}",
        "items:",
        f"  - title: {yaml_quoted(SCRIPT)}",
        "    duration: 5m",
        f"    notes: {yaml_quoted('Notes ' + IMG + ' ' + 'x' * 1900)}",
        f"  - title: {yaml_quoted('Ice ' + RTL)}",
        "    duration: 5m",
        "    icebreaker: hostile",
        "    per_speaker: 30s",
    ]
)


@pytest.fixture
def hostile_server(tmp_path: Path) -> Iterator[ServerProcess]:
    decks = tmp_path / "icebreakers"
    agendas = tmp_path / "agendas"
    decks.mkdir()
    agendas.mkdir()
    for deck in (ROOT / "icebreakers").glob("*.yaml"):
        (decks / deck.name).write_text(deck.read_text())
    (decks / "hostile.yaml").write_text(DECK)
    (agendas / "hostile.yaml").write_text(AGENDA)
    yield from running_server(
        tmp_path,
        agenda=str(agendas / "hostile.yaml"),
        extra=["--icebreakers", str(decks), "--agendas", str(agendas)],
    )


def test_hostile_text_is_inert(
    hostile_server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    problems: list[str] = []
    landing = watch(browser.new_page(), problems)
    landing.goto(hostile_server.base + "/")
    expect(landing.get_by_text(f"Title {IMG}").first).to_be_visible()
    host = join(browser, hostile_server.facilitator, "<b>Host</b>", problems)
    guest_name = '<img src=x onerror="window.__pwned=3">'[:40]
    guest = join(browser, hostile_server.participant, guest_name, problems)
    host.get_by_role("button", name="Start").click()
    expect(host.locator("#now-notes")).to_contain_text(f"Notes {IMG}")
    open_tab(guest, "Chat")
    guest.get_by_label("Message").fill(f"{SCRIPT} {IMG} {RTL} https://example.org/x")
    guest.get_by_role("button", name="Send").click()
    expect(host.locator("#chat-log")).to_contain_text(SCRIPT)
    host.get_by_role("button", name="Next item").click()
    expect(guest.locator("#ib-title")).to_contain_text(f"Hostile {IMG}")
    # Direction overrides are gone: "evil" does not read as "live".
    expect(guest.locator("#now-title")).to_contain_text("Ice evil")
    expect(guest.locator("#ib-prompt")).to_contain_text("Prompt ")
    expect(host.locator("#people-list")).to_contain_text(guest_name)
    # Long messages are refused, and the page says so without breaking.
    guest.get_by_label("Message").fill("y" * 10_000)
    guest.get_by_role("button", name="Send").click()
    for page in (landing, host, guest):
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#app img, main img").count() == 0
    # Links in chat are real links (text only, no referrer); everything else stays text.
    assert landing.locator("a[href^='https://example.org']").count() == 0
    for page in (host, guest):
        link = page.locator("#chat-log a[href^='https://example.org']")
        expect(link).to_have_count(1)
        expect(link).to_have_text("https://example.org/x")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
        assert link.evaluate("a => a.children.length") == 0
    host.screenshot(path=str(artifacts / "hostile-host.png"), full_page=True)
    guest.screenshot(path=str(artifacts / "hostile-guest.png"), full_page=True)
    assert not problems, problems
