"""The page tells the server whose tiles it shows (the `visible` message), and keeps telling it
while the layout runs over and over, as it does several times a second while people talk."""

from __future__ import annotations

import json
import time

from playwright.sync_api import Browser, WebSocket

from ..integration.harness import ServerProcess
from .pages import join

# A window resize lays the tiles out again; people talking do the same, a few times a second.
CHURN = """() => { window.__churn = setInterval(
    () => window.dispatchEvent(new Event("resize")), 100); }"""


def test_a_new_tile_is_reported_while_the_layout_keeps_running(
    server: ServerProcess, browser: Browser
) -> None:
    problems: list[str] = []
    reports: list[list[str]] = []

    def on_socket(ws: WebSocket) -> None:
        def sent(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message.get("type") == "visible":
                reports.append(message["value"]["people"])

        ws.on("framesent", sent)

    sam = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sam.on("websocket", on_socket)
    sam.goto(server.facilitator)
    sam.get_by_label("Your name").fill("Sam")
    sam.get_by_role("button", name="Join").click()
    sam.locator("#room").wait_for()
    sam.evaluate(CHURN)

    ana = join(browser, server.participant, "Ana", problems)
    ana_id = ana.locator("#tiles article.tile.is-you").get_attribute("data-person-id")
    assert ana_id
    sam.locator(f'#tiles article.tile[data-person-id="{ana_id}"]').wait_for()
    deadline = time.monotonic() + 5
    while not any(ana_id in people for people in reports) and time.monotonic() < deadline:
        sam.wait_for_timeout(100)
    assert any(ana_id in people for people in reports), reports
    # At most one report per 400 ms, churn or not.
    assert len(reports) <= 3, reports
    assert problems == []
