"""Recap pages and private notes over real HTTP, through a restart and a deletion."""

from __future__ import annotations

import asyncio
import re
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


async def test_page_json_and_markdown_agree_and_the_chat_is_for_attendees_only(
    server: SharedMeeting, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(server, peers)
    base = f"{server.base}/m/{server.meeting_id}"
    by_id = {p.person_id(): p for p in (sam, ana, ben)}
    await sam.action("lobby-on")
    lee = peers(server.participant, "Lee")
    assert (await lee.join(expect="lobby"))["type"] == "lobby"  # never let in
    await sam.action("start")
    await ana.action("chat", text="my blog: https://ana.example.org <b>hi</b>")
    await asyncio.sleep(1.3)
    await sam.action("next-item")  # name game: the first speaker sits out during their turn
    state = await sam.fresh_state(lambda s: bool(s["icebreaker"] and s["icebreaker"]["speaker"]))
    await asyncio.sleep(0.6)
    await by_id[state["icebreaker"]["speaker"]].action("opt-out", sit_out=True)
    await sam.action("end")
    await ana.settle()
    async with ana.http.get(f"{base}/recap.json") as r:
        data = await r.json()
    async with ana.http.get(f"{base}/recap.md") as r:
        markdown = await r.text()
    async with ana.http.get(f"{base}/recap") as r:
        page = await r.text()
    rows = re.findall(
        r"<tr>\s*<th scope=\"row\">(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page, re.S
    )
    assert len(rows) == len(data["items"]) + 1  # and the total
    for item, (_, planned, actual) in zip(data["items"], rows, strict=False):
        text = item["text"]
        assert (planned, actual) == (text["planned"], text["actual"])
        title = item["title"]
        difference = text["difference"]
        assert f"| {title} | {text['planned']} | {text['actual']} | {difference} |" in markdown
    assert data["items"][0]["text"]["actual"] == "0:01"  # 1.3 s: the fraction is dropped
    assert f"took {data['text']['time_used']}" in page and data["text"]["time_used"] in markdown
    turn = data["turns"][0]
    assert (turn["outcome"], turn["label"]) == ("sat-out", "sat out")
    assert '<span class="badge">sat out</span>' in page and "(sat out)" in markdown
    # The chat, as it happened, for the people who were there; links clickable, HTML inert.
    assert '<a href="https://ana.example.org" rel="noopener noreferrer nofollow"' in page
    assert "&lt;b&gt;hi&lt;/b&gt;" in page and "<b>hi</b>" not in page
    assert "## Chat" in markdown and "https://ana.example.org" in markdown
    assert [a["name"] for a in data["attendees"]] == ["Sam", "Ana", "Ben"]
    assert "ana.example.org" not in str(data)
    for outsider in (lee, peers(server.participant, "Nobody")):  # lobby only; no session at all
        async with outsider.http.get(f"{base}/recap") as r:
            assert "ana.example.org" not in await r.text()
        async with outsider.http.get(f"{base}/recap.md") as r:
            assert "ana.example.org" not in await r.text()
