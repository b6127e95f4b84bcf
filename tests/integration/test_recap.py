"""Recap pages and private notes over real HTTP, through a restart and a deletion."""

from __future__ import annotations

import asyncio
import sqlite3

from .harness import MakePeer, ServerProcess, SharedMeeting, trio


async def test_notes_are_private_survive_restarts_and_can_be_deleted(
    own_server: ServerProcess, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(own_server, peers)
    await sam.action("start")
    note = "Ben: blogging for 3 years, a small dog that thinks it is big"
    assert (await ana.action("note", about=ben.person_id(), text=note))["type"] == "ok"
    assert (await ana.action("note", about="general", text="Fun group"))["type"] == "ok"
    assert (await ben.action("note", about="nobody", text="x"))["error"] == "bad-request"
    base = f"{own_server.base}/m/{own_server.meeting_id}"
    url = f"{base}/notes/{ana.person_id()}"
    async with ana.http.get(url) as r:
        assert r.status == 200
        assert (await r.json())["notes"][ben.person_id()] == note
    for other in (ben, sam):  # another participant, and the facilitator: 403
        async with other.http.get(url) as r:
            assert r.status == 403
    await ana.settle()
    assert not any(note in str(m) for p in (ben, sam) for m in p.messages)

    # Kill the own_server; the notes come back, in the recap and when Ana rejoins.
    await asyncio.sleep(0.3)
    own_server.kill()
    own_server.restart()
    ana.ws = None
    ana.messages.clear()
    joined = await ana.join()
    assert joined["value"]["notes"][ben.person_id()] == note
    async with ana.http.get(f"{base}/recap") as r:
        html = await r.text()
    assert "What I learned about Ben" in html and "a small dog that thinks it is big" in html
    async with ben.http.get(f"{base}/recap") as r:
        assert "a small dog" not in await r.text()
    async with ana.http.get(f"{base}/recap.md") as r:
        assert r.headers["Content-Disposition"].startswith("attachment")
        markdown = await r.text()
    assert "| Item | Planned | Actual | Over |" in markdown and note in markdown
    async with ben.http.get(f"{base}/recap.json") as r:
        shared = await r.json()
    assert shared["items"][0]["title"] == "Welcome and how it works"
    assert note not in str(shared)

    # Ana deletes her notes: gone from SQLite too.
    async with ana.http.post(f"{base}/notes/delete", allow_redirects=False) as r:
        assert r.status == 303
    async with ana.http.get(url) as r:
        assert (await r.json())["notes"] == {}
    await asyncio.sleep(0.3)
    db = sqlite3.connect(own_server.data / "facilitator.sqlite3")
    dump = "\n".join(db.iterdump())
    db.close()
    assert "small dog" not in dump and "Fun group" not in dump


async def test_only_a_facilitator_deletes_a_meeting_and_then_it_is_gone(
    server: SharedMeeting, peers: MakePeer
) -> None:
    sam = peers(server.facilitator, "Sam")
    ana = peers(server.participant, "Ana")
    await sam.join()
    await ana.join()
    await ana.action("chat", text="remember me")
    base = f"{server.base}/m/{server.meeting_id}"
    async with ana.http.post(f"{base}/delete") as r:
        assert r.status == 403
    async with sam.http.get(f"{base}/recap") as r:
        assert "Delete meeting" in await r.text()
    async with ana.http.get(f"{base}/recap") as r:
        assert "Delete meeting" not in await r.text()
    async with sam.http.post(f"{base}/delete") as r:
        assert r.status == 200 and "Meeting deleted" in await r.text()
    async with ana.http.get(base) as r:
        assert r.status == 404
    await asyncio.sleep(0.3)
    db = sqlite3.connect(server.data / "facilitator.sqlite3")
    dump = "\n".join(db.iterdump())
    db.close()
    assert server.meeting_id not in dump and "remember me" not in dump
