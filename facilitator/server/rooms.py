"""Live meetings: each Room holds one Meeting, the connections in it, and its save state."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..domain.agenda import Agenda
from ..domain.decks import Deck
from ..domain.meeting import IN_LOBBY, IN_ROOM, Meeting, Notice
from ..domain.retention import DAY, expires_at
from ..media.sfu import MediaRoom, Sfu
from ..store import LeaseLost, Session, Store, is_disk_full
from ..store.leases import Leases
from . import protocol
from .ownership import MeetingElsewhere
from .views import StateViews

log = logging.getLogger(__name__)

MAX_OUTBOX = 256
"""Messages queued for one slow connection before it is dropped (it reconnects and resyncs)."""
TICK_SECONDS = 0.25
SAVE_SECONDS = 0.1
TALK_SAVE_SECONDS = 5.0
SESSION_CLEANUP_SECONDS = 3600.0
"""How often sessions that were never used (or have expired) are deleted."""
NOT_SAVED = "We could not save that: the server's disk is full. Try again in a moment."
MOVED = "This meeting moved to another server; reconnecting…"


@dataclass
class StorageStatus:
    """Whether the store is writing; shared by every room, so they can say so."""

    ok: bool = True
    """The last save worked."""


EXPIRY_SECONDS = 600.0
"""How often expired meetings are looked for (at most)."""


def new_id(nbytes: int = 16) -> str:
    """A URL-safe random id (16 bytes: 128 bits)."""
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """SHA-256 of a secret, so the database never holds a usable key or token."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(secret: str, expected_hash: str) -> bool:
    """Compare a presented secret with a stored hash in constant time."""
    return hmac.compare_digest(digest(secret), expected_hash)


class Client:
    """One WebSocket connection: who it is and what is waiting to be sent to it.

    Sending goes through a small outbox drained by one task per connection, so a slow or stuck
    browser only ever delays itself. State is never queued: a flag asks for the latest view,
    which is rendered when the socket is ready, so bursts of changes collapse into one message.
    """

    def __init__(self, ws: web.WebSocketResponse, session: Session) -> None:
        self.ws = ws
        self.session = session
        self.joined = False
        self.media = False
        """This connection owns its person's media connection."""
        self.opened = time.monotonic()
        self.closing: asyncio.Task[bool] | None = None
        """The server closing this connection (kept so the task is not garbage-collected)."""
        self.stored = True
        """The session has a row in the store (a new browser's is written when it joins)."""
        self.replaced = ""
        """The hash of the token this connection's replaced (its person's role changed)."""
        self.renewing = False
        """Its person's role changed: it gets no more state, and is closed to reconnect."""
        self.visible: frozenset[str] | None = None
        """Whose tiles the page has on screen (its last `visible` report; None: none yet)."""
        self.visible_allowed: Callable[[], bool] = lambda: True
        """The rate limit on those reports (the WebSocket handler sets it)."""
        self.outbox: deque[str] = deque()
        self.state_due = False
        self.unsaved = 0
        """Actions of this connection waiting for their save: its state waits for their ok."""
        self.wake = asyncio.Event()

    @property
    def person_id(self) -> str:
        """The person this connection speaks for (from the session, never from a message)."""
        return self.session.person_id

    def send(self, text: str) -> None:
        """Queue a message; a connection that cannot keep up is closed."""
        if len(self.outbox) >= MAX_OUTBOX:
            self.outbox.clear()
            asyncio.get_running_loop().create_task(
                self.ws.close(code=protocol.Close.TOO_SLOW, message=b"too slow")
            )
            return
        self.outbox.append(text)
        self.wake.set()

    def want_state(self) -> None:
        """Ask for a fresh state message."""
        self.state_due = True
        self.wake.set()

    async def pump(self, render: Callable[[Client], str | None]) -> None:
        """Send queued messages and fresh state until the socket closes."""
        while not self.ws.closed:
            await self.wake.wait()
            self.wake.clear()
            while self.outbox and not self.ws.closed:
                await self.ws.send_str(self.outbox.popleft())
            if self.state_due and not self.unsaved and not self.ws.closed:
                self.state_due = False
                text = render(self)
                if text is not None:
                    await self.ws.send_str(text)


@dataclass
class Room:
    """A meeting that is loaded in memory, with its open connections."""

    meeting: Meeting
    """The domain object: every rule lives there."""
    key_hash: str
    """SHA-256 of the facilitator key."""
    clients: set[Client] = field(default_factory=set)
    """Open connections, joined or not."""
    dirty: bool = False
    """Changed since it was last saved."""
    now: Callable[[], float] = time.time
    """The time source."""
    media: MediaRoom | None = None
    """The meeting's media, once someone has started theirs."""
    speaker: str | None = None
    """Who the media says is speaking."""
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    """STUN/TURN servers browsers should use."""
    storage: StorageStatus = field(default_factory=StorageStatus)
    """Whether changes are being saved (shown to facilitators as ``meeting.storage_ok``)."""
    acks: list[tuple[Client, object]] = field(default_factory=list)
    """Actions done but not yet saved: their ``ok`` is sent once the save has worked."""
    purge_due: bool = False
    """Something was deleted: empty the write-ahead log after the next save."""
    views: StateViews = field(default_factory=StateViews)
    """The state's shared parts, encoded once per change (not once per person or tab)."""
    renewing: dict[str, int] = field(default_factory=dict)
    """Person id -> connections closed so that their token is replaced (they reconnect)."""

    def joined(self) -> Iterable[Client]:
        """Connections that have joined."""
        return [c for c in self.clients if c.joined]

    def of_person(self, person_id: str) -> list[Client]:
        """Open connections of one person."""
        return [c for c in self.clients if c.person_id == person_id]

    def of_session(self, token_hash: str) -> list[Client]:
        """Open connections of one browser session, oldest first."""
        return sorted(
            (c for c in self.clients if c.session.token_hash == token_hash), key=lambda c: c.opened
        )

    def render(self, client: Client) -> str | None:
        """The message that shows this connection the room as its person may see it.

        What everyone of a role sees alike is built and encoded once per change (``views``);
        only each person's own part is encoded per connection.
        """
        person = self.meeting.people.get(client.person_id)
        if person is None or not client.joined or client.renewing:
            return None
        if person.state == IN_LOBBY:
            return protocol.encode("lobby", lobby_value(self.meeting))
        if person.state != IN_ROOM:
            return None
        return self.views.state(self.meeting, client.person_id, self.now(), self.storage.ok)

    def refresh(self) -> None:
        """Show everyone the state again (something outside the meeting changed)."""
        self.views.changed()
        for client in self.joined():
            client.want_state()

    def changed(self) -> None:
        """The meeting changed: save it soon and show everyone the new state."""
        self.dirty = True
        self.refresh()
        if self.media is not None:
            self.media.set_muted({p.id for p in self.meeting.people.values() if p.muted})
            self.media.set_sharing(self.meeting.sharer)
            self.media.set_spaces(self.meeting.media_spaces())
            rotation = self.meeting.turns.current  # the icebreaker speaker's video comes first
            self.media.set_featured(rotation.current if rotation is not None else None)

    def welcome(self, client: Client, msg_id: object = None, media: bool = False) -> None:
        """Greet a connection whose person is in the room: who they are, the chat so far, and
        whether their media connection was kept for them (``media``)."""
        person = self.meeting.people[client.person_id]
        notes = self.meeting.notes_of(client.person_id)
        value = {
            "you": person.to_dict(),
            "server_time": self.now(),
            "ice_servers": self.ice_servers,
            "notes": notes,
            "note_subjects": {
                pid: self.meeting.people[pid].name for pid in notes if pid in self.meeting.people
            },
            "speaking": self.speaker,
            "touch": self.meeting.touch_of(client.person_id),
            "media": media,
        }
        client.send(protocol.encode("joined", value, msg_id))
        history = self.meeting.chat_for(client.person_id)
        client.send(protocol.encode("chat-history", {"messages": history}))
        client.want_state()

    def publish(self, notices: Iterable[Notice], changed: bool = True) -> None:
        """Relay the meeting's notices to the people they are for (and the new state)."""
        for notice in notices:
            targets = self.of_person(notice.to) if notice.to else list(self.joined())
            text = protocol.encode(notice.kind, dict(notice.data))
            for client in targets:
                client.send(text)
                if notice.kind == "admitted":
                    self.welcome(client)
                elif notice.kind == "removed":
                    asyncio.get_running_loop().create_task(
                        # Let the pump deliver the "removed" message first.
                        close_when_delivered(client, protocol.Close.REMOVED, b"removed")
                    )
        if changed:
            self.changed()

    def announce(self, kind: str, value: dict[str, Any]) -> None:
        """Send one message to every joined connection."""
        text = protocol.encode(kind, value)
        for client in self.joined():
            client.send(text)


def lobby_value(meeting: Meeting) -> dict[str, Any]:
    """What someone waiting in the lobby sees."""
    return {
        "title": meeting.title,
        "message": "Thanks for coming! A facilitator will let you in shortly.",
    }


async def _close_all(room: Room, reason: str) -> None:
    for client in list(room.clients):
        with contextlib.suppress(Exception):
            await client.ws.close(code=protocol.Close.RESTARTING, message=reason.encode())


async def close_when_delivered(
    client: Client, code: int, message: bytes, tries: int = 20, saved: bool = False
) -> bool:
    """Close ``client``'s socket once its outbox is delivered (and, with ``saved``, its
    changes saved: an ``ok`` waits for the save), at most ``tries`` steps of 50 ms."""
    for _ in range(tries):
        if not client.outbox and not (saved and client.unsaved):
            break
        await asyncio.sleep(0.05)
    return await client.ws.close(code=code, message=message)


class Rooms:
    """Every live meeting, loaded from the store on first use and saved shortly after changes."""

    def __init__(
        self,
        store: Store,
        now: Callable[[], float] = time.time,
        ice_servers: list[dict[str, Any]] | None = None,
        leases: Leases | None = None,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        self.store = store
        self.leases = leases
        """With a shared store: this node runs only the meetings whose lease it holds."""
        self.leaving: set[str] = set()
        """Meetings being handed over to another node."""
        self.now = now
        self.ice_servers = ice_servers or []
        self.owns = owns
        """Under --workers: whether this process serves a meeting (others only create it)."""
        self.rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room | None]] = {}
        self.storage = StorageStatus()

    async def create(
        self,
        agenda: Agenda,
        decks: dict[str, Deck],
        *,
        title: str = "",
        max_people: int = 16,
        lobby: bool = False,
        scheduled_at: float | None = None,
    ) -> tuple[Room, str]:
        """Create and store a meeting; return it with its facilitator key (shown once)."""
        used = {item.icebreaker for item in agenda.items if item.icebreaker}
        meeting = Meeting(
            id=new_id(),
            agenda=agenda,
            decks={deck_id: decks[deck_id] for deck_id in used},
            created_at=self.now(),
            title=title,
            scheduled_at=scheduled_at,
            max_people=max_people,
            lobby=lobby,
        )
        key = new_id(24)
        room = self._room(meeting, digest(key))
        await self.store.create_meeting(meeting.id, room.key_hash, json.dumps(meeting.to_dict()))
        if self.leases is None and (self.owns is None or self.owns(meeting.id)):
            self.rooms[meeting.id] = room
        # With leases, whichever node the proxy sends its first request to takes it.
        return room, key

    async def get(self, meeting_id: str) -> Room | None:
        """The live room for an id, loading it from the store if needed."""
        room = self.rooms.get(meeting_id)
        if room is not None:
            return room
        if len(meeting_id) > 64:
            return None
        if meeting_id in self.leaving:
            raise MeetingElsewhere()
        pending = self._loading.get(meeting_id)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._loading[meeting_id] = pending
            try:
                pending.set_result(await self._load(meeting_id))
            except MeetingElsewhere as exc:
                pending.set_exception(exc)
            except Exception as exc:  # a broken row must not take the server down
                log.exception("could not load meeting %s", meeting_id[:6])
                pending.set_exception(exc)
            finally:
                del self._loading[meeting_id]
        return await asyncio.shield(pending)

    async def _load(self, meeting_id: str) -> Room | None:
        stored = await self.store.load_meeting(meeting_id)
        if stored is None:
            return None
        if self.leases is not None:
            if not await self.leases.claim(meeting_id):
                raise MeetingElsewhere()
            # Read it again: its last owner may have saved it since.
            stored = await self.store.load_meeting(meeting_id)
            if stored is None:
                return None
        meeting = Meeting.from_dict(stored.snapshot)
        meeting.restored()
        room = self._room(meeting, stored.key_hash)
        self.rooms[meeting_id] = room
        return room

    def _room(self, meeting: Meeting, key_hash: str) -> Room:
        return Room(
            meeting, key_hash, now=self.now, ice_servers=self.ice_servers, storage=self.storage
        )

    async def delete(self, meeting_id: str) -> None:
        """Forget a meeting and delete everything stored for it."""
        room = self.rooms.pop(meeting_id, None)
        if room is not None:
            for client in list(room.clients):
                await client.ws.close(code=protocol.Close.DELETED, message=b"deleted")
        await self.store.delete_meeting(meeting_id)

    def live_ids(self) -> list[str]:
        """The meetings running in this process."""
        return list(self.rooms)

    async def drop(self, meeting_id: str) -> None:
        """Stop running a meeting without saving it: another node may own it now. Its pages
        reconnect (1012), through the proxy, to whichever node runs it."""
        room = self.rooms.pop(meeting_id, None)
        if room is not None:
            await _close_all(room, "moved")

    async def hand_over(self, meeting_id: str) -> None:
        """Save a meeting, close its connections and release its lease to another node."""
        room = self.rooms.get(meeting_id)
        if room is None or self.leases is None:
            return
        self.leaving.add(meeting_id)
        try:
            await _close_all(room, "moved")
            if room.dirty or room.acks:
                await self.save(room)
            self.rooms.pop(meeting_id, None)
            await self.leases.release(meeting_id)
        finally:
            self.leaving.discard(meeting_id)

    async def release_all(self) -> None:
        """On a clean shutdown: save everything and let other nodes take it over at once."""
        await self.flush()
        if self.leases is not None:
            for meeting_id in list(self.rooms):
                with contextlib.suppress(Exception):
                    await self.leases.release(meeting_id)

    async def _held_elsewhere(self, meeting_id: str) -> bool:
        if self.leases is None or meeting_id in self.rooms:
            return False
        lease = await self.store.lease_of(meeting_id)
        return lease is not None and lease.owner != self.leases.node.id and lease.expires_in > 0

    async def expire(self, keep_days: float) -> list[str]:
        """Delete every meeting kept ``keep_days`` past its end (see ``domain/retention.py``).

        Under ``--workers`` each worker judges only the meetings it serves: only their worker
        can hold one in memory, with changes the store has not seen yet.
        """
        await self.flush()  # so a meeting that just ended is judged by its saved end
        now = self.now()
        gone = []
        for times in await self.store.meeting_times():
            if self.owns is not None and not self.owns(times.id):
                continue  # another worker's meeting: it decides
            room = self.rooms.get(times.id)
            if room is not None and room.clients and room.meeting.clock.ended_at is None:
                continue  # people are in it right now
            if await self._held_elsewhere(times.id):
                continue  # another node runs it, and decides
            ended = room.meeting.clock.ended_at if room is not None else times.ended_at
            scheduled = room.meeting.scheduled_at if room is not None else times.scheduled_at
            if expires_at(ended, times.updated_at, scheduled, keep_days) <= now:
                await self.delete(times.id)
                gone.append(times.id)
        if gone:
            log.info("deleted %d expired meeting(s)", len(gone))
        return gone

    async def run_expiry(self, keep_days: float) -> None:
        """Delete expired meetings now and then (every EXPIRY_SECONDS, sooner for short keeps)."""
        every = min(EXPIRY_SECONDS, max(1.0, keep_days * DAY / 20))
        while True:
            await asyncio.sleep(every)
            try:
                await self.expire(keep_days)
            except Exception:
                log.exception("deleting expired meetings failed; will retry")

    async def flush(self) -> None:
        """Save every changed meeting (one that cannot be saved stays changed, to retry)."""
        for room in list(self.rooms.values()):
            if room.dirty:
                await self.save(room)

    async def save(self, room: Room) -> bool:
        """Save one meeting now; True when it worked.

        The ``ok`` of every action waiting on this save is sent only once it is on disk;
        when it cannot be written they get ``not-saved``, the meeting stays changed (the
        saver tries again) and everyone's state says ``storage_ok: false`` until it works.
        """
        acks, room.acks = room.acks, []
        purge, room.purge_due = room.purge_due, False
        room.dirty = False
        # Only the copy is made here; it is turned into JSON on the store's thread.
        snapshot = room.meeting.to_dict()
        owner = self.leases.node.id if self.leases is not None else None
        try:
            await self.store.save_snapshot(room.meeting.id, snapshot, owner)
            if purge:
                await self.store.purge()
        except LeaseLost:
            log.warning("meeting %s: lease lost, no longer running it", room.meeting.id[:6])
            for client, msg_id in acks:
                client.unsaved -= 1
                client.send(protocol.error("not-saved", MOVED, msg_id))
            await self.drop(room.meeting.id)
            return False
        except Exception as exc:
            room.dirty = True
            room.purge_due = room.purge_due or purge
            for client, msg_id in acks:
                client.unsaved -= 1
                client.send(protocol.error("not-saved", NOT_SAVED, msg_id))
            self._storage_failed(exc)
            return False
        for client, msg_id in acks:
            client.unsaved -= 1
            client.send(protocol.encode("ok", msg_id=msg_id))
        if not self.storage.ok:
            self._storage_works()
        return True

    def _storage_failed(self, exc: Exception) -> None:
        if not self.storage.ok:
            return  # said once; the saver keeps trying quietly
        self.storage.ok = False
        if is_disk_full(exc):
            log.log(
                logging.ERROR, "cannot save meetings: the disk is full (%s); will keep trying", exc
            )
        else:
            log.exception("cannot save meetings; will keep trying")
        for room in self.rooms.values():
            room.refresh()

    def _storage_works(self) -> None:
        self.storage.ok = True
        log.warning("saving meetings works again")
        for room in self.rooms.values():
            room.refresh()

    async def run_saver(self) -> None:
        """Save changes every SAVE_SECONDS (a crash loses at most that much); now and then,
        forget sessions that were never used or have expired."""
        cleaned = 0.0
        while True:
            await asyncio.sleep(SAVE_SECONDS)
            try:
                await self.flush()
                if time.monotonic() - cleaned >= SESSION_CLEANUP_SECONDS:
                    cleaned = time.monotonic()
                    await self.store.forget_old_sessions()
            except Exception:
                log.exception("saving meetings failed; will retry")

    async def run_ticker(self) -> None:
        """Drive time-based changes (warnings, hard stops) in every room with people in it."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = self.now()
            for room in list(self.rooms.values()):
                if not room.clients:
                    continue
                try:
                    notices = room.meeting.tick(now)
                except Exception:
                    log.exception("tick failed in meeting %s", room.meeting.id[:6])
                    continue
                if notices:
                    room.publish(notices)

    async def run_speakers(self, sfu: Sfu) -> None:
        """Tell rooms who is speaking (from RTP audio levels) and count talk time."""
        last = saved = time.monotonic()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            elapsed, last = now - last, now
            # Talk time is saved every few seconds, not on every tick: each save writes the
            # whole meeting, and losing a few seconds of it in a crash does not matter.
            save = now - saved >= TALK_SAVE_SECONDS
            if save:
                saved = now
            for room in list(self.rooms.values()):
                if room.media is None:
                    continue
                speaker = room.media.loudest(now)
                if speaker is not None:
                    room.meeting.add_talk_time(speaker, elapsed)
                    room.dirty = room.dirty or save
                if speaker != room.speaker:
                    room.speaker = speaker
                    room.announce("speaking", {"person": speaker})

    async def say_goodbye(self) -> None:
        """Tell every connection the server is going away, then close them."""
        for room in self.rooms.values():
            room.announce("bye", {"message": "The server is restarting; reconnecting…"})
        await asyncio.sleep(0.1)
        for room in self.rooms.values():
            for client in list(room.clients):
                with contextlib.suppress(Exception):
                    await client.ws.close(code=protocol.Close.RESTARTING, message=b"restarting")
