"""The JSON API: list and check agendas, create meetings (documented in README)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .agendas import (
    AgendaInputError,
    create,
    library,
    meeting_request,
    parse_custom,
    summary,
    timeline,
)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad-json", "message": "The body must be JSON."}),
            content_type="application/json",
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad-json", "message": "The body must be a JSON object."}),
            content_type="application/json",
        )
    return data


async def list_agendas(request: web.Request) -> web.Response:
    """GET /api/agendas: the agendas on offer, with their timelines."""
    lib = library(request.app)
    return _json({"agendas": [summary(n, a, lib.decks) for n, a in lib.agendas.items()]})


async def check_agenda(request: web.Request) -> web.Response:
    """POST /api/agendas/check {"yaml": "..."}: the errors, warnings and timeline of an agenda."""
    data = await _body(request)
    text = data.get("yaml")
    if not isinstance(text, str):
        return _json({"ok": False, "errors": ["Send the agenda YAML as a string."]}, 400)
    lib = library(request.app)
    try:
        agenda, warnings = parse_custom(text, lib)
    except AgendaInputError as exc:
        return _json({"ok": False, "errors": exc.errors, "warnings": [], "timeline": None})
    return _json(
        {"ok": True, "errors": [], "warnings": warnings, "timeline": timeline(agenda, lib.decks)}
    )


async def create_meeting(request: web.Request) -> web.Response:
    """POST /api/meetings: create a meeting; answers both links (201)."""
    data = await _body(request)
    try:
        req = meeting_request(library(request.app), data)
    except AgendaInputError as exc:
        return _json({"error": "bad-request", "errors": exc.errors}, 400)
    room, participant, facilitator = await create(request, req)
    return _json(
        {
            "id": room.meeting.id,
            "title": room.meeting.title,
            "participant_url": participant,
            "facilitator_url": facilitator,
        },
        201,
    )


async def health(request: web.Request) -> web.Response:
    """GET /healthz: the server is up."""
    return _json({"ok": True})
