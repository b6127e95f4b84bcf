"""One stranger cannot stall every meeting (issue 17): sessions, tabs, names, the lobby,
privileges, deleted data and a full disk, each against a real server process."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from .harness import ROOT, MakePeer, Peer, ServerProcess, running_server, trio

DB_NAME = "facilitator.sqlite3"


@pytest.fixture
def server(own_server: ServerProcess) -> ServerProcess:
    """These tests count rows in, kill or fill their server: each gets one of its own."""
    return own_server


def session_rows(server: ServerProcess) -> int:
    """How many session rows the server's database holds right now."""
    with sqlite3.connect(server.data / DB_NAME) as db:
        return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


def cookie_of(peer: Peer) -> str:
    """The peer's session cookie for its meeting."""
    for morsel in peer.http.cookie_jar:
        if morsel.key == f"fs_{peer.meeting_id}":
            return morsel.value
    raise AssertionError(f"{peer.name} has no session cookie")


async def new_meeting(server: ServerProcess, **body: Any) -> dict[str, Any]:
    """Create a meeting through the API; returns its links."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base}/api/meetings", json={"agenda": "quick-check-in", **body}) as r,
    ):
        assert r.status in (200, 201), await r.text()
        return dict(await r.json())


async def closed(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> int | None:
    """Read until the server closes the socket; return the close code it sent."""
    for _ in range(100):
        try:
            msg = await ws.receive(timeout=timeout)
        except aiohttp.ClientConnectionResetError:
            continue  # a pong (or our close reply) found the socket closing: read on
        if msg.type == aiohttp.WSMsgType.CLOSE:
            return int(msg.data)
        if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return ws.close_code
    return ws.close_code


async def test_page_views_store_no_sessions_until_someone_joins(
    server: ServerProcess, peers: MakePeer
) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(150):  # no cookie jar kept: every load is a new browser (the budget is 200)
            async with http.get(server.participant, cookies={}) as r:
                assert r.status == 200
            http.cookie_jar.clear()
    assert session_rows(server) == 0
    ana = peers(server.participant, "Ana")
    await ana.join()
    assert session_rows(server) == 1
    # Reloading and reconnecting is still the same person, and still one row.
    await ana.disconnect()
    ana.ws = None
    first = ana.person_id()
    await ana.join()
    assert ana.person_id() == first
    assert session_rows(server) == 1


async def test_one_browser_holds_a_few_tabs_and_idle_sockets_are_closed(
    server: ServerProcess, peers: MakePeer
) -> None:
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    ana = peers(server.participant, "Ana")
    await ana.join()
    assert ana.ws is not None
    url = f"{ana.origin}/m/{ana.meeting_id}/ws"
    extra = [await ana.http.ws_connect(url, headers={"Origin": ana.origin}) for _ in range(10)]
    # Eleven sockets on one session: the three oldest (Ana's joined tab first) made room.
    await asyncio.wait_for(ana._reader or asyncio.sleep(0), 5)
    assert ana.ws.close_code == 4409
    for ws in extra[:2]:
        assert await closed(ws) == 4409
    newest = extra[-1]
    got: list[dict[str, Any]] = []

    async def read_newest() -> None:
        async for msg in newest:
            if msg.type == aiohttp.WSMsgType.TEXT:
                got.append(json.loads(msg.data))

    async def arrived(kind: str) -> None:
        while not any(m["type"] == kind for m in got):
            await asyncio.sleep(0.05)

    # Every socket is read all along (so each answers the server's pings in time).
    reader = asyncio.get_running_loop().create_task(read_newest())
    idle = [asyncio.get_running_loop().create_task(closed(ws, 30)) for ws in extra[2:-1]]
    await newest.send_str(json.dumps({"type": "join", "id": 1, "value": {"name": "Ana"}}))
    await asyncio.wait_for(arrived("joined"), 5)
    # The seven that never joined are closed after 20 s; the joined one stays.
    assert await asyncio.gather(*idle) == [4410] * 7
    assert not newest.closed
    await newest.send_str(json.dumps({"type": "ping", "id": 2, "value": {"t": 1}}))
    await asyncio.wait_for(arrived("pong"), 5)
    await newest.close()
    await reader
    # Everyone else carried on.
    assert (await sam.action("start"))["type"] == "ok"


async def test_oversized_names_close_the_connection_quickly(
    server: ServerProcess, peers: MakePeer
) -> None:
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    strangers = [peers(server.participant, f"S{i}") for i in range(3)]
    for stranger in strangers:
        await stranger.open_page()
        await stranger.connect()
    huge = json.dumps({"type": "join", "value": {"name": "x" * 60_000}})
    for _ in range(20):
        for stranger in strangers:
            assert stranger.ws is not None
            if not stranger.ws.closed:
                await stranger.ws.send_str(huge)
    for stranger in strangers:
        assert stranger.ws is not None
        await asyncio.wait_for(stranger._reader or asyncio.sleep(0), 5)
        assert stranger.ws.close_code == 4422
        errors = [m for m in stranger.messages if m["type"] == "error"]
        assert errors and all(m["error"] == "bad-name" for m in errors)
        assert len(errors) < 10  # closed after a few, not after all twenty
    ben = peers(server.participant, "Ben")
    assert (await ben.join())["type"] == "joined"
    assert (await sam.action("start"))["type"] == "ok"


async def test_a_client_that_keeps_sending_refused_messages_is_closed(
    server: ServerProcess, peers: MakePeer
) -> None:
    eve = peers(server.participant, "Eve")
    await eve.join()
    assert eve.ws is not None
    for _ in range(59):  # inside the rate limit's burst, so only the refusals count
        if eve.ws.closed:
            break
        await eve.ws.send_str(json.dumps({"type": "action", "value": {"action": "start"}}))
    await asyncio.wait_for(eve._reader or asyncio.sleep(0), 5)
    assert eve.ws.close_code == 4422
    assert sum(m.get("error") == "not-allowed" for m in eve.messages) <= 51


async def test_nested_json_nan_and_lone_surrogates_get_clean_answers(
    server: ServerProcess, peers: MakePeer
) -> None:
    ana = peers(server.participant, "Ana")
    await ana.join()
    assert ana.ws is not None
    ana.messages.clear()
    await ana.ws.send_str("[" * 1000 + "]" * 1000)
    assert (await ana.wait_for("error"))["error"] == "bad-message"
    ana.messages.clear()
    deep = '{"type": "action", "value": {"action": "chat", "text": ' + "[" * 5000 + "]" * 5000
    await ana.ws.send_str(deep + "}}")
    assert (await ana.wait_for("error"))["error"] == "bad-message"
    for constant in ("NaN", "Infinity", "-Infinity", "1e999"):
        ana.messages.clear()
        await ana.ws.send_str('{"type": "ping", "id": 7, "value": {"t": ' + constant + "}}")
        assert (await ana.wait_for("error", "pong"))["error"] == "bad-json"
    ana.messages.clear()
    await ana.ws.send_str(
        '{"type": "action", "id": 8, "value": {"action": "chat", "text": "hi \\ud800there"}}'
    )
    chat = await ana.wait_for("chat")
    assert chat["value"]["text"] == "hi there"
    await ana.ws.send_str(
        '{"type": "action", "id": 9, "value": {"action": "rename", "name": "Zo\\udc00e"}}'
    )
    state = await ana.fresh_state(lambda s: s["you"]["name"] != "Ana")
    assert state["you"]["name"] == "Zoe"
    log = server.log()
    assert "RecursionError" not in log and "Traceback" not in log


async def test_the_http_api_reads_json_as_strictly_as_the_websocket(
    server: ServerProcess,
) -> None:
    bodies = {
        "nan": '{"agenda": "quick-check-in", "max_people": NaN}',
        "infinity": '{"agenda": "quick-check-in", "scheduled_at": Infinity}',
        "overflow": '{"agenda": "quick-check-in", "scheduled_at": 1e999}',
        "nested": '{"agenda": "quick-check-in", "x": ' + "[" * 40 + "]" * 40 + "}",
    }
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        for name, body in bodies.items():
            for path in ("/api/meetings", "/api/agendas/check"):
                async with http.post(server.base + path, data=body, headers=headers) as r:
                    assert r.status == 400, (name, path, r.status)
                    assert (await r.json())["error"] == "bad-json", (name, path)
        lone = '{"agenda": "quick-check-in", "title": "Evil \\ud800 title"}'
        for path in ("/api/meetings", "/api/agendas/check"):
            async with http.post(server.base + path, data=lone, headers=headers) as r:
                assert r.status == 400, (path, await r.text())
                data = await r.json()
                assert data["error"] == "bad-text" and "Unicode" in data["message"]
        # A number that is finite but absurd never reaches the meeting or its retention.
        far = {"agenda": "quick-check-in", "scheduled_at": 1e300}
        async with http.post(f"{server.base}/api/meetings", json=far) as r:
            assert r.status == 400
            assert "a year from now" in (await r.json())["errors"][0]
        fine = {"agenda": "quick-check-in", "title": "Caf\u00e9 \U0001f600"}
        async with http.post(f"{server.base}/api/meetings", json=fine) as r:
            assert r.status == 201
            assert (await r.json())["title"] == "Caf\u00e9 \U0001f600"
    assert "Traceback" not in server.log()


async def test_start_up_objects_are_kept_out_of_full_collections(tmp_path: Path) -> None:
    # A full sweep of the collector walked every module, template and codec loaded at start-up
    # (40-140 ms with a crowd in one meeting, and every meeting waited); they are frozen.
    for server in running_server(tmp_path, extra=["--stats"]):
        async with aiohttp.ClientSession() as http, http.get(f"{server.base}/api/stats") as r:
            stats = await r.json()
    assert stats["gc"]["frozen"] > 20_000
    assert len(stats["gc"]["collections"]) == 3


async def test_names_cannot_pass_for_someone_else(server: ServerProcess, peers: MakePeer) -> None:
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    ana = peers(server.participant, "Ana")
    await ana.join()
    for name in ("Ana (host)", "Sam [Facilitator]", "\u3164", "\u2800\u2800", "\u0301" * 40):
        mallory = peers(server.participant, name)
        reply = await mallory.join()
        assert reply["error"] == "bad-name", name
        assert "name" in reply["message"]
    for name in ("Ana\u200d", "\u0410na", "ANA", "Sam"):
        twin = peers(server.participant, name)
        reply = await twin.join()
        assert reply["type"] == "joined", name
        assert reply["value"]["you"]["name"].endswith(")"), reply["value"]["you"]["name"]
    state = await sam.fresh_state(lambda s: len(s["people"]) == 6)
    names = [p["name"] for p in state["people"]]
    assert len(set(names)) == len(names)
    marked = {p["name"]: p["creator"] for p in state["people"]}
    assert marked["Sam"] is True
    assert marked["Sam (2)"] is False and marked["Ana"] is False


async def test_lobby_knocks_never_take_invited_peoples_seats(
    server: ServerProcess, peers: MakePeer
) -> None:
    links = await new_meeting(server, max_people=16, lobby=True)
    host = peers(links["facilitator_url"], "Host")
    await host.join()
    guests = [peers(links["participant_url"], f"Guest {i}") for i in range(5)]
    for guest in guests:
        assert (await guest.join(expect="lobby"))["type"] == "lobby"
    assert (await host.action("admit-all"))["type"] == "ok"
    for guest in guests:
        await guest.wait_for("joined")
    strangers = [peers(links["participant_url"], f"Stranger {i}") for i in range(11)]
    for stranger in strangers:
        assert (await stranger.join(expect="lobby"))["type"] == "lobby"
    state = await host.fresh_state(lambda s: s["meeting"].get("lobby_waiting") == 11)
    assert state["meeting"]["lobby_notice"]
    # Six are in a room for sixteen; eleven knocking take no seat from the next invited person.
    ivy = peers(links["participant_url"], "Ivy")
    assert (await ivy.join(expect="lobby"))["type"] == "lobby"
    state = await host.fresh_state(lambda s: any(p["name"] == "Ivy" for p in s["people"]))
    ivy_id = next(p["id"] for p in state["people"] if p["name"] == "Ivy")
    assert (await host.action("admit", person=ivy_id))["type"] == "ok"
    await ivy.wait_for("joined")
    # The lobby itself is bounded: max(10, 16) waiting at once.
    more = [peers(links["participant_url"], f"More {i}") for i in range(6)]
    replies = [await m.join(expect="lobby") for m in more]
    assert [r["type"] for r in replies[:5]] == ["lobby"] * 5
    assert replies[5]["error"] == "lobby-full"
    # Participants never see the lobby count.
    assert "lobby_waiting" not in (await ivy.fresh_state())["meeting"]


async def test_a_removed_facilitator_cannot_delete_the_meeting(
    server: ServerProcess, peers: MakePeer
) -> None:
    sam = peers(server.facilitator, "Sam")
    await sam.join()
    # A co-host made a facilitator in the room (the creator's link holders cannot be removed).
    co = peers(server.participant, "Co")
    await co.join()
    assert (await sam.action("make-facilitator", person=co.person_id()))["type"] == "ok"
    assert (await sam.action("remove", person=co.person_id()))["type"] == "ok"
    base = f"{server.base}/m/{server.meeting_id}"
    async with co.http.post(f"{base}/delete", data={}, headers={"Origin": co.origin}) as r:
        assert r.status == 403
    async with co.http.get(f"{base}/recap") as r:
        assert r.status == 200
        assert 'action="/m/' + server.meeting_id + '/delete"' not in await r.text()
    async with aiohttp.ClientSession() as http, http.get(f"{base}/recap.json") as r:
        assert r.status == 200  # still there


async def test_the_session_token_changes_when_the_role_does(
    server: ServerProcess, peers: MakePeer
) -> None:
    ana = peers(server.participant, "Ana")
    await ana.join()
    old = cookie_of(ana)
    await ana.disconnect()
    async with ana.http.get(server.facilitator) as r:
        assert r.status == 200
    new = cookie_of(ana)
    assert new != old
    # The old token no longer works at all, so it never became a facilitator's.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        jar.update_cookies({f"fs_{ana.meeting_id}": old}, response_url=URL(ana.link))
        ws = await http.ws_connect(
            f"{ana.origin}/m/{ana.meeting_id}/ws", headers={"Origin": ana.origin}
        )
        await ws.send_str(json.dumps({"type": "join", "id": 1, "value": {"name": "Old"}}))
        reply = await ws.receive_json(timeout=5)
        assert reply["type"] == "error" and reply["error"] == "no-session"
        assert await closed(ws) == 4401
    # The new one is the same person, now a facilitator.
    ana.ws = None
    before = ana.person_id()
    await ana.connect()
    reply = await ana.request("join", {"name": "Ana"}, want=("joined", "error"))
    assert reply["value"]["you"]["id"] == before
    assert reply["value"]["you"]["role"] == "facilitator"


def files_containing(folder: Path, texts: list[str]) -> dict[str, list[str]]:
    """Which files under ``folder`` contain which of ``texts`` (as UTF-8 bytes)."""
    found: dict[str, list[str]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [t for t in texts if t.encode() in data]
            if hits:
                found[path.name] = hits
    return found


async def test_deleted_notes_and_meetings_are_gone_from_every_file(
    server: ServerProcess, peers: MakePeer
) -> None:
    _sam, ana, ben = await trio(server, peers)
    lines = [f"chat line {i} about the zebra crossing" for i in range(21)]
    for line in lines:
        assert (await ana.action("chat", text=line))["type"] == "ok"
    note = "okapi: a secret note nobody else may read"
    for version in range(5):  # several saves, each leaving a copy in the WAL
        reply = await ana.action("note", about=ben.person_id(), text=f"{note} v{version}")
        assert reply["type"] == "ok"
    await asyncio.sleep(0.3)  # saved, whenever "ok" is sent
    assert (await ana.action("delete-notes"))["type"] == "ok"
    server.kill()
    found = files_containing(server.data, ["okapi", lines[0]])
    assert all("okapi" not in hits for hits in found.values()), found
    assert any(lines[0] in hits for hits in found.values())  # the search does find text

    server.restart()
    key = server.facilitator.rsplit("key=", 1)[1]
    base = f"{server.base}/m/{server.meeting_id}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/delete", data={"key": key}) as r,
    ):
        assert r.status == 200
    server.kill()
    found = files_containing(server.data, [*lines, "okapi", server.meeting_id, "Ben"])
    assert not found, found


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """An 8 MB tmpfs at ``tmp_path/data`` in a private mount namespace (held by a sleeper)."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        pytest.skip("needs root with unshare and nsenter to mount a small tmpfs privately")
    data = tmp_path / "data"
    data.mkdir()
    script = 'mount -t tmpfs -o size=8m tmpfs "$0" && echo mounted && exec sleep 600'
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(data)],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    if holder.stdout.readline().strip() != b"mounted":
        holder.kill()
        pytest.skip("could not mount a tmpfs in a private mount namespace")
    try:
        yield data, holder.pid
    finally:
        holder.kill()
        holder.wait(10)


def fill(path: Path) -> None:
    """Write zeros until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)


async def test_a_full_disk_is_said_and_caught_up(
    tmp_path: Path, small_disk: tuple[Path, int], peers: MakePeer
) -> None:
    data, holder = small_disk
    prefix = ["nsenter", "-t", str(holder), "-m", f"--wd={ROOT}", "--"]
    servers = running_server(tmp_path, prefix=prefix)
    server = next(servers)
    try:
        assert server.data == data
        inside = Path(f"/proc/{holder}/root") / data.relative_to("/")
        sam, ana, _ben = await trio(server, peers)
        assert (await ana.action("chat", text="before the disk filled"))["type"] == "ok"
        filler = inside / "filler"
        fill(filler)
        # The first change after the disk filled is not acknowledged...
        first = await ana.action("chat", text="while full, kept in memory")
        assert first["type"] == "error" and first["error"] == "not-saved"
        assert "disk is full" in first["message"]
        state = await sam.fresh_state(lambda s: s["meeting"]["storage_ok"] is False)
        assert state["meeting"]["storage_ok"] is False
        # ...nor are later ones, which are refused before they change anything.
        for text in ("refused one", "refused two"):
            assert (await ana.action("chat", text=text))["error"] == "not-saved"
        assert (await sam.action("extend-call", seconds=60))["error"] == "not-saved"
        await asyncio.sleep(1.0)  # ten save attempts
        assert server.log().count("cannot save meetings") == 1  # said once, not every 0.1 s
        # Space comes back: the saver catches up by itself.
        filler.unlink()
        await sam.fresh_state(lambda s: s["meeting"]["storage_ok"] is True, timeout=10)
        assert (await ana.action("chat", text="after space came back"))["type"] == "ok"
        server.kill()
        server.restart()
        ana.ws = None
        ana.messages.clear()
        await ana.join()
        history = await ana.wait_for("chat-history")
        texts = [m["text"] for m in history["value"]["messages"]]
        assert "before the disk filled" in texts
        assert "while full, kept in memory" in texts  # retried, not marked done
        assert "after space came back" in texts
        assert "refused one" not in texts and "refused two" not in texts
    finally:
        for _ in servers:
            pass
