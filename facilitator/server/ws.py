"""The meeting WebSocket: validate each message, authorise from the session, call the Meeting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiohttp import WSMsgType, web

from ..domain.clock import ENDED
from ..domain.meeting import FACILITATOR, IN_ROOM, PARTICIPANT, MeetingError, clean_name
from ..domain.people import MAX_NAME_INPUT
from ..errors import CodedError
from ..media.sfu import MediaError, Sfu
from ..store import Store, is_disk_full
from . import protocol
from .keys import CONFIG, ROOMS, SFU, STORE
from .rooms import NOT_SAVED, Client, Room, close_when_delivered
from .sessions import (
    RENEWED_SECONDS,
    claim,
    origin_allowed,
    set_session_cookie,
    socket_session,
)

log = logging.getLogger(__name__)

RATE_PER_SECOND = 20.0
RATE_BURST = 60.0
RATE_STRIKES = 100
"""Messages dropped for rate before the connection is closed."""
MAX_TABS = 8
"""Connections one browser session may hold open in a meeting (a handful of tabs)."""
JOIN_SECONDS = 20.0
"""A connection that has not sent ``join`` by then is closed."""
ERROR_BUDGET = 50.0
"""Refused messages a connection may send at once; the budget refills one a second."""
FREE_ERRORS = frozenset({"bad-sdp", "no-offer", "media-failed", "not-saved"})
"""Refusals that cost nothing: media negotiation has its own limits (each refused answer
gets a fresh offer and a reply), and a full disk is the server's trouble."""
HEAVY_ERRORS = frozenset({"too-big"})
"""Refusals that cost a connection ERROR_WEIGHT from its budget (so repeats close it fast)."""
ERROR_WEIGHT = 10.0
NOT_HELD = frozenset(
    {
        protocol.Close.RESTARTING,  # the meeting moved to another node, or the server stops
        protocol.Close.REMOVED,
        protocol.Close.DELETED,
        protocol.Close.FLOODING,
        protocol.Close.TOO_MANY_ERRORS,
    }
)
"""Sockets the server closed for these reasons lose their media at once (``_let_go``)."""
VISIBLE_PER_SECOND = 2.0
VISIBLE_BURST = 5.0
MAX_VISIBLE = 100
"""People one `visible` report may name (a meeting holds at most 100)."""


class RateLimit:
    """A token bucket: ``burst`` messages at once, ``rate`` per second sustained."""

    def __init__(self, rate: float = RATE_PER_SECOND, burst: float = RATE_BURST) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.at = time.monotonic()
        self.strikes = 0

    def allow(self) -> bool:
        """Take a token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.strikes += 1
        return False


class ErrorBudget:
    """Counts refusals: a client that keeps sending what the server refuses is closed."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.at = time.monotonic()

    def charge(self, weight: float = 1.0) -> bool:
        """Count one refusal; False when the connection has used up its budget."""
        now = time.monotonic()
        self.spent = max(0.0, self.spent - (now - self.at)) + weight
        self.at = now
        return self.spent <= ERROR_BUDGET


async def meeting_socket(request: web.Request) -> web.StreamResponse:
    """GET /m/{id}/ws: one browser's live connection to a meeting."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="This page may only be used from its own site.")
    room = await request.app[ROOMS].get(request.match_info["id"])
    if room is None:
        raise web.HTTPNotFound(text="No such meeting.")
    seat = await socket_session(request, room)
    session = seat.session
    heartbeat = request.app[CONFIG].heartbeat
    ws = web.WebSocketResponse(heartbeat=heartbeat, max_msg_size=protocol.MAX_MESSAGE_BYTES)
    if seat.token is not None:
        # Its person's role changed: the handshake's answer carries the new cookie.
        set_session_cookie(request, ws, room.meeting.id, seat.token)
    await ws.prepare(request)
    if session is None:
        await ws.send_str(protocol.error("no-session", "Please reload the page to join."))
        await ws.close(code=protocol.Close.NO_SESSION, message=b"no session")
        return ws
    for oldest in room.of_session(session.token_hash)[: -MAX_TABS + 1]:
        # A handful of tabs per browser: the newest wins, the oldest make room.
        room.clients.discard(oldest)
        await oldest.ws.close(code=protocol.Close.TOO_MANY_TABS, message=b"another tab took over")
    client = Client(ws, session)
    client.stored = seat.stored
    client.replaced = seat.replaced
    room.clients.add(client)
    loop = asyncio.get_running_loop()
    pump = loop.create_task(client.pump(room.render))
    timer = loop.call_later(JOIN_SECONDS, _close_unjoined, client)
    limit = RateLimit()
    errors = ErrorBudget()
    store = request.app[STORE]
    client.visible_allowed = RateLimit(VISIBLE_PER_SECOND, VISIBLE_BURST).allow
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                if not limit.allow():
                    client.send(protocol.error("rate-limited", "Slow down a little, please."))
                    if limit.strikes > RATE_STRIKES:
                        await ws.close(code=protocol.Close.FLOODING, message=b"too many messages")
                        break
                    continue
                refused = await handle(request.app[SFU], store, room, client, msg.data)
            else:
                if msg.type == WSMsgType.ERROR:
                    break
                client.send(protocol.error("bad-message", "Messages are JSON text."))
                refused = "bad-message"
            free = refused is None or refused in FREE_ERRORS
            if not free and not errors.charge(_weight(str(refused), msg.data)):
                await ws.close(code=protocol.Close.TOO_MANY_ERRORS, message=b"too many errors")
                break
    finally:
        timer.cancel()
        room.clients.discard(client)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        if client.media and room.media is not None:
            await _let_go(room, client)
        if client.joined and not room.of_person(client.person_id):
            if client.renewing:
                # Closed to pick up a new token: the page is back in a moment, and its person
                # keeps their place (their turn, their group) unless it does not come back.
                loop.call_later(RENEWED_SECONDS, _depart_if_gone, room, client.person_id)
            else:
                room.meeting.depart(client.person_id, room.now())
                room.changed()
    return ws


def _depart_if_gone(room: Room, person_id: str) -> None:
    if not any(c.joined for c in room.of_person(person_id)):
        room.meeting.depart(person_id, room.now())
        room.changed()


def renew_connections(room: Room, person_ids: list[str]) -> None:
    """These people's roles changed: close their connections once their replies are out, so
    their pages reconnect and the handshake gives them a new token (``sessions.renew``).
    Until then they get no state (the next one comes with the new token)."""
    for person_id in person_ids:
        clients = room.of_person(person_id)
        if clients:
            room.renewing[person_id] = len(clients)
        for client in clients:
            client.renewing = True
            # The "ok" of a step-down waits for the save, and the page waits for it.
            closing = close_when_delivered(
                client, protocol.Close.ROLE_CHANGED, b"role changed", tries=60, saved=True
            )
            client.closing = asyncio.get_running_loop().create_task(closing)


async def _let_go(room: Room, client: Client) -> None:
    """The socket that carried a person's media closed: keep the media connection a while for
    them to come back to (``MediaRoom.hold``) unless they left, were removed or it ended."""
    assert room.media is not None
    person = room.meeting.people.get(client.person_id)
    staying = (
        client.joined
        and client.ws.close_code not in NOT_HELD
        and person is not None
        and person.state == IN_ROOM
        and room.meeting.clock.status != ENDED
    )
    if not staying or not room.media.hold(client.person_id, client.session.token_hash):
        await room.media.leave(client.person_id)


def _resume_media(room: Room, client: Client) -> bool:
    """A page that still has its media connection joined again: give this socket the
    connection held for its person (same session only). True when it did."""
    if room.media is None:
        return False
    key = client.session.token_hash
    keys = {key, client.replaced} - {""}  # the token this one replaced held it, perhaps
    owners = [c for c in room.of_person(client.person_id) if c.media and c is not client]
    if any(c.session.token_hash not in keys for c in owners):
        return False
    for other in owners:
        # The same browser's older socket, which may be dead without the server knowing yet
        # (a page reconnects before the heartbeat notices): this one takes the media over.
        other.media = False
        other.send(protocol.encode("media-ended", {"reason": "replaced"}))
        room.media.hold(client.person_id, key)
    signal = _signal_to(client)
    if not any(room.media.resume(client.person_id, k, signal) for k in sorted(keys)):
        return False
    client.media = True
    # The tiles reported before the drop still stand until the page reports again (a fresh
    # socket has reported nothing yet, which is not the same as showing nothing).
    return True


def _signal_to(client: Client) -> Callable[[str, dict[str, object]], None]:
    def signal(kind: str, value: dict[str, object]) -> None:
        client.send(protocol.encode(kind, value))

    return signal


def _close_unjoined(client: Client) -> None:
    # A connection that never joins holds memory and a task for nothing.
    if not client.joined and not client.ws.closed:
        client.closing = asyncio.get_running_loop().create_task(
            client.ws.close(code=protocol.Close.NO_JOIN, message=b"join first")
        )


def _weight(code: str, data: object) -> float:
    """What a refusal costs: oversized or repeated heavy messages use the budget up fast."""
    heavy = code in HEAVY_ERRORS or (code == "bad-name" and len(str(data)) > 2 * MAX_NAME_INPUT)
    return ERROR_WEIGHT if heavy else 1.0


async def handle(sfu: Sfu, store: Store, room: Room, client: Client, text: str) -> str | None:
    """Act on one message; every failure becomes an ``error`` reply and changes nothing.

    Returns the error code when the message was refused.
    """
    try:
        msg = protocol.parse(text)
    except protocol.ProtocolError as exc:
        client.send(protocol.error(exc.code, str(exc), exc.msg_id))
        return exc.code
    try:
        if msg.type == "ping":
            t = msg.value.get("t")
            value = {"t": t if isinstance(t, int | float) else None, "server_time": room.now()}
            client.send(protocol.encode("pong", value, msg.id))
        elif msg.type == "join":
            await join(store, room, client, msg)
        elif msg.type == "leave":
            if client.media and room.media is not None:
                client.media = False  # leaving on purpose ends the media at once
                await room.media.leave(client.person_id)
            if client.joined:
                client.joined = False
                if not [c for c in room.of_person(client.person_id) if c.joined]:
                    room.meeting.depart(client.person_id, room.now())
                    room.changed()
            client.send(protocol.encode("ok", msg_id=msg.id))
        elif msg.type == "action":
            act(room, client, msg)
        elif msg.type in ("media-start", "answer", "media-stop"):
            await media(sfu, room, client, msg)
        elif msg.type == "visible":
            visible(room, client, msg)
    except CodedError as exc:
        if exc.code == "not-allowed":
            log.warning(
                "meeting %s: refused %r from a participant", room.meeting.id[:6], _action(msg)
            )
        client.send(protocol.error(exc.code, str(exc), msg.id))
        return exc.code
    except Exception as exc:
        if is_disk_full(exc):
            client.send(protocol.error("not-saved", NOT_SAVED, msg.id))
            return "not-saved"
        # A bug must cost one reply, never the server or the meeting.
        log.exception("failed to handle a %s message", msg.type)
        client.send(protocol.error("server-error", "Something went wrong on our side.", msg.id))
    return None


async def media(sfu: Sfu, room: Room, client: Client, msg: protocol.Message) -> None:
    """Start, answer or stop this person's media connection."""
    person = room.meeting.people.get(client.person_id)
    if not client.joined or person is None or person.state != IN_ROOM:
        raise MeetingError("not-joined", "Join the meeting first.")
    if room.meeting.clock.status == ENDED:
        raise MeetingError("meeting-ended", "This meeting has ended.")
    if room.media is None:
        room.media = sfu.room(room.meeting.id)
        room.changed()

    signal = _signal_to(client)
    if msg.type == "media-start":
        # One connection per person: a second tab takes over from the first, which is told.
        for other in room.of_person(client.person_id):
            if other.media and other is not client:
                other.send(protocol.encode("media-ended", {"reason": "replaced"}))
            other.media = other is client
        client.media = True
        await room.media.join(client.person_id, signal)
        if client.visible is not None:
            # Reported before the media started (or before a restart): it still holds.
            room.media.set_visible(client.person_id, set(client.visible))
    elif msg.type == "answer":
        peer = room.media.peers.get(client.person_id)
        if peer is None or not client.media:
            raise MediaError("no-offer", "There is no offer to answer.")
        try:
            await peer.answer(msg.value.get("sdp"))
        except MediaError as exc:
            if exc.code == "bad-sdp":  # start over with a fresh connection and a new offer
                await room.media.join(client.person_id, signal)
            raise
    elif client.media:
        client.media = False
        await room.media.leave(client.person_id)
    client.send(protocol.encode("ok", msg_id=msg.id))


def _action(msg: protocol.Message) -> str:
    return str(msg.value.get("action", msg.type))[:40]


async def join(store: Store, room: Room, client: Client, msg: protocol.Message) -> None:
    """Take a seat: the role comes from the session (the facilitator key), never the message.

    The name is checked first (cheap, before anything is stored); a browser's session row is
    written on its first join.
    """
    name = msg.value.get("name")
    if isinstance(name, str) and len(name) > MAX_NAME_INPUT:
        raise MeetingError("bad-name", "Names can be up to 40 characters.")
    clean_name(name)
    role = FACILITATOR if client.session.facilitator else PARTICIPANT
    created = False
    if not client.stored:
        session = await claim(store, client.session)
        if session is None:
            text = protocol.error("no-session", "Please reload the page to join.", msg.id)
            await client.ws.send_str(text)
            await client.ws.close(code=protocol.Close.NO_SESSION, message=b"no session")
            return
        created = session.person_id not in room.meeting.people
        client.session, client.stored = session, True
    elif not client.session.joined:
        # Stored at once (the facilitator link): it joined, so it lasts as long as its cookie.
        client.session = await store.claim_session(client.session)
    try:
        person = room.meeting.arrive(client.person_id, name, role, room.now())
    except MeetingError:
        if created:  # refused at the door: nothing about this browser is kept
            await store.delete_session(client.session.token_hash)
            client.stored = False
        raise
    finally:
        forgotten = room.meeting.take_forgotten()
        if forgotten:  # people who left no trace made room: their sessions go too
            await store.delete_person_sessions(room.meeting.id, forgotten)
    client.joined = True
    if person.state == IN_ROOM:
        kept = msg.value.get("media") is True and _resume_media(room, client)
        room.welcome(client, msg.id, media=kept)
    else:
        client.want_state()
    room.changed()


def visible(room: Room, client: Client, msg: protocol.Message) -> None:
    """Remember whose tiles this connection has on screen, for the media layer."""
    if not client.joined:
        raise MeetingError("not-joined", "Join the meeting first.")
    people = msg.value.get("people")
    if (
        not isinstance(people, list)
        or len(people) > MAX_VISIBLE
        or not all(isinstance(p, str) and 0 < len(p) <= 64 for p in people)
    ):
        raise MeetingError("bad-request", f"Name up to {MAX_VISIBLE} people by their ids.")
    if not client.visible_allowed():
        raise MeetingError("rate-limited", "Report what is on screen a little less often.")
    client.visible = frozenset(people) & set(room.meeting.people)
    if client.media and room.media is not None:
        room.media.set_visible(client.person_id, set(client.visible))
    client.send(protocol.encode("ok", msg_id=msg.id))


def act(room: Room, client: Client, msg: protocol.Message) -> None:
    """Carry out an action for the connection's person."""
    if not client.joined:
        raise MeetingError("not-joined", "Join the meeting first.")
    action = msg.value.get("action")
    if not isinstance(action, str):
        raise MeetingError("bad-request", "Say which action.")
    if not room.storage.ok:
        # Nothing is changed that could not be kept; the saver says when it works again.
        raise MeetingError("not-saved", NOT_SAVED)
    args = {k: v for k, v in msg.value.items() if k != "action"}
    roles = room.meeting.roles_if_changing(action)
    notices = room.meeting.act(client.person_id, action, args, room.now())
    if roles is not None:
        people = room.meeting.people
        renew_connections(room, [p for p, role in roles.items() if people[p].role != role])
    if room.media is not None:
        for notice in notices:
            if notice.kind == "removed" and notice.to:
                # Removed: their media goes now, not when their socket has closed.
                room.media.spawn(room.media.leave(notice.to))
    if room.meeting.is_relay_only(action):
        # Nothing to keep (a reaction): passed on at once, and "ok" at once.
        client.send(protocol.encode("ok", msg_id=msg.id))
        room.publish(notices, changed=False)
        return
    # "ok" only once the change is on disk (Rooms.save); "not-saved" if it cannot be.
    room.acks.append((client, msg.id))
    client.unsaved += 1
    if action == "delete-notes":
        room.purge_due = True
    if room.meeting.is_private(action):
        room.dirty = True  # saved, but nobody else's screen changes (or learns of it)
        for own in room.of_person(client.person_id):
            own.want_state()  # their own view may show it (the people they keep apart from)
    else:
        room.publish(notices)
