"""The JSON API: list and check agendas, create meetings (documented in README)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from . import protocol
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
    timeline,
)
from .limits import LIMITS, retry_after, retry_header, wait_text
from .parsing import MAX_AGENDA_BYTES, ParserBusy

TOO_LARGE = f"The request is too large; agendas can be up to {MAX_AGENDA_BYTES // 1024} KB."
BUSY = "Many agendas are being checked right now. Try again in a moment."
STORE_FAILED = "We could not save this meeting: the server's disk may be full. Please try later."


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        data, status=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )


def _slow_down(wait: float) -> web.Response:
    message = f"Too many requests came from your network just now. Try again in {wait_text(wait)}."
    return _json(
        {"ok": False, "error": "rate-limited", "message": message, "errors": [message]},
        429,
        retry_header(wait),
    )


def _bad_request(error: str, message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": error, "message": message, "errors": [message]}),
        content_type="application/json",
    )


async def _body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, read by the WebSocket's strict rules (no NaN or Infinity,
    bounded nesting) and without lone surrogates; else 400 saying why (413 when too large)."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise web.HTTPRequestEntityTooLarge(
            max_size=request.client_max_size,
            actual_size=request.content_length or 0,
            text=json.dumps({"ok": False, "error": "too-large", "errors": [TOO_LARGE]}),
            content_type="application/json",
        ) from None
    try:
        data = protocol.strict_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _bad_request("bad-json", "The body must be JSON in UTF-8.") from None
    except protocol.ProtocolError as exc:
        message = "The body must be JSON (numbers finite: no NaN or Infinity)."
        if exc.code != "bad-json":
            message = (
                f"The body must be JSON nested at most {protocol.MAX_DEPTH} deep, with at most "
                f"{protocol.MAX_CONTAINERS} arrays and objects."
            )
        raise _bad_request("bad-json", message) from None
    if not isinstance(data, dict):
        raise _bad_request("bad-json", "The body must be a JSON object.")
    if protocol.lone_surrogate(data):
        raise _bad_request(
            "bad-text",
            "The body has text that is not valid Unicode (a lone surrogate such as \\ud800).",
        )
    return data


async def list_agendas(request: web.Request) -> web.Response:
    """GET /api/agendas: the agendas on offer, with their timelines."""
    wait = retry_after(request, request.app[LIMITS].pages)
    if wait:
        return _slow_down(wait)
    offer = offered(request.app)
    # The landing page shows the longest first; the API keeps the files' order.
    order = {name: index for index, name in enumerate(offer.cache.get().agendas)}
    agendas = sorted(offer.summaries, key=lambda s: order.get(s["name"], 0))
    return _json({"agendas": agendas})


async def check_agenda(request: web.Request) -> web.Response:
    """POST /api/agendas/check {"yaml": "..."}: the errors, warnings and timeline of an agenda."""
    wait = retry_after(request, request.app[LIMITS].checks)
    if wait:
        return _slow_down(wait)
    data = await _body(request)
    text = data.get("yaml")
    if not isinstance(text, str):
        return _json({"ok": False, "errors": ["Send the agenda YAML as a string."]}, 400)
    lib = library(request.app)
    try:
        agenda, warnings = await parse_offloaded(request.app, text, lib)
    except AgendaInputError as exc:
        return _json({"ok": False, "errors": exc.errors, "warnings": [], "timeline": None})
    except ParserBusy:
        return _json({"ok": False, "errors": [BUSY], "warnings": [], "timeline": None}, 503)
    return _json(
        {"ok": True, "errors": [], "warnings": warnings, "timeline": timeline(agenda, lib.decks)}
    )


async def create_meeting(request: web.Request) -> web.Response:
    """POST /api/meetings: create a meeting; answers both links (201)."""
    limits = request.app[LIMITS]
    wait = retry_after(request, limits.creates, limits.creates_hourly, limits.creates_total)
    if wait:
        return _slow_down(wait)
    data = await _body(request)
    given = request.headers.get("X-Create-Key", data.get("create_key"))
    if not create_key_ok(request, given):
        message = "This server needs the creation key (X-Create-Key header or create_key field)."
        return _json({"error": "not-allowed", "message": message, "errors": [message]}, 403)
    lib = library(request.app)
    try:
        text = custom_text(data)
        parsed = None
        if text is not None:
            check_size(text)
            parsed, _ = await parse_offloaded(request.app, text, lib)
        req = meeting_request(lib, data, parsed)
    except AgendaInputError as exc:
        return _json({"error": "bad-request", "errors": exc.errors}, 400)
    except ParserBusy:
        return _json({"error": "busy", "message": BUSY, "errors": [BUSY]}, 503)
    try:
        room, participant, facilitator = await create(request, req)
    except StoreFailure:
        return _json({"error": "store-failed", "message": STORE_FAILED}, 503)
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
