"""Browser sessions: a random cookie per meeting that says which person this browser is.

The cookie is the only source of identity and role. The facilitator key is checked once, when
the facilitator link is opened, and recorded on the session; it is never needed again, never
logged, and never sent to anyone.

Looking at the page stores nothing: a new visitor gets a cookie, and its row is written when
the browser joins (``claim``). Only a correct facilitator key writes a row at once, so the
right is recorded. When a browser's role changes, its token changes too (the old one stops
working), so a token seen as a participant's never becomes a facilitator's.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from ..store import SESSION_SECONDS, Session, Store
from .keys import STORE
from .rooms import Room, digest, secret_matches

COOKIE_PREFIX = "fs_"
COOKIE_MAX_AGE = SESSION_SECONDS
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")
"""What a token we handed out looks like (``secrets.token_urlsafe(32)``: 43 characters)."""


def cookie_name(meeting_id: str) -> str:
    """The session cookie's name for one meeting."""
    return COOKIE_PREFIX + meeting_id


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
    was replaced (see ``open_session``) is refused by ``claim``, so it cannot reach its old
    person.
    """
    hashed = hashlib.sha256(b"person:" + token.encode("ascii")).digest()
    person_id = "p_" + base64.urlsafe_b64encode(hashed)[:12].decode()
    return Session(digest(token), meeting_id, person_id, False)


async def socket_session(request: web.Request, meeting_id: str) -> tuple[Session | None, bool]:
    """The session a WebSocket speaks for, and whether it is stored yet."""
    session = await read_session(request, meeting_id)
    if session is not None:
        return session, True
    token = cookie_token(request, meeting_id)
    return (pending_session(token, meeting_id), False) if token else (None, False)


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
    session = await read_session(request, meeting_id)
    key_ok = bool(key) and len(key or "") <= 128 and secret_matches(key or "", room.key_hash)
    key_wrong = bool(key) and not key_ok
    if session is not None:
        if key_ok and not session.facilitator:
            # A role change: same person, new token; the old token stops working.
            token = secrets.token_urlsafe(32)
            promoted = Session(digest(token), meeting_id, session.person_id, True)
            await store.replace_session(session.token_hash, promoted)
            return promoted, False, token
        return session, key_wrong, None
    if key_ok:
        token = secrets.token_urlsafe(32)
        session = Session(digest(token), meeting_id, "p_" + secrets.token_urlsafe(9), True)
        await store.save_session(session)
        return session, False, token
    old = cookie_token(request, meeting_id)
    if old is not None:
        return pending_session(old, meeting_id), key_wrong, None
    token = secrets.token_urlsafe(32)
    return pending_session(token, meeting_id), key_wrong, token


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, meeting_id: str, token: str
) -> None:
    """Give the browser its session cookie for one meeting."""
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
