"""What the server knows reaches the room (issue 17): a host's marker that no name can imitate,
a burst of knocks at the lobby as one toast and a count, one calm notice when many knock, and a
banner while the server cannot save (a real write failure: the server's file size limit).
Screenshots at three sizes with all of them are saved under test-artifacts/."""

from __future__ import annotations

import json
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from playwright.sync_api import Browser, BrowserContext, Page, expect

from ..integration.harness import ServerProcess
from .pages import join, open_tab, watch
from .test_accessibility import AXE, violations

SIZES = {"laptop": (1366, 768), "desktop": (1920, 1080), "phone": (390, 844)}
STORAGE_ALERT = (
    "The server cannot save changes right now (its disk may be full). "
    "What you do now may be lost; it will catch up by itself when it can."
)
CROWD = "Many people are knocking. Lock the room or admit people from the People tab."
CROWD_LOCKED = "Many people are knocking. The room is locked: admit people from the People tab."
LOOK_ALIKE = "Ana ♛ Host"
KNOCK = """([url, name]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    window.__knock = ws;
    ws.onopen = () => ws.send(JSON.stringify({type: "join", id: 1, value: {name}}));
    ws.onmessage = (event) => {
        const msg = JSON.parse(event.data);
        if (msg.type === "lobby") resolve(msg.type);
        else if (msg.type === "error") reject(new Error(msg.error));
    };
    ws.onerror = () => reject(new Error("the socket failed"));
})"""
LAYOUT = """() => {
    const box = (sel) => {
        const el = document.querySelector(sel);
        const r = el.getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
    };
    return {vw: innerWidth, vh: innerHeight,
            scrollHeight: document.documentElement.scrollHeight,
            scrollWidth: document.documentElement.scrollWidth,
            topbar: box(".topbar"), alerts: box("#room-alerts"), stage: box("#stage"),
            bar: box("#control-bar")};
}"""


def new_meeting(server: ServerProcess, **body: Any) -> dict[str, str]:
    """Create a meeting through the API; returns its links."""
    data = json.dumps({"agenda": "network-night", **body}).encode()
    request = Request(
        f"{server.base}/api/meetings", data=data, headers={"Content-Type": "application/json"}
    )
    with urlopen(request, timeout=10) as response:
        links: dict[str, str] = json.loads(response.read())
    return links


def knock(browser: Browser, link: str, name: str) -> BrowserContext:
    """Someone knocking at the lobby: a browser with its own session, on a plain socket (no
    camera, no room page: lighter than a whole page)."""
    context = browser.new_context()
    context.request.get(link)  # the session cookie
    page = context.new_page()
    base, _, rest = link.partition("/m/")
    page.goto(base + "/static/favicon.svg")
    ws_url = "ws" + base.removeprefix("http") + "/m/" + rest.split("?")[0] + "/ws"
    assert page.evaluate(KNOCK, [ws_url, name]) == "lobby"
    return context


def person_id(page: Page) -> str:
    """The id of the person this page is."""
    person = page.locator("#tiles article.tile.is-you").get_attribute("data-person-id")
    assert person
    return person


@contextmanager
def cannot_write(server: ServerProcess) -> Iterator[None]:
    """While inside: every write past a file's first byte fails, as on a full disk."""
    assert server.proc is not None
    _, hard = resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (1, hard))
    try:
        yield
    finally:
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))


def check_layout(page: Page, where: str) -> None:
    """No page scroll; the banners sit between the top bar and the stage, covering nothing."""
    m = page.evaluate(LAYOUT)
    assert m["scrollHeight"] <= m["vh"] and m["scrollWidth"] <= m["vw"], (where, m)
    assert m["alerts"]["top"] >= m["topbar"]["bottom"] - 0.5, (where, m)
    assert m["stage"]["top"] >= m["alerts"]["bottom"] - 0.5, (where, m)
    assert m["bar"]["top"] >= m["stage"]["bottom"] - 0.5, (where, m)
    assert m["bar"]["bottom"] <= m["vh"] + 0.5, (where, m)


def test_marks_knocks_and_a_full_disk_in_the_room(
    server: ServerProcess, browser: Browser, artifacts: Path
) -> None:
    problems: list[str] = []
    links = new_meeting(server, max_people=10)
    sam = join(browser, links["facilitator_url"], "Sam", problems, bypass_csp=True)

    # A name claiming the role is refused; a look-alike gets in, and no marker.
    ana = watch(browser.new_context(viewport={"width": 1280, "height": 900}).new_page(), problems)
    ana.goto(links["participant_url"])
    ana.get_by_label("Your name").fill("Ana (host)")
    ana.get_by_role("button", name="Join").click()
    expect(ana.locator("#join-error")).to_contain_text("leave the role out of your name")
    ana.get_by_label("Your name").fill(LOOK_ALIKE)
    ana.get_by_role("button", name="Join").click()
    expect(ana.locator("#room")).to_be_visible()
    ben = join(browser, links["participant_url"], "Ben", problems)
    ids = {"Sam": person_id(sam), "Ana": person_id(ana), "Ben": person_id(ben)}
    open_tab(sam, "People")
    sam.get_by_role("button", name="Make facilitator Ben").click()

    # The host's and the co-host's markers, on tiles and in the people list; none for Ana.
    for page in (sam, ana, ben):
        tile = {
            name: page.locator(f'#stage article[data-person-id="{i}"]') for name, i in ids.items()
        }
        expect(tile["Sam"].locator(".role-mark-host")).to_have_count(1)
        expect(tile["Sam"].get_by_role("img", name="Host", exact=True)).to_be_visible()
        expect(tile["Ben"].get_by_role("img", name="Co-host", exact=True)).to_be_visible()
        expect(tile["Ana"].locator(".role-mark")).to_have_count(0)
        expect(tile["Ana"].locator(".tile-name")).to_contain_text(LOOK_ALIKE)
        # The marker is no part of the name's text.
        expect(tile["Sam"].locator(".tile-name")).to_have_text(
            "Sam (you)" if page is sam else "Sam"
        )
    expect(ana.locator(f'article.tile[data-person-id="{ids["Sam"]}"]')).to_have_attribute(
        "aria-label", "Sam, host"
    )
    rows = {name: sam.locator(f'#people-list li[data-person-id="{i}"]') for name, i in ids.items()}
    expect(rows["Sam"].get_by_role("img", name="Host", exact=True)).to_be_visible()
    expect(rows["Ben"].get_by_role("img", name="Co-host", exact=True)).to_be_visible()
    expect(rows["Ana"].locator(".role-mark")).to_have_count(0)
    expect(rows["Ana"].locator(".person-name")).to_have_text(LOOK_ALIKE)
    host_mark = rows["Sam"].locator(".role-mark")
    ana_name = rows["Ana"].locator(".person-name")
    assert host_mark.evaluate("e => getComputedStyle(e).backgroundColor") != ana_name.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    expect(ana.get_by_role("tab", name="Facilitator")).to_be_hidden()

    # Three knock at once: one toast that counts them, and a count on People that stays.
    open_tab(sam, "Facilitator")
    sam.get_by_role("button", name="Lobby on").click()
    expect(sam.get_by_role("button", name="Lobby off")).to_be_visible()
    open_tab(sam, "Chat")
    knockers = [knock(browser, links["participant_url"], f"Guest {i}") for i in range(1, 4)]
    lobby_toasts = sam.locator("#toasts .toast", has_text="waiting in the lobby")
    expect(lobby_toasts).to_have_text(["3 people are waiting in the lobby."])
    expect(sam.locator("#tab-people .tab-waiting")).to_have_text("3 waiting")
    expect(sam.locator("#open-people .tab-waiting")).to_have_text("3 waiting")
    expect(sam.get_by_role("button", name="People 3 waiting")).to_be_visible()
    expect(sam.locator("#announcer")).to_contain_text("waiting in the lobby")
    expect(ana.locator("#open-people .tab-waiting")).to_be_hidden()  # facilitators only
    open_tab(sam, "People")
    expect(sam.locator("#lobby-heading")).to_have_text("3 people waiting in the lobby")
    expect(sam.locator("#lobby-list li")).to_have_count(3)

    # Many knock: one calm notice, not a toast each.
    knockers += [knock(browser, links["participant_url"], f"Guest {i}") for i in range(4, 6)]
    expect(sam.locator("#lobby-notice-text")).to_have_text(CROWD)
    for button in ("Show the lobby", "Lock room", "Hide this notice"):
        expect(sam.locator("#lobby-notice").get_by_role("button", name=button)).to_be_visible()
    expect(sam.locator("#tab-people .tab-waiting")).to_have_text("5 waiting")
    assert lobby_toasts.count() <= 1
    expect(ana.locator("#lobby-notice")).to_be_empty()

    # The disk is full: the first change is not saved, and the room says so.
    with cannot_write(server):
        open_tab(ana, "Chat")
        ana.get_by_label("Message").fill("While the disk is full")
        ana.get_by_role("button", name="Send").click()
        expect(ana.locator("#toasts")).to_contain_text("We could not save that")
        expect(ana.get_by_label("Message")).to_have_value("While the disk is full")
        expect(sam.get_by_role("alert").filter(has_text="cannot save")).to_have_text(STORAGE_ALERT)
        expect(ben.locator("#storage-alert")).to_have_text(STORAGE_ALERT)  # a co-host too
        expect(ana.locator("#storage-note")).to_contain_text("The server cannot save right now")
        expect(ana.locator("#storage-alert")).to_be_empty()
        # A refusal said twice is one toast (the same one, kept longer).
        refused = ana.locator("#toasts .toast", has_text="We could not save that")
        refused.evaluate("e => { e.dataset.probe = '1'; }")
        ana.get_by_role("button", name="Send").click()
        ana.wait_for_timeout(500)  # the second refusal comes back within milliseconds
        expect(refused).to_have_count(1)
        expect(refused).to_have_attribute("data-probe", "1")

        for size, (width, height) in SIZES.items():
            for page in (sam, ana):
                page.set_viewport_size({"width": width, "height": height})
            open_tab(sam, "People")
            sam.wait_for_timeout(200)  # a frame for the tiles to be sized
            check_layout(sam, size)
            check_layout(ana, size)
            sam.screenshot(path=str(artifacts / f"status-{size}-facilitator.png"))
            ana.screenshot(path=str(artifacts / f"status-{size}-guest.png"))
            if size == "phone":
                sam.get_by_role("button", name="Close panel").click()
                sam.wait_for_timeout(200)
                check_layout(sam, size)
                sam.screenshot(path=str(artifacts / f"status-{size}-facilitator-stage.png"))
        sam.set_viewport_size({"width": 1366, "height": 768})
        open_tab(sam, "People")
        assert AXE.exists(), f"{AXE} is missing: `make test` installs it (npm ci)"
        found = violations(sam)
        assert not found, json.dumps(found, indent=2)

    # Space is back: the server catches up by itself, and the banner goes.
    expect(sam.locator("#storage-alert")).to_be_empty(timeout=15_000)
    expect(sam.locator("#toasts")).to_contain_text("Saving works again.")
    expect(ana.locator("#storage-note")).to_be_empty()
    ana.get_by_role("button", name="Send").click()
    expect(sam.locator("#chat-log")).to_contain_text("While the disk is full")

    # The notice's own buttons: lock the room from it, then hide it.
    sam.locator("#lobby-notice-lock").click()
    expect(sam.locator("#lobby-notice-text")).to_have_text(CROWD_LOCKED)
    expect(sam.locator("#lobby-notice-lock")).to_be_hidden()
    sam.get_by_role("button", name="Hide this notice").click()
    expect(sam.locator("#lobby-notice")).to_be_empty()
    expect(sam.locator("#tab-people .tab-waiting")).to_have_text("5 waiting")
    sam.get_by_role("button", name="Admit all").click()
    expect(sam.locator("#tab-people .tab-waiting")).to_be_hidden()
    for context in knockers:
        context.close()
    assert not problems, problems
