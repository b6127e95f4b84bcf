"""Two nodes on PostgreSQL behind HAProxy: one node per meeting, and a dead node's meetings
carry on on the other one (see docs/scaling.md)."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from facilitator.bench.bot import Bot
from facilitator.bench.samples import make_samples
from facilitator.media.aiortc_seams import restrict_host_addresses
from facilitator.store.leases import LEASE_SECONDS

from ..postgres import PostgresServer
from .cluster import Cluster, get, haproxy_binary
from .harness import MakePeer, Peer
from .test_restart import item_left

TAKEOVER_SECONDS = 15.0
"""A dead node's meeting runs again this soon after its lease has run out."""


@pytest.fixture
def cluster(tmp_path: Path, postgres: PostgresServer) -> Iterator[Cluster]:
    """Nodes a and b on a fresh database, HAProxy in front."""
    haproxy = haproxy_binary()
    cluster = Cluster(tmp_path, postgres.new_database())
    try:
        cluster.start_node("a")
        cluster.start_node("b")
        cluster.start_proxy(haproxy)
        yield cluster
    finally:
        cluster.stop()


def meeting_id(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[-1]


async def rejoin(peer: Peer, until: float) -> dict[str, object]:
    """Join again through the proxy, retrying while the meeting moves; the reply."""
    while True:
        peer.ws = None
        peer.messages.clear()
        try:
            reply = await peer.join()
            if reply["type"] == "joined" or reply.get("error") == "removed":
                return reply
        except Exception:  # 503 while it moves, a refused or dropped connection
            if time.monotonic() > until:
                raise
        await asyncio.sleep(0.25)


async def test_each_meeting_lives_on_one_node_and_survives_its_node(
    cluster: Cluster, peers: MakePeer
) -> None:
    meetings = [cluster.create_meeting() for _ in range(3)]
    owners = {}
    for links in meetings:
        mid = meeting_id(links["participant_url"])
        assert urlsplit(links["participant_url"]).port == cluster.proxy_port
        seen = {cluster.owner_of(mid) for _ in range(5)}
        recap = get(f"{cluster.base}/m/{mid}/recap.json")[1]["x-facilitator-node"]
        seen.add(cluster.node_named(recap))
        assert len(seen) == 1, f"meeting {mid} answered by {seen}"
        owners[mid] = seen.pop()

    links = meetings[0]
    mid = meeting_id(links["participant_url"])
    doomed, survivor = owners[mid], ({"a", "b"} - {owners[mid]}).pop()
    sam = peers(links["facilitator_url"], "Sam")
    ana = peers(links["participant_url"], "Ana")
    ben = peers(links["participant_url"], "Ben")
    for peer in (sam, ana, ben):
        assert (await peer.join())["type"] == "joined"
    await sam.action("start")
    await sam.action("next-item")
    await sam.action("next-item")  # "Funny questions": an icebreaker
    await sam.action("extend-item", seconds=120)
    await ana.action("chat", text="see you on the other node")
    await sam.action("make-facilitator", person=ana.person_id())
    await sam.action("remove", person=ben.person_id())
    await sam.action("lock")
    before = await sam.fresh_state(lambda s: s["meeting"]["locked"])
    assert before["icebreaker"] is not None
    deadline = before["clock"]["item"]["deadline"]
    await asyncio.sleep(0.4)  # every action's ok came after its save; this is for the saver

    cluster.nodes[doomed].kill()
    killed = time.monotonic()
    # The lease was renewed at most LEASE_SECONDS before it runs out.
    until = killed + LEASE_SECONDS + TAKEOVER_SECONDS
    for peer in (sam, ana):
        assert (await rejoin(peer, until))["type"] == "joined"
    took = time.monotonic() - killed
    print(f"\nfailover: the meeting ran again {took:.1f} s after its node was killed")
    assert took < LEASE_SECONDS + TAKEOVER_SECONDS

    assert cluster.owner_of(mid) == survivor
    state = await sam.fresh_state(lambda s: len(s["people"]) == 2)
    assert state["clock"]["status"] == "running"
    assert state["clock"]["index"] == 2
    assert state["icebreaker"] is not None
    assert state["icebreaker"]["title"] == before["icebreaker"]["title"] == "Funny questions"
    assert state["meeting"]["locked"] is True
    assert abs(state["clock"]["item"]["deadline"] - deadline) < 1
    assert abs(item_left(state, time.time()) - (deadline - time.time())) < 1
    roles = {p["name"]: p["role"] for p in state["people"]}
    assert roles == {"Sam": "facilitator", "Ana": "facilitator"}
    history = await ana.wait_for("chat-history")
    assert [m["text"] for m in history["value"]["messages"]] == ["see you on the other node"]
    ben.ws = None
    assert (await ben.join())["error"] == "removed"

    # The other meetings are all on the survivor now, each still on one node.
    for other in meetings[1:]:
        oid = meeting_id(other["participant_url"])
        deadline_other = time.monotonic() + LEASE_SECONDS + TAKEOVER_SECONDS
        while True:
            status, headers, _ = get(f"{cluster.base}/m/{oid}")
            if status == 200:
                break
            assert time.monotonic() < deadline_other, status
            await asyncio.sleep(0.25)
        assert cluster.node_named(headers["x-facilitator-node"]) == survivor

    # The killed node comes back: the proxy sends the meeting to it again, and the node that
    # ran it meanwhile hands it over (the pages reconnect by themselves, 1012).
    cluster.restart_node(doomed)
    back_by = time.monotonic() + 30
    while cluster.owner_of(mid) != doomed:
        assert time.monotonic() < back_by, "the meeting did not move back"
        await asyncio.sleep(0.25)
    for peer in (sam, ana):
        await peer.wait_closed(timeout=10)
        assert (await rejoin(peer, time.monotonic() + 15))["type"] == "joined"
    moved_back = await sam.fresh_state(lambda s: len(s["people"]) == 2)
    assert moved_back["meeting"]["locked"] is True
    assert abs(moved_back["clock"]["item"]["deadline"] - deadline) < 1
    assert {p["name"]: p["role"] for p in moved_back["people"]} == roles
    assert cluster.owner_of(mid) == doomed

    # Stopped cleanly (SIGTERM): its /readyz fails at once, HAProxy sends the meeting to the
    # other node while it drains, and the meeting runs there within the lease time.
    stopping = cluster.nodes[doomed].proc
    assert stopping is not None
    stopping.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    for peer in (sam, ana):
        await peer.wait_closed(timeout=10)
        assert (await rejoin(peer, stopped + LEASE_SECONDS))["type"] == "joined"
    took = time.monotonic() - stopped
    print(f"drain: the meeting ran on the other node {took:.1f} s after SIGTERM")
    assert took < LEASE_SECONDS
    assert cluster.owner_of(mid) == survivor
    drained = await sam.fresh_state(lambda s: len(s["people"]) == 2)
    assert drained["meeting"]["locked"] is True and drained["clock"]["index"] == 2
    assert abs(drained["clock"]["item"]["deadline"] - deadline) < 1
    assert {p["name"]: p["role"] for p in drained["people"]} == roles
    # HAProxy took the node out for its 503 (draining), not for a port that had closed.
    stopping.wait(10)
    proxy_log = (cluster.folder / "haproxy.log").read_text()
    assert re.search(rf"meetings/{doomed} is DOWN, reason: Layer7 wrong status", proxy_log)


# A browser in the meeting whose node dies (issue 16): it shows the room again and plays other
# people's video by itself, with no reload. Media goes straight to the owning node (its own ICE
# address, 127.0.0.1 here), so the page's media connection dies with the node and is started
# again on the node that takes the meeting over.
VIDEOS = """() => Array.from(document.querySelectorAll(
    "#tiles article.tile:not(.is-you).has-video .tile-media video")).map((v) => ({
  person: v.closest("article.tile").dataset.personId,
  width: v.videoWidth,
  time: v.currentTime,
  frames: v.getVideoPlaybackQuality().totalVideoFrames,
}))"""
CHROMIUM_FLAGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def playing(page: Any, person: str, timeout: float) -> dict[str, Any]:
    """Wait until the page decodes ``person``'s video: a size, and time and frames advancing."""
    deadline = time.monotonic() + timeout
    before: dict[str, Any] | None = None
    while True:
        shown: list[dict[str, Any]] = await page.evaluate(VIDEOS)
        now = {v["person"]: v for v in shown}.get(person)
        if (
            now is not None
            and before is not None
            and now["width"] > 0
            and now["time"] > before["time"]
            and now["frames"] > before["frames"]
        ):
            return now
        assert time.monotonic() < deadline, f"no video from {person}: {now}"
        before = now
        await asyncio.sleep(0.5)


async def join_bot(bot: Bot, until: float) -> None:
    """Join through the proxy, retrying while the meeting moves."""
    while True:
        try:
            await bot.join()
            return
        except Exception:
            await bot.client.disconnect()
            if time.monotonic() > until:
                raise
        await asyncio.sleep(0.25)


async def test_a_browser_is_back_with_video_by_itself_after_its_node_dies(
    cluster: Cluster, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.fail("/usr/bin/chromium is missing: `make test` installs Debian's chromium package")
    samples = make_samples(width=320, height=240, frames=30, kbps=300)
    restrict_host_addresses(["127.0.0.1"])
    links = cluster.create_meeting()
    mid = meeting_id(links["participant_url"])
    doomed = cluster.owner_of(mid)
    before = Bot(links["participant_url"], "Before", samples)
    after = Bot(links["participant_url"], "After", samples)
    errors: list[str] = []
    try:
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_FLAGS
            )
            context = await browser.new_context(permissions=["camera", "microphone"])
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(links["facilitator_url"])
            await page.get_by_label("Your name").fill("Sam")
            await page.get_by_role("button", name="Join").click()
            await page.locator("#room").wait_for(state="visible")
            await before.join()
            await playing(page, before.person_id or "", 20)
            await asyncio.wait_for(before.connected.wait(), 10)

            await page.evaluate("() => { window.__beforeTheKill = true; }")
            cluster.nodes[doomed].kill()
            killed = time.monotonic()
            await before.close()
            until = killed + LEASE_SECONDS + TAKEOVER_SECONDS
            # Someone publishes through whichever node runs the meeting now.
            await join_bot(after, until)
            assert cluster.owner_of(mid) != doomed
            # The page is back in the room by itself and plays that person's video.
            status = page.locator("#connection-status")
            await status.wait_for(state="hidden", timeout=(until - time.monotonic() + 15) * 1000)
            shown = await playing(page, after.person_id or "", 30)
            took = time.monotonic() - killed
            print(f"\nfailover: the page played video again {took:.1f} s after its node died")
            assert shown["width"] > 0
            # No reload: the mark set on the page before the kill is still there.
            assert await page.evaluate("() => window.__beforeTheKill") is True
            (frames,) = [f for f in await page.evaluate(VIDEOS) if f["person"] == after.person_id]
            assert frames["frames"] > 0
            await page.screenshot(path=str(tmp_path / "failover-video.png"))
            await browser.close()
    finally:
        restrict_host_addresses(None)
        await before.close()
        await after.leave()
    assert not errors, errors
