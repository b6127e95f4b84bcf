"""A role change in the room replaces the session token (issue 17) without breaking the page:
the server closes the socket, the page reconnects by itself, the WebSocket handshake brings the
new cookie, and the call's media connection carries on."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, expect

from ..integration.harness import ServerProcess
from .pages import join as join_by_name
from .pages import open_tab
from .test_media_rejoin import CAPTURE, counts, wait_playing
from .test_video import media_browser, media_server, pytestmark, two_in_a_call

__all__ = ["media_browser", "media_server", "pytestmark"]


def session_cookie(context: BrowserContext, meeting_id: str) -> str:
    """The browser's session cookie for the meeting (HttpOnly: the page itself cannot read it)."""
    values = [c["value"] for c in context.cookies() if c["name"] == f"fs_{meeting_id}"]
    assert len(values) == 1, values
    return values[0]


def new_cookie(context: BrowserContext, meeting_id: str, old: str) -> str:
    """Wait until the browser's session cookie is no longer ``old``; return the new one."""
    deadline = time.monotonic() + 10
    while (value := session_cookie(context, meeting_id)) == old:
        assert time.monotonic() < deadline, "the session cookie did not change"
        time.sleep(0.1)
    return value


def test_a_role_change_replaces_the_token_and_the_call_carries_on(
    media_server: ServerProcess, media_browser: Browser
) -> None:
    server = media_server
    errors: list[str] = []
    sam, ana = two_in_a_call(server, media_browser, errors, CAPTURE)
    wait_playing({"sam": sam, "ana": ana})
    meeting_id = server.meeting_id
    first = session_cookie(ana.context, meeting_id)

    open_tab(sam, "People")
    sam.get_by_role("button", name="Make facilitator Ana").click()
    expect(ana.get_by_role("group", name="Facilitator")).to_be_visible()
    promoted = new_cookie(ana.context, meeting_id, first)
    # One reconnect, and the very same media connection: nothing was started again.
    expect(ana.locator("#connection-status")).to_be_hidden(timeout=15_000)
    wait_playing({"sam": sam, "ana": ana})
    assert counts(ana) == {"pcs": 1, "sockets": 2, "state": "connected"}

    # The new cookie is the facilitator's, across a reload too (the page joins again by itself).
    ana.reload()
    expect(ana.locator("#room")).to_be_visible()
    expect(ana.get_by_role("group", name="Facilitator")).to_be_visible()

    # The token Ana had as a participant is not a session any more: a browser holding it is
    # a newcomer, and a participant.
    other = media_browser.new_context()
    host = urlsplit(server.base).hostname or ""
    other.add_cookies(
        [{"name": f"fs_{meeting_id}", "value": first, "domain": host, "path": f"/m/{meeting_id}"}]
    )
    stranger = other.new_page()
    stranger.goto(server.participant)
    stranger.get_by_label("Your name").fill("Old token")
    stranger.get_by_role("button", name="Join").click()
    expect(stranger.locator("#room")).to_be_visible()
    expect(stranger.get_by_role("group", name="Facilitator")).to_have_count(0)
    assert session_cookie(other, meeting_id) not in (first, promoted)

    # Back to participant: the token changes again.
    sam.get_by_role("button", name="Make participant Ana").click()
    expect(ana.get_by_role("group", name="Facilitator")).to_be_hidden()
    new_cookie(ana.context, meeting_id, promoted)
    assert not errors, errors


def test_a_promoted_participant_in_two_tabs_keeps_both(
    media_server: ServerProcess, media_browser: Browser
) -> None:
    server = media_server
    sam = join_by_name(media_browser, server.facilitator, "Sam")
    ana = join_by_name(media_browser, server.participant, "Ana")
    second: Page = ana.context.new_page()
    second.goto(server.participant)
    second.get_by_label("Your name").fill("Ana")
    second.get_by_role("button", name="Join").click()
    expect(second.locator("#room")).to_be_visible()
    open_tab(sam, "People")
    sam.get_by_role("button", name="Make facilitator Ana").click()
    # Both tabs reconnect at about the same time with the old cookie; both get in.
    for page in (ana, second):
        expect(page.get_by_role("group", name="Facilitator")).to_be_visible(timeout=15_000)
        expect(page.locator("#connection-status")).to_be_hidden(timeout=15_000)
