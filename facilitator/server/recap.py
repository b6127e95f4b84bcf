"""The recap page, its Markdown and JSON exports, private notes, and deleting what is stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..domain.contacts import attended
from ..domain.durations import format_difference, format_span, span_difference
from ..domain.meeting import FACILITATOR, REMOVED
from ..domain.recap import Private, Recap, build_recap, hhmm, people_met, to_markdown, when
from ..domain.retention import DAY
from .keys import CONFIG, ROOMS
from .links import segments
from .pages import render
from .rooms import Room, secret_matches
from .sessions import form_from_this_site, read_session
from .touch import touch_context

BAR_WIDTH = 320
"""Pixels of the longest bar in the recap's SVG charts."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a recap: their person id (if they were there) and whether they ran it."""

    person_id: str | None
    facilitator: bool
    attended: bool = False
    """They were in the call (not only in the lobby, not removed): they may read the chat."""


async def _room(request: web.Request) -> Room:
    room = await request.app[ROOMS].get(request.match_info["id"])
    if room is None:
        raise web.HTTPNotFound(text="No such meeting.")
    return room


async def _viewer(request: web.Request, room: Room, key: str | None = None) -> Viewer:
    session = await read_session(request, room.meeting.id)
    key = key if key is not None else request.query.get("key", "")
    person = room.meeting.people.get(session.person_id) if session else None
    facilitator = bool(key) and len(key) <= 128 and secret_matches(key, room.key_hash)
    if person is not None:
        # What the meeting says wins: a facilitator who was removed (or stepped down) has
        # no facilitator rights left, whatever their session once proved.
        facilitator = facilitator or (person.role == FACILITATOR and person.state != REMOVED)
    else:
        facilitator = facilitator or bool(session and session.facilitator)
    return Viewer(session.person_id if session else None, facilitator, attended(person))


def _same_origin(request: web.Request) -> None:
    if not form_from_this_site(request):
        raise web.HTTPForbidden(text="This form may only be sent from its own site.")


def _bars(values: list[tuple[str, float, float]]) -> list[dict[str, Any]]:
    """Rows for an SVG bar chart: planned vs actual widths in pixels (no inline styles: CSP)."""
    top = max([max(p, a) for _, p, a in values] + [1.0])
    return [
        {
            "label": label,
            "planned": round(BAR_WIDTH * planned / top),
            "actual": round(BAR_WIDTH * actual / top),
            "planned_text": format_span(planned),
            "actual_text": format_span(actual),
            "over": actual > planned,
        }
        for label, planned, actual in values
    ]


def _private(room: Room, viewer: Viewer) -> Private:
    """The viewer's own additions to the recap (nothing for someone who was not there)."""
    meeting = room.meeting
    if viewer.person_id is None:
        return Private()
    return Private(
        notes=meeting.notes_of(viewer.person_id),
        names={p.id: p.name for p in meeting.people.values()},
        chat=list(meeting.chat) if viewer.attended else [],
        matches=meeting.matches_of(viewer.person_id),
    )


def _retention(room: Room, keep_days: float) -> str:
    """When the meeting and everything in it is deleted, in words."""
    days = f"{keep_days:g} day" + ("" if keep_days == 1 else "s")
    ended = room.meeting.clock.ended_at
    if ended is None:
        return f"Everything about this meeting is deleted {days} after it ends."
    return (
        f"This meeting, its chat, everyone's notes and stay-in-touch choices are deleted on "
        f"{when(ended + keep_days * DAY)} ({days} after it ended)."
    )


def _context(
    room: Room, recap: Recap, viewer: Viewer, key: str, keep_days: float
) -> dict[str, Any]:
    meeting = room.meeting
    private = _private(room, viewer)
    names = {p.id: p.name for p in meeting.people.values()}
    notes = meeting.notes_of(viewer.person_id) if viewer.person_id else {}
    total_talk = sum(t.seconds for t in recap.talk) or 1.0
    top_talk = max([t.seconds for t in recap.talk] + [1.0])
    return {
        "meeting_id": meeting.id,
        "recap": recap,
        "data": recap.to_dict(),
        "agenda_bars": _bars([(i.title, i.planned, i.actual) for i in recap.items]),
        "bar_width": BAR_WIDTH,
        "talk_bars": [
            {
                "name": t.name,
                "width": round(BAR_WIDTH * t.seconds / top_talk),
                "text": f"{format_span(t.seconds)} ({round(100 * t.seconds / total_talk)}%)",
            }
            for t in recap.talk
        ],
        "span": format_span,
        "difference": lambda actual, planned: format_difference(span_difference(actual, planned)),
        "hhmm": hhmm,
        "when": when,
        "retention": _retention(room, keep_days),
        "chat": [
            {"t": m["t"], "name": m["name"], "text": segments(str(m["text"]))} for m in private.chat
        ],
        **touch_context(room, viewer.person_id),
        "notes": [
            {"about": "General" if k == "general" else names.get(k, "someone"), "text": v}
            for k, v in notes.items()
        ],
        "item_notes": [i.notes for i in meeting.agenda.items] if viewer.facilitator else [],
        "facilitator": viewer.facilitator,
        "key": key if viewer.facilitator else "",
        "was_there": viewer.person_id in meeting.people if viewer.person_id else False,
        "people_you_met": people_met(meeting, viewer.person_id) if viewer.person_id else [],
    }


async def recap_page(request: web.Request) -> web.Response:
    """GET /m/{id}/recap: planned vs actual, turns, talk time, and your own notes."""
    room = await _room(request)
    viewer = await _viewer(request, room)
    recap = build_recap(room.meeting, room.now())
    key = request.query.get("key", "")
    keep_days = request.app[CONFIG].keep_days
    return render(request, "recap.html", **_context(room, recap, viewer, key, keep_days))


async def recap_markdown(request: web.Request) -> web.Response:
    """GET /m/{id}/recap.md: the recap plus the viewer's own notes, as a download."""
    room = await _room(request)
    viewer = await _viewer(request, room)
    private = _private(room, viewer)
    text = to_markdown(build_recap(room.meeting, room.now()), private.notes, private.names, private)
    return web.Response(
        text=text,
        content_type="text/markdown",
        headers={
            "Content-Disposition": 'attachment; filename="recap.md"',
            "Cache-Control": "no-store",
        },
    )


async def recap_json(request: web.Request) -> web.Response:
    """GET /m/{id}/recap.json: the shared part of the recap (never anyone's notes, choices or
    matches, never the chat), and for someone who was there, the people they met."""
    room = await _room(request)
    viewer = await _viewer(request, room)
    recap = build_recap(room.meeting, room.now())
    data = recap.to_dict()
    if viewer.person_id in room.meeting.people:
        data["people_you_met"] = people_met(room.meeting, viewer.person_id or "")
    return web.json_response(
        data,
        dumps=lambda d: json.dumps(d, ensure_ascii=False),
        headers={"Cache-Control": "no-store"},
    )


async def person_notes(request: web.Request) -> web.Response:
    """GET /m/{id}/notes/{person}: one person's private notes, for that person only (else 403)."""
    room = await _room(request)
    session = await read_session(request, room.meeting.id)
    if session is None or session.person_id != request.match_info["person"]:
        raise web.HTTPForbidden(text="Notes are private: only their author can read them.")
    return web.json_response(
        {"notes": room.meeting.notes_of(session.person_id)}, headers={"Cache-Control": "no-store"}
    )


async def delete_notes(request: web.Request) -> web.Response:
    """POST /m/{id}/notes/delete: delete all of your own notes in this meeting."""
    _same_origin(request)
    room = await _room(request)
    session = await read_session(request, room.meeting.id)
    if session is None:
        raise web.HTTPForbidden(text="Only the author of notes can delete them.")
    room.meeting.delete_notes(session.person_id)
    room.changed()
    room.purge_due = True  # deleted means gone: not left behind in the write-ahead log
    if not await request.app[ROOMS].save(room):
        return render(
            request,
            "error.html",
            status=503,
            heading="Not deleted yet",
            message="We could not save that: the server's disk is full. Try again in a moment.",
        )
    raise web.HTTPSeeOther(f"/m/{room.meeting.id}/recap")


async def delete_meeting(request: web.Request) -> web.Response:
    """POST /m/{id}/delete: a facilitator deletes the meeting and everything stored for it."""
    _same_origin(request)
    room = await _room(request)
    form = await request.post()
    key = form.get("key")
    viewer = await _viewer(request, room, key if isinstance(key, str) else None)
    if not viewer.facilitator:
        raise web.HTTPForbidden(text="Only a facilitator can delete a meeting.")
    await request.app[ROOMS].delete(room.meeting.id)
    return render(
        request,
        "error.html",
        heading="Meeting deleted",
        message="The meeting and everything stored for it (chat, notes, stay-in-touch choices "
        "and contact lines, the log) are gone.",
    )
