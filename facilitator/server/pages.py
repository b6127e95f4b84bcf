"""HTML pages: the landing page, the "meeting created" page and the meeting room."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .agendas import AgendaInputError, create, library, meeting_request, summary
from .keys import ROOMS, TEMPLATES
from .sessions import open_session, set_session_cookie

NO_STORE = {"Cache-Control": "no-store"}


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template from ``web/templates`` as an HTML response."""
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", headers=NO_STORE)


def landing_context(
    request: web.Request, form: dict[str, Any] | None = None, errors: list[str] | None = None
) -> dict[str, Any]:
    """What the landing page shows: the agendas with their timelines, the decks, the form."""
    lib = library(request.app)
    return {
        # Longest first: the full network-night flow leads, quick formats follow.
        "agendas": [
            summary(name, a, lib.decks)
            for name, a in sorted(lib.agendas.items(), key=lambda kv: -kv[1].time_limit)
        ],
        "decks": [
            {"id": d.id, "title": d.title, "how_it_works": d.how_it_works, "count": len(d.prompts)}
            for d in lib.decks.values()
        ],
        "form": form or {},
        "errors": errors or [],
        "form_error": None,
    }


async def landing(request: web.Request) -> web.Response:
    """GET /: choose an agenda and create a meeting."""
    return render(request, "landing.html", **landing_context(request))


async def create_meeting(request: web.Request) -> web.Response:
    """POST /meetings: create a meeting from the landing form and show its two links."""
    data = await request.post()
    fields: dict[str, Any] = {k: v for k, v in data.items() if isinstance(v, str)}
    upload = data.get("yaml_file")
    if isinstance(upload, web.FileField) and upload.filename:
        content = upload.file.read(1_000_001)
        fields["yaml"] = content.decode("utf-8", "replace")
        fields["agenda"] = "custom"
    fields["lobby"] = "lobby" in data
    lib = library(request.app)
    try:
        req = meeting_request(lib, fields)
    except AgendaInputError as exc:
        context = landing_context(request, form=fields, errors=exc.errors)
        return render(request, "landing.html", status=400, **context)
    room, participant, facilitator = await create(request, req)
    return render(
        request,
        "created.html",
        title=room.meeting.title,
        agenda_title=room.meeting.agenda.title,
        participant_url=participant,
        facilitator_url=facilitator,
    )


async def meeting_page(request: web.Request) -> web.Response:
    """GET /m/{id}[?key=...]: the meeting (pre-join, lobby and room in one page)."""
    room = await request.app[ROOMS].get(request.match_info["id"])
    if room is None:
        return render(
            request,
            "error.html",
            status=404,
            heading="Meeting not found",
            message="This link does not lead to a meeting. Check it with whoever sent it.",
        )
    key = request.query.get("key")
    _, key_error, token = await open_session(request, room, key)
    response = render(
        request,
        "room.html",
        meeting_id=room.meeting.id,
        title=room.meeting.title,
        ws_path=f"/m/{room.meeting.id}/ws",
        key_error=key_error,
        strip_key=key is not None,
    )
    if token is not None:
        set_session_cookie(request, response, room.meeting.id, token)
    return response
