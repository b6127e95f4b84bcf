"""Staying in touch and retention over real HTTP and WebSockets.

Two people who chose each other see each other's contact line after the call; a one-sided
choice shows nowhere (not to the other person, not to the facilitator, not in any export or
message); expired meetings are deleted, also at start-up.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from .harness import MakePeer, Peer, SharedMeeting, running_server, trio

CY_LINE = "cy-secret-line@example.org"


async def get(peer: Peer, url: str) -> tuple[int, str]:
    async with peer.http.get(url) as r:
        return r.status, await r.text()


async def post(peer: Peer, url: str, **form: str) -> int:
    async with peer.http.post(url, data=form, allow_redirects=False) as r:
        await r.read()
        return r.status


def dump(data: Path) -> str:
    db = sqlite3.connect(data / "facilitator.sqlite3")
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


async def everything_seen(base: str, peers: list[Peer]) -> str:
    """Every page, export and message each peer can get: one text to search."""
    texts = []
    for peer in peers:
        for path in ("/recap", "/recap.md", "/recap.json", f"/notes/{peer.person_id()}", ""):
            texts.append((await get(peer, base + path))[1])
        texts.append(str(peer.messages))
    return "\n".join(texts)


async def test_mutual_choices_show_after_the_end_and_one_sided_ones_nowhere(
    server: SharedMeeting, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(server, peers)
    cy = peers(server.participant, "Cy")
    await cy.join()
    await sam.action("start")
    base = f"{server.base}/m/{server.meeting_id}"
    for who, other in ((ana, ben), (ben, ana)):
        reply = await who.action("stay-in-touch", person=other.person_id(), want=True)
        assert reply["type"] == "ok"
    await ana.action("contact-line", text="Ana: https://ana.example.org/hello")
    await ben.action("contact-line", text="@ben on the fediverse")
    assert (await ana.action("contact-line", text="x" * 201))["error"] == "bad-request"
    # Not before the end.
    assert "both want to stay in touch" not in (await get(ana, base + "/recap"))[1]
    await sam.action("end")
    await ana.settle()

    status, page = await get(ana, base + "/recap")
    assert status == 200
    assert "You and Ben both want to stay in touch." in page
    assert "@ben on the fediverse" in page
    status, page = await get(ben, base + "/recap")
    assert "You and Ana both want to stay in touch." in page
    assert (
        '<a href="https://ana.example.org/hello" rel="noopener noreferrer nofollow" '
        'target="_blank">https://ana.example.org/hello</a>' in page
    )
    assert "You and Ana both want" in (await get(ben, base + "/recap.md"))[1]
    async with ana.http.get(f"{base}/touch/{ben.person_id()}.vcf") as r:
        assert r.status == 200 and r.content_type == "text/vcard"
        card = await r.text()
    assert "FN:Ben\r\n" in card and "@ben on the fediverse" in card

    # Cy chooses Ana after the call, on the recap page, and writes a line: one-sided.
    before = await everything_seen(base, [ana, ben, sam])
    await ana.settle()
    marks = {p.name: len(p.messages) for p in (ana, ben, sam)}
    assert await post(cy, base + "/touch", person=ana.person_id(), want="yes") == 303
    assert await post(cy, base + "/touch", line=CY_LINE) == 303
    status, page = await get(cy, base + "/recap")
    assert 'aria-checked="true">I\'d like to stay in touch with Ana' in page
    assert "both want to stay in touch" not in page  # no match for Cy
    await ana.settle()
    assert {p.name: len(p.messages) for p in (ana, ben, sam)} == marks  # no message to anyone
    after = await everything_seen(base, [ana, ben, sam])
    assert after == before  # every page, export and message is just as it was
    assert CY_LINE not in after
    # Nor through the API: there is no export of the stored meeting to find it in.
    for path in ("/api/meetings", f"/api/meetings/{server.meeting_id}", "/api/stats", "/healthz"):
        for peer in (ana, sam):
            assert CY_LINE not in (await get(peer, server.base + path))[1]
    for peer in (ana, ben, sam):
        status, text = await get(peer, f"{base}/touch/{cy.person_id()}.vcf")
        assert (status, text) == (404, "No such contact.")
    nobody = await get(cy, f"{base}/touch/p_nobody.vcf")
    assert await get(cy, f"{base}/touch/{ana.person_id()}.vcf") == nobody
    # Cy's own choice comes back to Cy only, in `joined`.
    cy.ws = None
    joined = await cy.join(expect="joined")
    assert joined["value"]["touch"] == {"chosen": [ana.person_id()], "line": CY_LINE}
    assert CY_LINE not in server.log()

    # Withdrawing removes the match for both.
    assert await post(ben, base + "/touch", person=ana.person_id(), want="no") == 303
    assert "both want to stay in touch" not in (await get(ana, base + "/recap"))[1]
    assert "both want to stay in touch" not in (await get(ben, base + "/recap"))[1]
    assert (await get(ana, f"{base}/touch/{ben.person_id()}.vcf"))[0] == 404


async def test_the_stay_in_touch_endpoints_are_bounded_and_need_a_session(
    server: SharedMeeting, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(server, peers)
    base = f"{server.base}/m/{server.meeting_id}"
    stranger = peers(server.participant, "Stranger")  # has no session cookie: never opened it
    assert await post(stranger, base + "/touch", person=ana.person_id(), want="yes") == 403
    assert await post(ana, base + "/touch", line="x" * 3000) == 413
    assert await post(ana, base + "/touch", person=ana.person_id(), want="yes") == 400
    async with ana.http.post(
        base + "/touch", data={"line": "hi"}, headers={"Origin": "http://evil.example"}
    ) as r:
        assert r.status == 403
    cross_site = {"Origin": "null", "Sec-Fetch-Site": "cross-site"}
    async with ana.http.post(base + "/touch", data={"line": "hi"}, headers=cross_site) as r:
        assert r.status == 403
    # What a browser sends under Referrer-Policy: no-referrer, from the recap page itself.
    same_site = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    async with ana.http.post(
        base + "/touch", data={"line": "hi"}, headers=same_site, allow_redirects=False
    ) as r:
        assert r.status == 303
    statuses = [await post(ben, base + "/touch", line=f"line {i}") for i in range(30)]
    assert statuses.count(303) <= 21 and 429 in statuses
    assert await post(sam, base + "/touch", line="sam") == 303  # others have their own budget


async def test_delete_my_notes_and_deleting_the_meeting_remove_choices_and_lines(
    server: SharedMeeting, peers: MakePeer
) -> None:
    sam, ana, ben = await trio(server, peers)
    base = f"{server.base}/m/{server.meeting_id}"
    await ana.action("stay-in-touch", person=ben.person_id(), want=True)
    await ben.action("stay-in-touch", person=ana.person_id(), want=True)
    await ana.action("contact-line", text="ana-line-to-delete")
    await ben.action("contact-line", text="ben-line-to-delete")
    await sam.action("end")
    assert "ana-line-to-delete" in (await get(ben, base + "/recap"))[1]
    assert await post(ana, base + "/notes/delete") == 303
    assert "ana-line-to-delete" not in (await get(ben, base + "/recap"))[1]
    await asyncio.sleep(0.3)
    text = dump(server.data)
    assert "ana-line-to-delete" not in text and "ben-line-to-delete" in text
    async with sam.http.post(f"{base}/delete") as r:
        assert r.status == 200
    await asyncio.sleep(0.3)
    assert "ben-line-to-delete" not in dump(server.data)


async def test_meetings_expire_in_the_background_and_at_start_up(
    tmp_path: Path, peers: MakePeer
) -> None:
    keep = 3.0  # seconds, as a fraction of a day
    days = f"{keep / 86400:.10f}"
    with contextmanager(running_server)(tmp_path, extra=["--keep-days", days]) as server:
        sam, ana, _ = await trio(server, peers)
        base = f"{server.base}/m/{server.meeting_id}"
        await ana.action("contact-line", text="expiring-line")
        page = (await get(ana, base + "/recap"))[1]
        assert "deleted" in page and "after it ends" in page
        await sam.action("end")
        page = (await get(ana, base + "/recap"))[1]
        assert re.search(r"are deleted on \w+ \d+ \w+ \d{4}, \d\d:\d\d UTC", page), page
        first = server.meeting_id
        deadline = time.monotonic() + 15
        while (await get(ana, base + "/recap"))[0] != 404:
            assert time.monotonic() < deadline, "the ended meeting was not deleted in time"
            await asyncio.sleep(0.5)
        assert first not in dump(server.data) and "expiring-line" not in dump(server.data)

        # At start-up: the start-up meeting ends, the server is killed before it can sweep,
        # and by the time it listens again the meeting is gone.
        server.participant = server.facilitator = ""
        server.kill()
        server.restart()
        second = server.meeting_id
        host = peers(server.facilitator, "Sam")
        await host.join()
        await host.action("end")
        await asyncio.sleep(0.3)  # saved
        server.kill()
        assert second in dump(server.data)
        await asyncio.sleep(keep + 0.5)
        server.restart()
        assert second not in dump(server.data)
