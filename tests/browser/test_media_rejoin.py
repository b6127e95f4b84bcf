"""A call that comes back by itself without a reload (issue 14): across a WebSocket drop the
page keeps its RTCPeerConnection; when the media path dies but the server can still be heard,
the page starts its media again over the same WebSocket."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from facilitator.bench import netlab

from ..integration.harness import ServerProcess
from .test_video import media_browser, media_server, pytestmark, two_in_a_call, videos

__all__ = ["media_browser", "media_server", "pytestmark"]

# Keeps every RTCPeerConnection and WebSocket the page makes, so the test can count them (and
# close a socket as a network drop would).
CAPTURE = """(() => {
  const PC = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends PC {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
  const WS = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends WS {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
})();"""
COUNTS = """() => ({
  pcs: window.__pcs.length,
  sockets: window.__sockets.length,
  state: window.__pcs.length ? window.__pcs[window.__pcs.length - 1].connectionState : "none",
})"""


def counts(page: Page) -> dict[str, Any]:
    """How many RTCPeerConnections and WebSockets the page has made, and the last one's state."""
    result: dict[str, Any] = page.evaluate(COUNTS)
    return result


def wait_playing(pages: dict[str, Page], seconds: float = 20.0) -> None:
    """Every page's remote videos decode new frames (width known, count rising)."""
    before = {name: videos(page) for name, page in pages.items()}
    playing: set[str] = set()
    deadline = time.monotonic() + seconds
    while playing != set(pages) and time.monotonic() < deadline:
        time.sleep(0.5)
        for name, page in pages.items():
            now = videos(page)
            if now and all(
                v["width"] > 0 and v["frames"] > before[name].get(p, {}).get("frames", 0) + 3
                for p, v in now.items()
            ):
                playing.add(name)
            before[name] = now
    assert playing == set(pages), before


def test_a_websocket_drop_keeps_the_media_connection(
    media_server: ServerProcess, media_browser: Browser
) -> None:
    errors: list[str] = []
    sam, ana = two_in_a_call(media_server, media_browser, errors, CAPTURE)
    wait_playing({"sam": sam, "ana": ana})
    assert counts(ana) == {"pcs": 1, "sockets": 1, "state": "connected"}
    for drop in range(2):
        # The socket goes as a network drop would take it; the page reconnects by itself.
        ana.evaluate("() => window.__sockets[window.__sockets.length - 1].close()")
        deadline = time.monotonic() + 15
        while counts(ana)["sockets"] < 2 + drop and time.monotonic() < deadline:
            time.sleep(0.1)
        expect(ana.locator("#connection-status")).to_be_hidden(timeout=15_000)
        wait_playing({"sam": sam, "ana": ana})
        # The very same media connection carried on: nothing was started again.
        assert counts(ana) == {"pcs": 1, "sockets": 2 + drop, "state": "connected"}
    expect(ana.locator("#people-list li.person")).to_have_count(2)
    assert not errors, errors


RULE = ["INPUT", "-i", "lo", "-p", "udp", "-m", "comment", "--comment", "rejoin-test"]


def block(on: bool) -> None:
    """Drop (or stop dropping) every UDP datagram on loopback: the media; the WebSocket is TCP."""
    iptables = netlab.tool("iptables") or "iptables"
    subprocess.run([iptables, "-I" if on else "-D", *RULE, "-j", "DROP"], check=True)


@pytest.fixture
def udp_blocked() -> Iterator[list[bool]]:
    """Whether UDP is blocked now (the test turns it with ``block``); unblocked at the end."""
    reason = netlab.unavailable()
    if reason:
        pytest.skip(reason)
    state = [False]
    try:
        yield state
    finally:
        if state[0]:
            block(False)


def test_a_dead_media_path_is_started_again_over_the_same_websocket(
    media_server: ServerProcess, media_browser: Browser, udp_blocked: list[bool], artifacts: Path
) -> None:
    errors: list[str] = []
    sam, ana = two_in_a_call(media_server, media_browser, errors, CAPTURE)
    wait_playing({"sam": sam, "ana": ana})
    block(True)
    udp_blocked[0] = True
    # The media path is gone while the server can still be heard (a new network): the pages
    # see it disconnected and start their media again by themselves.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and counts(ana)["pcs"] < 2:
        time.sleep(0.2)
    assert counts(ana)["pcs"] >= 2, counts(ana)
    block(False)
    udp_blocked[0] = False
    wait_playing({"sam": sam, "ana": ana}, seconds=30)
    after = counts(ana)
    assert after["sockets"] == 1 and after["state"] == "connected", after  # no reconnect
    ana.screenshot(path=str(artifacts / "video-after-media-restart.png"))
    assert not errors, errors
