"""Attacks inside the attacker's own meeting for the attack benchmark (``bench.attacks``).

WebSockets, names, the lobby, privileges, session tokens and a crowd: each runs from the
attacker's loopback address until its context says stop and returns what the server answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from typing import Any

import aiohttp
from yarl import URL

from .client import ProtocolClient
from .hostile_http import AttackContext, Counts, http_from

WS_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, AssertionError)
"""What a client sees when the server refuses or closes it (AssertionError: a refused page)."""


def stranger(ctx: AttackContext, name: str, link: str | None = None) -> ProtocolClient:
    """A browser stand-in of the attacker's (its connections come from the attacker's address)."""
    return ProtocolClient(link or ctx.participant, name, local_address=ctx.address)


async def close_all(clients: list[ProtocolClient]) -> None:
    """Close every client, whatever state it is in."""
    for client in clients:
        with contextlib.suppress(*WS_ERRORS):
            await client.close()


def failure(exc: BaseException) -> str:
    """A count's name for what went wrong (a refused page load fails the client's assertion)."""
    return "page refused" if isinstance(exc, AssertionError) else type(exc).__name__


def close_code(client: ProtocolClient) -> str:
    """The close code of a client's WebSocket, as a count's name."""
    code = client.ws.close_code if client.ws is not None else None
    return f"closed {code}"


async def many_tabs(ctx: AttackContext, sockets: int = 2250, toggles: float = 19.0) -> Counts:
    """``sockets`` WebSockets on one session cookie, then ``toggles`` hand toggles a second."""
    counts: Counts = Counter()
    tab = stranger(ctx, "Many tabs")
    ctx.start()
    await tab.join()
    url = f"{tab.origin}/m/{tab.meeting_id}/ws"
    codes: Counts = Counter()

    async def one() -> None:
        try:
            ws = await tab.http.ws_connect(url, headers={"Origin": tab.origin})
        except WS_ERRORS as exc:
            counts[f"refused ({failure(exc)})"] += 1
            return
        counts["opened"] += 1
        with contextlib.suppress(*WS_ERRORS):
            async for _ in ws:
                pass
        codes[f"closed {ws.close_code}"] += 1

    readers = []
    for start in range(0, sockets, 50):
        if not ctx.running():
            break
        readers += [asyncio.create_task(one()) for _ in range(min(50, sockets - start))]
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    # The tab that joined first has long been closed (4409): this browser joins again and toggles.
    tab.ws = None
    raised = False
    with contextlib.suppress(*WS_ERRORS):
        await tab.join()
        while ctx.running():
            raised = not raised
            reply = await tab.action("hand", raised=raised)
            counts[f"hand {reply['type']}"] += 1
            await asyncio.sleep(1 / toggles)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await close_all([tab])
    counts.update(codes)
    return counts


async def oversized_names(ctx: AttackContext, connections: int = 3) -> Counts:
    """``connections`` sockets sending 60 KB ``join`` names, reconnecting when closed."""
    counts: Counts = Counter()
    huge = json.dumps({"type": "join", "value": {"name": "x" * 60_000}})
    ctx.start()

    async def one(i: int) -> None:
        while ctx.running():
            client = stranger(ctx, f"Long {i}")
            try:
                await client.open_page()
                await client.connect()
                assert client.ws is not None
                while ctx.running() and not client.ws.closed:
                    await client.ws.send_str(huge)
                    counts["sent"] += 1
                    await asyncio.sleep(0.01)
                await client.disconnect()
                counts[close_code(client)] += 1
                counts["bad-name"] += sum(m.get("error") == "bad-name" for m in client.messages)
            except WS_ERRORS as exc:
                counts[failure(exc)] += 1
                await asyncio.sleep(0.1)
            finally:
                await close_all([client])

    await asyncio.gather(*(one(i) for i in range(connections)))
    return counts


async def lobby_knocks(ctx: AttackContext, knocks: int = 11) -> Counts:
    """Strangers knock at the lobby of a room of 16 with 6 inside, over and over; each time an
    invited person knocks too, and the host admits them."""
    counts: Counts = Counter()
    setup = ctx.helpers[0]
    host = ProtocolClient(ctx.facilitator, "Host", local_address=setup)
    await host.join()
    guests = [ProtocolClient(ctx.participant, f"Guest {i}", local_address=setup) for i in range(5)]
    for guest in guests:
        await guest.join(expect="lobby")
    await host.action("admit-all")
    for guest in guests:
        await guest.wait_for("joined")
    ctx.start()
    round_ = 0
    while ctx.running():
        round_ += 1
        strangers = [stranger(ctx, f"Stranger {round_}-{i}") for i in range(knocks + 6)]
        try:
            for client in strangers:
                reply = await client.join(expect="lobby")
                counts[reply.get("error") or reply["type"]] += 1
            invited = ProtocolClient(ctx.participant, f"Invited {round_}", local_address=setup)
            strangers.append(invited)
            await invited.join(expect="lobby")
            wanted = invited.name
            state = await host.fresh_state(
                lambda s: any(p["name"] == wanted for p in s["people"])  # noqa: B023
            )
            person = next(p["id"] for p in state["people"] if p["name"] == wanted)
            reply = await host.action("admit", person=person)
            counts[f"invited: {reply.get('error') or 'admitted'}"] += 1
        except WS_ERRORS as exc:
            counts[failure(exc)] += 1
        finally:
            await close_all(strangers)
    await close_all([host, *guests])
    return counts


async def nested_frames(ctx: AttackContext) -> Counts:
    """A joined connection sending frames of 1,000 nested arrays; it joins again when closed."""
    counts: Counts = Counter()
    frame = "[" * 1000 + "]" * 1000
    ctx.start()
    while ctx.running():
        client = stranger(ctx, "Nested")
        try:
            await client.join()
            assert client.ws is not None
            while ctx.running() and not client.ws.closed:
                await client.ws.send_str(frame)
                counts["sent"] += 1
                await asyncio.sleep(0.005)
            await client.disconnect()
            counts[close_code(client)] += 1
            for message in client.messages:
                if message["type"] == "error":
                    counts[message["error"]] += 1
        except WS_ERRORS as exc:
            counts[failure(exc)] += 1
            await asyncio.sleep(0.1)
        finally:
            await close_all([client])
    return counts


LOOKALIKES = (
    "Ana (host)",
    "Sam [Facilitator]",
    "\u3164",
    "\u2800\u2800",
    "\u0301" * 40,
    "Ana\u200d",
    "\u0410na",
    "ANA",
    "Sam",
)
"""Names that claim a role, show nothing, or look like Ana's or the host's (Sam)."""


async def lookalike_names(ctx: AttackContext) -> Counts:
    """Join as look-alikes of the people in the room, and invisible names, over and over."""
    counts: Counts = Counter()
    setup = ctx.helpers[0]
    sam = ProtocolClient(ctx.facilitator, "Sam", local_address=setup)
    ana = ProtocolClient(ctx.participant, "Ana", local_address=setup)
    for client in (sam, ana):
        await client.join()
    ctx.start()
    turn = 0
    while ctx.running():
        name = LOOKALIKES[turn % len(LOOKALIKES)]
        turn += 1
        client = stranger(ctx, name)
        try:
            reply = await client.join()
            if reply["type"] == "joined":
                shown = reply["value"]["you"]["name"]
                counts["joined as '… (n)'" if shown.endswith(")") else f"joined as {shown!r}"] += 1
            else:
                counts[reply["error"]] += 1
        except WS_ERRORS as exc:
            counts[failure(exc)] += 1
            await asyncio.sleep(0.1)
        finally:
            await close_all([client])
    await close_all([sam, ana])
    return counts


async def removed_facilitator(ctx: AttackContext) -> Counts:
    """A co-host who was made facilitator and then removed tries to delete the meeting."""
    counts: Counts = Counter()
    sam = ProtocolClient(ctx.facilitator, "Sam", local_address=ctx.helpers[0])
    co = stranger(ctx, "Co")
    for client in (sam, co):
        await client.join()
    await sam.action("make-facilitator", person=co.person_id())
    await sam.action("remove", person=co.person_id())
    base = f"{ctx.base}/m/{co.meeting_id}"
    ctx.start()
    while ctx.running():
        try:
            async with co.http.post(f"{base}/delete", data={}, headers={"Origin": co.origin}) as r:
                counts[str(r.status)] += 1
        except WS_ERRORS as exc:
            counts[failure(exc)] += 1
        await asyncio.sleep(0.02)
    async with co.http.get(f"{base}/recap.json") as r:
        counts["meeting still there" if r.status == 200 else f"recap {r.status}"] += 1
    await close_all([sam, co])
    return counts


def cookie_of(client: ProtocolClient) -> str | None:
    """The client's session cookie for its meeting."""
    for morsel in client.http.cookie_jar:
        if morsel.key == f"fs_{client.meeting_id}":
            return morsel.value
    return None


async def session_fixation(ctx: AttackContext) -> Counts:
    """A participant's browser opens the facilitator link: does its old token gain the role?"""
    counts: Counts = Counter()
    ctx.start()
    while ctx.running():
        client = stranger(ctx, "Fixer")
        try:
            await client.join()
            old = cookie_of(client)
            await client.disconnect()
            async with client.http.get(ctx.facilitator) as r:
                await r.read()
            if r.status != 200:
                counts[f"facilitator page {r.status}"] += 1
                continue
            counts["token rotated" if cookie_of(client) != old else "token kept"] += 1
            async with http_from(ctx.address) as http:
                http.cookie_jar.update_cookies(
                    {f"fs_{client.meeting_id}": old or ""}, response_url=URL(client.link)
                )
                url = f"{client.origin}/m/{client.meeting_id}/ws"
                ws = await http.ws_connect(url, headers={"Origin": client.origin})
                await ws.send_str(json.dumps({"type": "join", "id": 1, "value": {"name": "Old"}}))
                reply: dict[str, Any] = await ws.receive_json(timeout=5)
                counts[f"old token: {reply.get('error') or reply['type']}"] += 1
                await ws.close()
        except WS_ERRORS as exc:
            counts[failure(exc)] += 1
            await asyncio.sleep(0.1)
        finally:
            await close_all([client])
    return counts


async def crowd(ctx: AttackContext, people: int = 1000, notes: int = 10_000) -> Counts:
    """``people`` browsers join one meeting (from the attacker's addresses), then 50 of them
    write ``notes`` notes of 100 characters about everyone."""
    counts: Counts = Counter()
    addresses = [ctx.address, *ctx.helpers]
    authors: list[ProtocolClient] = []
    ids: list[str] = []
    ctx.start()

    async def arrive(i: int) -> None:
        client = ProtocolClient(
            ctx.participant, f"Crowd {i}", keep_states=False, local_address=addresses[i % 7]
        )
        try:
            reply = await client.join(timeout=20)
            counts[reply.get("error") or reply["type"]] += 1
            if reply["type"] == "joined":
                ids.append(client.person_id())
                if len(authors) < 50:
                    authors.append(client)
                    return
        except WS_ERRORS as exc:
            counts[failure(exc)] += 1
        await close_all([client])

    for start in range(0, people, 25):
        if not ctx.running():
            break
        await asyncio.gather(*(arrive(i) for i in range(start, min(people, start + 25))))
    written = 0

    async def write(author: ProtocolClient) -> None:
        nonlocal written
        for about in ids[:50]:
            for version in range(notes // (50 * max(1, len(authors)))):
                if not ctx.running() or written >= notes:
                    return
                written += 1
                try:
                    reply = await author.action("note", about=about, text=f"{version:03d}" * 33)
                    counts[f"note {reply.get('error') or reply['type']}"] += 1
                except WS_ERRORS as exc:
                    counts[failure(exc)] += 1
                    return
                await asyncio.sleep(0.05)

    await asyncio.gather(*(write(a) for a in authors))
    await close_all(authors)
    return counts
