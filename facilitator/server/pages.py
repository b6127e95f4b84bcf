"""HTML pages: the landing page, the "meeting created" page and the meeting room."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..store import STORE_ERRORS
from .agendas import (
    AgendaInputError,
    StoreFailure,
    check_size,
    create,
    create_key_ok,
    custom_text,
    library,
    meeting_request,
    offered,
    parse_offloaded,
)
from .keys import CONFIG, ROOMS, STORE, TEMPLATES
from .limits import LIMITS, retry_after, retry_header, wait_text
from .parsing import MAX_AGENDA_BYTES, ParserBusy
from .rooms import digest, new_id
from .sessions import creator_session, open_session, set_session_cookie

log = logging.getLogger("facilitator.pages")

NO_STORE = {"Cache-Control": "no-store"}
CREATED_COOKIE = "fc_created"
CREATED_SECONDS = 30 * 60
"""How long "Your meeting is ready" can be reloaded by whoever created the meeting."""
MAX_CREATED_VIEWS = 10_000

BUSY = "Many agendas are being checked right now. Try again in a moment."
STORE_FAILED = "We could not save this meeting: the server's disk may be full. Please try later."


@dataclass(frozen=True)
class CreatedView:
    """What the "meeting is ready" page shows, kept server-side (the key stays out of URLs)."""

    meeting_id: str
    context: dict[str, Any]
    expires: float


@dataclass
class CreatedViews:
    """Short-lived "meeting is ready" pages, by the hash of their creator's cookie."""

    views: dict[str, CreatedView] = field(default_factory=dict)

    def add(self, token: str, view: CreatedView) -> None:
        """Keep one view (the oldest go first when there are too many)."""
        self.prune(time.time())
        while len(self.views) >= MAX_CREATED_VIEWS:
            del self.views[next(iter(self.views))]
        self.views[digest(token)] = view

    def get(self, token: str | None, meeting_id: str) -> CreatedView | None:
        """The view for this cookie and meeting, while it lasts."""
        view = self.views.get(digest(token)) if token and len(token) <= 128 else None
        if view is None or view.meeting_id != meeting_id or view.expires < time.time():
            return None
        return view

    def prune(self, now: float) -> None:
        """Forget expired views."""
        for key in [k for k, v in self.views.items() if v.expires < now]:
            del self.views[key]


CREATED = web.AppKey("created", CreatedViews)


def render(
    request: web.Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """Render a template from ``web/templates`` as an HTML response."""
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        headers={**NO_STORE, **(headers or {})},
    )


def error_page(
    request: web.Request,
    status: int,
    heading: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The friendly error page."""
    return render(
        request,
        "error.html",
        status=status,
        headers=headers,
        heading=heading,
        message=message,
        status_code=status,
    )


def slow_down(request: web.Request, wait: float) -> web.Response:
    """429: this address has asked too often."""
    return error_page(
        request,
        429,
        "One moment, please",
        f"Too many requests came from your network just now. Try again in {wait_text(wait)}.",
        headers=retry_header(wait),
    )


def landing_context(
    request: web.Request, form: dict[str, Any] | None = None, errors: list[str] | None = None
) -> dict[str, Any]:
    """What the landing page shows: the agendas with their timelines, the decks, the form."""
    offer = offered(request.app)
    return {
        "agendas": offer.summaries,
        "decks": offer.decks,
        "form": form or {},
        "errors": errors or [],
        "form_error": None,
        "create_key_required": request.app[CONFIG].create_key is not None,
    }


async def landing(request: web.Request) -> web.Response:
    """GET /: choose an agenda and create a meeting."""
    wait = retry_after(request, request.app[LIMITS].pages)
    if wait:
        return slow_down(request, wait)
    return render(request, "landing.html", **landing_context(request))


async def create_meeting(request: web.Request) -> web.Response:
    """POST /meetings: create a meeting from the landing form, then redirect (303) to the page
    with its two links, so reloading that page never creates a second meeting."""
    limits = request.app[LIMITS]
    wait = retry_after(request, limits.creates, limits.creates_hourly, limits.creates_total)
    if wait:
        return slow_down(request, wait)
    try:
        data = await request.post()
    except web.HTTPRequestEntityTooLarge:
        message = f"That is too large; agendas can be up to {MAX_AGENDA_BYTES // 1024} KB."
        context = landing_context(request, errors=[message])
        return render(request, "landing.html", status=413, **context)
    fields: dict[str, Any] = {k: v for k, v in data.items() if isinstance(v, str)}
    fields.pop("create_key", None)
    upload = data.get("yaml_file")
    lib = library(request.app)

    def form_errors(errors: list[str], status: int = 400) -> web.Response:
        context = landing_context(request, form=fields, errors=errors)
        return render(request, "landing.html", status=status, **context)

    if not create_key_ok(request, data.get("create_key")):
        return form_errors(["The creation key is not right. Ask whoever runs this server."], 403)
    if isinstance(upload, web.FileField) and upload.filename:
        content = upload.file.read(MAX_AGENDA_BYTES + 1)
        fields["yaml"] = content.decode("utf-8", "replace")
        fields["agenda"] = "custom"
    fields["lobby"] = "lobby" in data
    try:
        text = custom_text(fields)
        parsed = None
        if text is not None:
            check_size(text)
            parsed, _ = await parse_offloaded(request.app, text, lib)
        req = meeting_request(lib, fields, parsed)
    except AgendaInputError as exc:
        return form_errors(exc.errors)
    except ParserBusy:
        return form_errors([BUSY], 503)
    try:
        room, participant, facilitator = await create(request, req)
    except StoreFailure:
        return error_page(request, 503, "Could not save the meeting", STORE_FAILED)
    meeting_id = room.meeting.id
    context = {
        "title": room.meeting.title,
        "agenda_title": room.meeting.agenda.title,
        "participant_url": participant,
        "facilitator_url": facilitator,
    }
    token = new_id(32)
    view = CreatedView(meeting_id, context, time.time() + CREATED_SECONDS)
    request.app[CREATED].add(token, view)
    where = f"/meetings/{meeting_id}/created"
    response = web.HTTPSeeOther(where, headers=NO_STORE)
    try:
        # This browser is the creator's: its facilitator session lasts as long as its cookie.
        session_token = await creator_session(request.app[STORE], room)
    except STORE_ERRORS as exc:
        log.error("could not save the creator's session: %s", exc)
        return error_page(request, 503, "Could not save the meeting", STORE_FAILED)
    set_session_cookie(request, response, meeting_id, session_token)
    response.set_cookie(
        CREATED_COOKIE,
        token,
        max_age=CREATED_SECONDS,
        path=where,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    raise response


async def created_page(request: web.Request) -> web.Response:
    """GET /meetings/{id}/created: the two links, for the browser that created the meeting."""
    view = request.app[CREATED].get(request.cookies.get(CREATED_COOKIE), request.match_info["id"])
    if view is None:
        return render(
            request,
            "error.html",
            status=404,
            heading="This page has expired",
            message="The links of a new meeting are shown only to whoever created it, for half "
            "an hour. If that was you, use the links you copied.",
        )
    return render(request, "created.html", **view.context)


async def meeting_page(request: web.Request) -> web.Response:
    """GET /m/{id}[?key=...]: the meeting (pre-join, lobby and room in one page)."""
    wait = retry_after(request, request.app[LIMITS].pages)
    if wait:
        return slow_down(request, wait)
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
