"""Browser sessions: a random cookie per meeting that says which person this browser is.

The cookie is the only source of identity and role. The facilitator key is checked once, when
the facilitator link is opened, and recorded on the session; it is never needed again, never
logged, and never sent to anyone.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from aiohttp import web

from ..store import Session
from .keys import STORE
from .rooms import Room, digest, secret_matches

COOKIE_PREFIX = "fs_"
COOKIE_MAX_AGE = 30 * 24 * 3600


def cookie_name(meeting_id: str) -> str:
    """The session cookie's name for one meeting."""
    return COOKIE_PREFIX + meeting_id


async def read_session(request: web.Request, meeting_id: str) -> Session | None:
    """The session this request's cookie belongs to, in this meeting, if any."""
    token = request.cookies.get(cookie_name(meeting_id))
    if not token or len(token) > 128:
        return None
    return await request.app[STORE].load_session(digest(token), meeting_id)


async def open_session(
    request: web.Request, room: Room, key: str | None
) -> tuple[Session, bool, str | None]:
    """Find or start this browser's session; a correct ``key`` makes it a facilitator's.

    Returns the session, whether a key was given but wrong, and the new cookie token when the
    session is new (set it with ``set_session_cookie``).
    """
    meeting_id = room.meeting.id
    store = request.app[STORE]
    session = await read_session(request, meeting_id)
    key_ok = bool(key) and len(key or "") <= 128 and secret_matches(key or "", room.key_hash)
    token = None
    if session is None:
        token = secrets.token_urlsafe(32)
        session = Session(digest(token), meeting_id, "p_" + secrets.token_urlsafe(9), key_ok)
        await store.save_session(session)
    elif key_ok and not session.facilitator:
        session = Session(session.token_hash, meeting_id, session.person_id, True)
        await store.save_session(session)
    return session, bool(key) and not key_ok, token


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
