"""axe-core (pinned in package.json, injected by the test) finds no accessibility violations on
the landing page, the room, the lobby and the recap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from ..integration.harness import ROOT, ServerProcess
from .pages import open_tab

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
    }));
}"""


def violations(page: Page) -> list[dict[str, Any]]:
    """Inject axe-core and run it over the page as it is now."""
    page.add_script_tag(content=AXE.read_text("utf-8"))
    found: list[dict[str, Any]] = page.evaluate(RUN)
    return found


def fresh(browser: Browser, width: int = 1280, height: int = 900) -> Page:
    """A page whose context lets the injected axe-core run despite the CSP."""
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    return context.new_page()


def enter(browser: Browser, link: str, name: str, width: int = 1280, height: int = 900) -> Page:
    page = fresh(browser, width, height)
    page.goto(link)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    return page


def test_no_accessibility_violations(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci)")
    found: dict[str, list[dict[str, Any]]] = {}
    landing = fresh(browser)
    landing.goto(server.base + "/")
    found["landing"] = violations(landing)

    sam = enter(browser, server.facilitator, "Sam")
    ana = enter(browser, server.participant, "Ana", 390, 844)
    expect(sam.locator("#room")).to_be_visible()
    expect(ana.locator("#room")).to_be_visible()
    sam.get_by_role("button", name="Start").click()
    sam.get_by_role("button", name="Next item").click()
    expect(ana.locator("#ib-prompt")).not_to_be_empty()
    found["room"] = violations(ana)
    open_tab(sam, "People")
    found["room-people"] = violations(sam)
    open_tab(sam, "Facilitator")
    found["room-facilitator"] = violations(sam)

    sam.get_by_role("button", name="Lobby on").click()
    cleo = enter(browser, server.participant, "Cleo")
    expect(cleo.locator("#lobby")).to_be_visible()
    found["lobby"] = violations(cleo)

    sam.on("dialog", lambda d: d.accept())
    sam.get_by_role("button", name="End meeting").click()
    expect(ana.locator("#ended-banner")).to_be_visible()
    found["room-ended"] = violations(ana)
    sam.goto(f"{server.base}/m/{server.meeting_id}/recap")
    expect(sam.get_by_role("heading", name="Agenda: planned and actual")).to_be_visible()
    found["recap"] = violations(sam)
    bad = {where: v for where, v in found.items() if v}
    assert not bad, bad
