"""Browser sessions: a random cookie per meeting that says which person this browser is.

The cookie is the only source of identity and role. The facilitator key is checked once, when
the facilitator link is opened, and recorded on the session; it is never needed again, never
logged, and never sent to anyone.

Looking at the page stores nothing: a new visitor gets a cookie, and its row is written when
the browser joins (``claim``). A correct facilitator key writes a row at once, so the right is
recorded; such a row goes after a day unless the browser joins, except the one of the browser
that created the meeting (``creator_session``), which lasts as long as its cookie. A token
that has no row must carry the tag this server gives the tokens it hands out (``new_token``):
an invented one is refused, so every new browser costs a page load, which is rate-limited.

When a person's role changes, the token of their session changes too (the old one stops
working), so a token seen as a participant's never becomes a facilitator's. With the
facilitator link that happens on the page load; when a facilitator promotes or demotes
someone in the room, their connections are closed (``Close.ROLE_CHANGED``) and the page's
reconnect gets the new cookie with the WebSocket's handshake (``renew``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from ..domain.meeting import FACILITATOR, IN_ROOM, PARTICIPANT
from ..store import SESSION_SECONDS, Session, Store
from .keys import STORE
from .rooms import Room, digest, secret_matches

COOKIE_PREFIX = "fs_"
COOKIE_MAX_AGE = SESSION_SECONDS
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")
"""What a token we handed out looks like (``new_token``: 65 characters)."""
NONCE_CHARS = 43
"""``secrets.token_urlsafe(32)``: the random part of a token."""
TAG_CHARS = 22
"""16 bytes of HMAC, base64: the part that says this server made the token."""
RENEWED_SECONDS = 10.0
"""A replaced token still leads to its new one this long, as many times as its person had
other connections closed to replace it: the tabs of one browser reconnect at about the same
time, and only the first one's handshake brings the new cookie."""
MAX_RENEWED = 1000


def cookie_name(meeting_id: str) -> str:
    """The session cookie's name for one meeting."""
    return COOKIE_PREFIX + meeting_id


def new_token(room: Room, stored: bool = False) -> str:
    """A fresh session token for one meeting: 256 random bits and this server's tag.

    ``stored``: its row is written at once (the facilitator link, a replaced token). Only
    tokens made without a row may stand for a session that has none yet (``issued_here``),
    so a replaced token, whose row is gone, is no session at all.
    """
    nonce = secrets.token_urlsafe(32)
    return nonce + _tag(room, nonce, stored)


def issued_here(room: Room, token: str) -> bool:
    """True when ``new_token`` made this token for a new browser of this meeting (a client
    cannot invent one).

    The tag is an HMAC keyed with the hash of the meeting's facilitator key, which only the
    server and whoever holds the key know; the key's holder can mint tokens, but the key
    already lets them in.
    """
    if len(token) != NONCE_CHARS + TAG_CHARS:
        return False
    return hmac.compare_digest(token[NONCE_CHARS:], _tag(room, token[:NONCE_CHARS], False))


def _tag(room: Room, nonce: str, stored: bool) -> str:
    purpose = b"stored:" if stored else b"new:"
    mac = hmac.new(room.key_hash.encode(), purpose + nonce.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:16]).decode()[:TAG_CHARS]


def cookie_token(request: web.Request, meeting_id: str) -> str | None:
    """The session token in this request's cookie, if it looks like one we hand out."""
    token = request.cookies.get(cookie_name(meeting_id))
    return token if token and TOKEN_SHAPE.fullmatch(token) else None


async def read_session(request: web.Request, meeting_id: str) -> Session | None:
    """The stored session this request's cookie belongs to, in this meeting, if any."""
    token = cookie_token(request, meeting_id)
    if token is None:
        return None
    return await request.app[STORE].load_session(digest(token), meeting_id)


def pending_session(token: str, meeting_id: str) -> Session:
    """The session of a cookie that has no row yet: its person id follows from the token.

    Every tab of one browser is then the same person before anything is stored; a token that
    was replaced (see ``renew``) is refused by ``claim``, so it cannot reach its old person.
    """
    hashed = hashlib.sha256(b"person:" + token.encode("ascii")).digest()
    person_id = "p_" + base64.urlsafe_b64encode(hashed)[:12].decode()
    return Session(digest(token), meeting_id, person_id, False)


def issued_role(session: Session) -> str:
    """The role a session's token was handed out for."""
    return session.role or (FACILITATOR if session.facilitator else PARTICIPANT)


def stale(room: Room, session: Session) -> bool:
    """True when the person's role is no longer the one their token was handed out for.

    A session that proved the key makes its person a facilitator when it joins, so that alone
    is no change; unless the person stepped down in the room since (their connections were
    closed for a new token), which gives the proof up.
    """
    person = room.meeting.people.get(session.person_id)
    if person is None or person.state != IN_ROOM:
        return False
    if session.facilitator and session.person_id not in room.renewing:
        return issued_role(session) != FACILITATOR
    return person.role != issued_role(session)


@dataclass
class Renewed:
    """Tokens replaced lately, by the hash of the old one: the new token and its session, and
    how many more connections may still come with the old one."""

    tokens: dict[str, tuple[float, int, str, Session]] = field(default_factory=dict)

    def get(self, old_hash: str) -> tuple[str, Session] | None:
        """The new token for a replaced one, while it lasts (each use counts)."""
        found = self.tokens.get(old_hash)
        if found is None or found[0] < time.monotonic() or found[1] < 1:
            return None
        until, uses, token, session = found
        self.tokens[old_hash] = (until, uses - 1, token, session)
        return token, session

    def add(self, old_hash: str, token: str, session: Session, uses: int) -> None:
        """Remember one replacement for RENEWED_SECONDS and ``uses`` more connections."""
        now = time.monotonic()
        for key in [k for k, v in self.tokens.items() if v[0] < now]:
            del self.tokens[key]
        while len(self.tokens) >= MAX_RENEWED:
            del self.tokens[next(iter(self.tokens))]
        if uses > 0:
            self.tokens[old_hash] = (now + RENEWED_SECONDS, uses, token, session)


RENEWED = web.AppKey("renewed_tokens", Renewed)


async def renew(
    request: web.Request, room: Room, session: Session, facilitator: bool | None = None
) -> tuple[Session, str]:
    """Replace a session's token for the role its person has now; return both new ones.

    ``facilitator``: what the new session proves (default: the old proof, while the person is
    still a facilitator; stepping down gives it up). The old token stops working at once;
    only the other tabs whose connections were closed for this may follow it to the new one
    for a few seconds (``Renewed``).
    """
    renewed = request.app[RENEWED]
    person = room.meeting.people.get(session.person_id)
    role = person.role if person is not None else issued_role(session)
    if facilitator is None:
        facilitator = session.facilitator and role == FACILITATOR
    if facilitator:
        role = FACILITATOR
    token = new_token(room, stored=True)
    fresh = Session(digest(token), session.meeting_id, session.person_id, facilitator, role)
    await request.app[STORE].replace_session(session.token_hash, fresh)
    # The person's other connections closed for this (``ws.renew_connections``) may follow.
    renewed.add(session.token_hash, token, fresh, room.renewing.pop(session.person_id, 1) - 1)
    return fresh, token


async def _stored(request: web.Request, room: Room) -> tuple[Session | None, str | None]:
    """This request's stored session, and its new token when the cookie's was just replaced
    (another tab got there first: the browser may not have the new cookie yet)."""
    session = await read_session(request, room.meeting.id)
    if session is not None:
        return session, None
    token = cookie_token(request, room.meeting.id)
    again = request.app[RENEWED].get(digest(token)) if token else None
    return (again[1], again[0]) if again else (None, None)


@dataclass(frozen=True)
class SocketSession:
    """Who a WebSocket speaks for, as its handshake finds out."""

    session: Session | None
    """None: no usable cookie."""
    stored: bool = False
    """The session has a row (a new browser's is written when it joins)."""
    token: str | None = None
    """A new token to set with the handshake (the person's role changed)."""
    replaced: str = ""
    """The hash of the token it replaces (media held for that one is this one's now)."""


async def socket_session(request: web.Request, room: Room) -> SocketSession:
    """The session a WebSocket speaks for; its token is replaced when its person's role
    changed, and the handshake then sets the new cookie (``set_session_cookie``)."""
    meeting_id = room.meeting.id
    old = cookie_token(request, meeting_id)
    session, token = await _stored(request, room)
    if session is not None:
        previous = digest(old) if token and old else ""
        if stale(room, session):
            previous = session.token_hash
            session, token = await renew(request, room, session)
        return SocketSession(session, True, token, previous)
    if old is None or not issued_here(room, old):
        return SocketSession(None)  # no cookie, or one this server did not make
    return SocketSession(pending_session(old, meeting_id))


async def claim(store: Store, session: Session) -> Session | None:
    """Store a pending session when its browser joins; None when its token was replaced."""
    if await store.person_has_other_session(session):
        return None
    return await store.claim_session(session)


async def open_session(
    request: web.Request, room: Room, key: str | None
) -> tuple[Session, bool, str | None]:
    """Find or start this browser's session; a correct ``key`` makes it a facilitator's.

    Returns the session, whether a key was given but wrong, and the new cookie token when the
    session is new or its token changed (set it with ``set_session_cookie``). Nothing is
    stored for a participant until they join.
    """
    meeting_id = room.meeting.id
    store = request.app[STORE]
    session, token = await _stored(request, room)
    key_ok = bool(key) and len(key or "") <= 128 and secret_matches(key or "", room.key_hash)
    key_wrong = bool(key) and not key_ok
    if session is not None:
        if key_ok and (not session.facilitator or stale(room, session)):
            # A role change: same person, new token; the old token stops working.
            promoted, token = await renew(request, room, session, facilitator=True)
            return promoted, False, token
        if stale(room, session):
            session, token = await renew(request, room, session)
        return session, key_wrong, token
    if key_ok:
        session, token = facilitator_session(room)
        await store.save_session(session)  # goes after a day unless this browser joins
        return session, False, token
    old = cookie_token(request, meeting_id)
    if old is not None and issued_here(room, old):
        pending = pending_session(old, meeting_id)
        if not await store.person_has_other_session(pending):
            return pending, key_wrong, None
        # A replaced token (its person has another): it would never get in, so start again.
    token = new_token(room)
    return pending_session(token, meeting_id), key_wrong, token


async def creator_session(store: Store, room: Room) -> str:
    """A facilitator's session for the browser that creates a meeting; returns its token.

    The creator often opens the facilitator link long before the meeting (the page then takes
    the key out of the address bar) and comes back days later; their session is stored as a
    joined one, so it lasts as long as its cookie. Creating meetings is rate-limited.
    """
    session, token = facilitator_session(room)
    await store.claim_session(session)
    return token


def facilitator_session(room: Room) -> tuple[Session, str]:
    """A new facilitator's session for ``room`` (not stored yet) and its token."""
    token = new_token(room, stored=True)
    person_id = "p_" + secrets.token_urlsafe(9)
    return Session(digest(token), room.meeting.id, person_id, True, FACILITATOR), token


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, meeting_id: str, token: str
) -> None:
    """Give the browser its session cookie for one meeting (also on a WebSocket handshake)."""
    response.set_cookie(
        cookie_name(meeting_id),
        token,
        max_age=COOKIE_MAX_AGE,
        path=f"/m/{meeting_id}",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def origin_allowed(request: web.Request) -> bool:
    """A WebSocket from a browser must come from a page of this same site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (browsers always send Origin on WebSockets)
    return urlsplit(origin).netloc.lower() == request.host.lower()


def form_from_this_site(request: web.Request) -> bool:
    """A form POST must come from a page of this same site.

    Browsers say so in ``Sec-Fetch-Site``. With ``Referrer-Policy: no-referrer`` they send
    ``Origin: null`` on form posts, so ``Origin`` is only checked when that header is missing.
    (The session cookie is ``SameSite=Strict`` as well: another site's form carries none.)
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc.lower() == request.host.lower()
