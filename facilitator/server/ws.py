"""The meeting WebSocket: validate each message, authorise from the session, call the Meeting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiohttp import WSMsgType, web

from ..domain.clock import ENDED
from ..domain.meeting import FACILITATOR, IN_ROOM, PARTICIPANT, MeetingError
from ..errors import CodedError
from ..media.sfu import MediaError, Sfu
from . import protocol
from .keys import CONFIG, ROOMS, SFU
from .rooms import Client, Room
from .sessions import origin_allowed, read_session

log = logging.getLogger(__name__)

RATE_PER_SECOND = 20.0
RATE_BURST = 60.0
RATE_STRIKES = 100
"""Messages dropped for rate before the connection is closed."""


class RateLimit:
    """A token bucket: RATE_BURST messages at once, RATE_PER_SECOND sustained."""

    def __init__(self) -> None:
        self.tokens = RATE_BURST
        self.at = time.monotonic()
        self.strikes = 0

    def allow(self) -> bool:
        """Take a token if there is one."""
        now = time.monotonic()
        self.tokens = min(RATE_BURST, self.tokens + (now - self.at) * RATE_PER_SECOND)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.strikes += 1
        return False


async def meeting_socket(request: web.Request) -> web.StreamResponse:
    """GET /m/{id}/ws: one browser's live connection to a meeting."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="This page may only be used from its own site.")
    room = await request.app[ROOMS].get(request.match_info["id"])
    if room is None:
        raise web.HTTPNotFound(text="No such meeting.")
    session = await read_session(request, room.meeting.id)
    heartbeat = request.app[CONFIG].heartbeat
    ws = web.WebSocketResponse(heartbeat=heartbeat, max_msg_size=protocol.MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    if session is None:
        await ws.send_str(protocol.error("no-session", "Please reload the page to join."))
        await ws.close(code=protocol.Close.NO_SESSION, message=b"no session")
        return ws
    client = Client(ws, session)
    room.clients.add(client)
    pump = asyncio.get_running_loop().create_task(client.pump(room.render))
    limit = RateLimit()
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                if not limit.allow():
                    client.send(protocol.error("rate-limited", "Slow down a little, please."))
                    if limit.strikes > RATE_STRIKES:
                        await ws.close(code=protocol.Close.FLOODING, message=b"too many messages")
                        break
                    continue
                await handle(request.app[SFU], room, client, msg.data)
            elif msg.type == WSMsgType.BINARY:
                client.send(protocol.error("bad-message", "Messages are JSON text."))
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        room.clients.discard(client)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        if client.media and room.media is not None:
            await room.media.leave(client.person_id)
        if client.joined and not room.of_person(client.person_id):
            room.meeting.depart(client.person_id, room.now())
            room.changed()
    return ws


async def handle(sfu: Sfu, room: Room, client: Client, text: str) -> None:
    """Act on one message; every failure becomes an ``error`` reply and changes nothing."""
    try:
        msg = protocol.parse(text)
    except protocol.ProtocolError as exc:
        client.send(protocol.error(exc.code, str(exc), exc.msg_id))
        return
    try:
        if msg.type == "ping":
            t = msg.value.get("t")
            value = {"t": t if isinstance(t, int | float) else None, "server_time": room.now()}
            client.send(protocol.encode("pong", value, msg.id))
        elif msg.type == "join":
            join(room, client, msg)
        elif msg.type == "leave":
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
    except CodedError as exc:
        if exc.code == "not-allowed":
            log.warning(
                "meeting %s: refused %r from a participant", room.meeting.id[:6], _action(msg)
            )
        client.send(protocol.error(exc.code, str(exc), msg.id))
    except Exception:
        # A bug must cost one reply, never the server or the meeting.
        log.exception("failed to handle a %s message", msg.type)
        client.send(protocol.error("server-error", "Something went wrong on our side.", msg.id))


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

    def signal(kind: str, value: dict[str, object]) -> None:
        client.send(protocol.encode(kind, value))

    if msg.type == "media-start":
        # One connection per person: a second tab takes over from the first, which is told.
        for other in room.of_person(client.person_id):
            if other.media and other is not client:
                other.send(protocol.encode("media-ended", {"reason": "replaced"}))
            other.media = other is client
        client.media = True
        await room.media.join(client.person_id, signal)
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


def join(room: Room, client: Client, msg: protocol.Message) -> None:
    """Take a seat: the role comes from the session (the facilitator key), never the message."""
    role = FACILITATOR if client.session.facilitator else PARTICIPANT
    person = room.meeting.arrive(client.person_id, msg.value.get("name"), role, room.now())
    client.joined = True
    if person.state == IN_ROOM:
        room.welcome(client, msg.id)
    else:
        client.want_state()
    room.changed()


def act(room: Room, client: Client, msg: protocol.Message) -> None:
    """Carry out an action for the connection's person."""
    if not client.joined:
        raise MeetingError("not-joined", "Join the meeting first.")
    action = msg.value.get("action")
    if not isinstance(action, str):
        raise MeetingError("bad-request", "Say which action.")
    args = {k: v for k, v in msg.value.items() if k != "action"}
    notices = room.meeting.act(client.person_id, action, args, room.now())
    client.send(protocol.encode("ok", msg_id=msg.id))
    if room.meeting.is_private(action):
        room.dirty = True  # saved, but nobody else's screen changes (or learns of it)
        for own in room.of_person(client.person_id):
            own.want_state()  # their own view may show it (the people they keep apart from)
    else:
        room.publish(notices)
