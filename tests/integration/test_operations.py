"""The operator's tools on a real server: /metrics, /readyz while draining, JSON logs."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from .harness import MakePeer, ServerProcess, SharedMeeting, running_server, sample, scrape, trio

TOKEN = "metrics-token-for-tests"
OPS_FLAGS = ["--metrics", "--metrics-token", TOKEN]


@pytest.fixture
def ops_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own with /metrics and JSON logs."""
    yield from running_server(tmp_path, extra=[*OPS_FLAGS, "--log-format", "json"])


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Status and body of a GET (errors included)."""
    try:
        with urlopen(Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, response.read()
    except HTTPError as exc:
        return exc.code, exc.read()


def post_meeting(base: str) -> tuple[int, bytes]:
    """POST /api/meetings for network-night."""
    body = json.dumps({"agenda": "network-night"}).encode()
    request = Request(f"{base}/api/meetings", body, {"Content-Type": "application/json"})
    try:
        with urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except HTTPError as exc:
        return exc.code, exc.read()


def test_metrics_need_the_token(ops_server: ServerProcess) -> None:
    assert get(f"{ops_server.base}/metrics")[0] == 401
    assert get(f"{ops_server.base}/metrics", {"Authorization": "Bearer nope"})[0] == 401
    assert get(f"{ops_server.base}/metrics", {"Authorization": TOKEN})[0] == 401
    status, _ = get(f"{ops_server.base}/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200


def test_metrics_are_off_unless_asked(server: SharedMeeting) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert get(f"{server.base}/metrics", auth)[0] == 404


async def test_metrics_move_with_people_and_requests(
    ops_server: ServerProcess, peers: MakePeer
) -> None:
    before = scrape(ops_server.base, TOKEN)
    assert sample(before, "facilitator_people_online") == 0
    assert sample(before, "facilitator_websockets_open") == 0
    assert sample(before, "facilitator_draining") == 0
    writes = sample(before, "facilitator_store_write_seconds_count")
    ok = sample(before, "facilitator_http_requests_total", **{"class": "2xx"})
    missing = sample(before, "facilitator_http_requests_total", **{"class": "4xx"})
    assert get(f"{ops_server.base}/m/no-such-meeting")[0] == 404
    ana = peers(ops_server.participant, "Ana")
    await ana.join()
    await ana.action("chat", text="hello")
    await asyncio.sleep(0.4)  # saved within 0.1 s
    after = scrape(ops_server.base, TOKEN)
    assert sample(after, "facilitator_people_online") == 1
    assert sample(after, "facilitator_websockets_open") == 1
    assert sample(after, "facilitator_websockets_accepted_total") == 1
    assert sample(after, "facilitator_meetings_live") == 1
    assert sample(after, "facilitator_meetings_loaded") == 1
    # The page, the metrics scrape and the WebSocket handshake were answered; one 404.
    assert sample(after, "facilitator_http_requests_total", **{"class": "2xx"}) >= ok + 2
    assert sample(after, "facilitator_http_requests_total", **{"class": "4xx"}) == missing + 1
    assert sample(after, "facilitator_store_write_seconds_count") > writes
    bucket = sample(after, "facilitator_store_write_seconds_bucket", le="+Inf")
    assert bucket == sample(after, "facilitator_store_write_seconds_count")
    lag = sample(after, "facilitator_event_loop_lag_seconds", stat="max")
    assert 0 <= sample(after, "facilitator_event_loop_lag_seconds", stat="p50") <= lag < 5
    await ana.disconnect()
    deadline = time.monotonic() + 5
    while sample(scrape(ops_server.base, TOKEN), "facilitator_people_online") != 0:
        assert time.monotonic() < deadline, "people online did not go back down"
        await asyncio.sleep(0.1)


async def test_readyz_says_draining_then_the_server_stops(
    ops_server: ServerProcess, peers: MakePeer
) -> None:
    status, body = get(f"{ops_server.base}/readyz")
    assert status == 200 and json.loads(body)["ok"] is True
    assert json.loads(get(f"{ops_server.base}/healthz")[1])["ok"] is True
    ana = peers(ops_server.participant, "Ana")
    await ana.join()
    await ana.action("chat", text="saved while draining")
    assert ops_server.proc is not None
    started = time.monotonic()
    ops_server.proc.send_signal(signal.SIGTERM)
    seen: dict[str, object] | None = None
    while seen is None and time.monotonic() - started < 5:
        try:
            status, body = get(f"{ops_server.base}/readyz")
        except OSError:
            break  # already gone
        if status == 503:
            seen = json.loads(body)
            # New meetings and new joins are refused while draining.
            status, refused = post_meeting(ops_server.base)
            assert status == 503 and json.loads(refused)["error"] == "draining"
        await asyncio.sleep(0.02)
    assert seen is not None, "/readyz never said 503 while draining"
    assert seen["draining"] is True and seen["ok"] is False
    await ana.wait_for("bye")
    ops_server.proc.wait(10)
    assert time.monotonic() - started < 10  # --drain-seconds defaults to 10
    ops_server.restart()
    ana.ws = None
    ana.messages.clear()
    await ana.join()
    history = await ana.wait_for("chat-history")
    assert [m["text"] for m in history["value"]["messages"]] == ["saved while draining"]


async def test_json_logs_name_the_meeting_and_hold_no_secrets(
    ops_server: ServerProcess, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(ops_server, peers)
    note = "Ben keeps bees on a roof in Leith and is shy about it"
    assert (await ana.action("note", about=ben.person_id(), text=note))["type"] == "ok"
    await sam.action("start")
    await ana.action("chat", text="nice to meet you all")
    refused = await ana.action("next-item")  # a participant may not: logged as refused
    assert refused["type"] == "error"
    await sam.action("next-item")
    assert (await sam.action("end"))["type"] == "ok"
    for peer in (sam, ana, ben):
        await peer.disconnect()
    await asyncio.sleep(0.3)
    ops_server.terminate()
    text = ops_server.log()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    meeting_id = ops_server.meeting_id
    assert any(
        line.get("meeting") == meeting_id and "refused" in line["message"] for line in lines
    ), "no log line carries the meeting's id"
    key = ops_server.facilitator.rsplit("key=", 1)[1]
    assert key not in text
    assert note not in text and "Leith" not in text
    cookies = [c.value for p in (sam, ana, ben) for c in p.http.cookie_jar]
    assert cookies and all(cookie not in text for cookie in cookies)
