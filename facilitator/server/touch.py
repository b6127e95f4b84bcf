"""Staying in touch after the call: the recap page's choices and contact line, and vCards.

Each request speaks for the person of its session cookie and reaches only that person's own
choices, contact line and matches. A one-sided choice is never visible: a vCard for someone
who is not a match gets the same 404 as one for nobody at all.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..domain.clock import ENDED
from ..domain.contacts import MAX_CONTACT_LINE, Match, people_met
from ..domain.meeting import MeetingError
from ..domain.recap import when
from .keys import ROOMS
from .links import segments
from .rooms import Room
from .sessions import form_from_this_site, read_session

MAX_FORM_BYTES = 2048
"""A stay-in-touch form is a person id and a yes/no, or one contact line."""
RATE_PER_MINUTE = 30.0
RATE_BURST = 20.0
MAX_TRACKED = 10_000
"""People whose request budget is remembered; the oldest are forgotten first."""
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_URL = re.compile(r"^https?://\S+$")


@dataclass
class Budget:
    """A token bucket for one person's stay-in-touch requests."""

    tokens: float = RATE_BURST
    at: float = field(default_factory=time.monotonic)


class TouchLimits:
    """Per person request budgets for the stay-in-touch endpoints (held by the app)."""

    def __init__(self) -> None:
        self.budgets: dict[str, Budget] = {}

    def allow(self, who: str) -> bool:
        """Take one request from ``who``'s budget if there is one left."""
        now = time.monotonic()
        budget = self.budgets.pop(who, None) or Budget(at=now)
        budget.tokens = min(RATE_BURST, budget.tokens + (now - budget.at) * RATE_PER_MINUTE / 60)
        budget.at = now
        self.budgets[who] = budget  # most recent last, so the oldest go first below
        while len(self.budgets) > MAX_TRACKED:
            del self.budgets[next(iter(self.budgets))]
        if budget.tokens < 1:
            return False
        budget.tokens -= 1
        return True


TOUCH_LIMITS = web.AppKey("touch_limits", TouchLimits)


def touch_context(room: Room, person_id: str | None) -> dict[str, Any]:
    """What the recap's "Stay in touch" card shows one viewer: only their own."""
    meeting = room.meeting
    if person_id is None:
        return {"touch": None}
    met = people_met(meeting.people, person_id)
    if not met and not meeting.contacts.line_of(person_id):
        return {"touch": None}
    mine = set(meeting.contacts.choices_of(person_id))
    return {
        "touch": {
            "people": [{"id": p.id, "name": p.name, "chosen": p.id in mine} for p in met],
            "line": meeting.contacts.line_of(person_id),
            "max_line": MAX_CONTACT_LINE,
            "matches": [
                {"id": m.person, "name": m.name, "line": segments(m.line)}
                for m in meeting.matches_of(person_id)
            ],
            "ended": meeting.clock.status == ENDED,
        }
    }


async def _person(request: web.Request) -> tuple[Room, str]:
    room = await request.app[ROOMS].get(request.match_info["id"])
    if room is None:
        raise web.HTTPNotFound(text="No such meeting.")
    session = await read_session(request, room.meeting.id)
    if session is None:
        raise web.HTTPForbidden(
            text="Only people who were in this meeting can choose whom to stay in touch with."
        )
    if not request.app[TOUCH_LIMITS].allow(room.meeting.id + "/" + session.person_id):
        raise web.HTTPTooManyRequests(text="That was a lot at once: wait a moment, please.")
    return room, session.person_id


async def save_touch(request: web.Request) -> web.Response:
    """POST /m/{id}/touch: tick or untick one person (``person``, ``want``) or save ``line``."""
    if request.content_length is None or request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_FORM_BYTES, actual_size=request.content_length or 0
        )
    if not form_from_this_site(request):
        raise web.HTTPForbidden(text="This form may only be sent from its own site.")
    room, person_id = await _person(request)
    form = await request.post()
    line = form.get("line")
    try:
        if line is not None:
            room.meeting.act(person_id, "contact-line", {"text": line}, room.now())
        else:
            want = form.get("want")
            args = {"person": form.get("person"), "want": want == "yes" if want else None}
            room.meeting.act(person_id, "stay-in-touch", args, room.now())
    except MeetingError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    room.dirty = True  # saved; nobody else's screen changes
    await request.app[ROOMS].flush()
    raise web.HTTPSeeOther(f"/m/{room.meeting.id}/recap#stay-in-touch")


async def vcard(request: web.Request) -> web.Response:
    """GET /m/{id}/touch/{person}.vcf: a match's name and contact line as a vCard (else 404)."""
    room, person_id = await _person(request)
    wanted = request.match_info["person"]
    match = next((m for m in room.meeting.matches_of(person_id) if m.person == wanted), None)
    if match is None:
        raise web.HTTPNotFound(text="No such contact.")
    started = room.meeting.clock.started_at
    met = f"Met at {room.meeting.title}" + (f", {when(started)}" if started else "")
    return web.Response(
        body=vcard_text(match, met).encode("utf-8"),
        content_type="text/vcard",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_file_name(match.name)}.vcf"',
            "Cache-Control": "no-store",
        },
    )


def vcard_text(match: Match, met: str) -> str:
    """A vCard 4.0 for one match: their name, their contact line, where you met."""
    lines = ["BEGIN:VCARD", "VERSION:4.0", "FN:" + _escape(match.name)]
    note = met
    if _EMAIL.match(match.line):
        lines.append("EMAIL:" + _escape(match.line))
    elif _URL.match(match.line):
        lines.append("URL:" + _escape(match.line))
    elif match.line:
        note = f"{match.line}\n{met}"
    lines += ["NOTE:" + _escape(note), "END:VCARD"]
    return "".join(_fold(line) + "\r\n" for line in lines)


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r", "")
        .replace("\n", "\\n")
    )


def _fold(line: str, width: int = 75) -> str:
    """Fold a content line at ``width`` octets (RFC 6350), never inside a character."""
    parts: list[str] = []
    current = ""
    for ch in line:
        limit = width if not parts else width - 1
        if len((current + ch).encode("utf-8")) > limit:
            parts.append(current)
            current = ""
        current += ch
    parts.append(current)
    return "\r\n ".join(parts)


def _file_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:40]
    return cleaned or "contact"
