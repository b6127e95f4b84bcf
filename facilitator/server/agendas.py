"""Agendas as the pages and the API offer them: chosen from the folder or written by the host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from ..domain.agenda import Agenda, parse_agenda
from ..domain.decks import Deck
from ..domain.durations import format_duration
from ..domain.people import MAX_PEOPLE_LIMIT
from ..domain.yamlfile import FileError
from ..library import Library, load_library
from .keys import CONFIG, ROOMS
from .rooms import Room

CUSTOM_NAME = "your agenda"
"""How pasted YAML is named in error lines."""
MAX_PEOPLE_RANGE = range(2, MAX_PEOPLE_LIMIT + 1)


class AgendaInputError(Exception):
    """The host's choices cannot make a meeting; ``errors`` says why, one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class MeetingRequest:
    """A validated request to create a meeting."""

    agenda: Agenda
    decks: dict[str, Deck]
    title: str
    max_people: int
    lobby: bool
    scheduled_at: float | None


def library(app: web.Application) -> Library:
    """Read agendas and decks from disk (cheap, and edits show up without a restart)."""
    config = app[CONFIG]
    return load_library(config.agendas_dir, config.decks_dir)


def timeline(agenda: Agenda, decks: dict[str, Deck]) -> list[dict[str, Any]]:
    """The agenda's items with their planned offsets, ready for a page or JSON."""
    rows = []
    for offset, item in zip(agenda.offsets(), agenda.items, strict=True):
        minutes, seconds = divmod(offset, 60)
        deck = decks.get(item.icebreaker) if item.icebreaker else None
        rows.append(
            {
                "offset": f"{minutes}:{seconds:02d}",
                "title": item.title,
                "duration": format_duration(item.duration),
                "deck": deck.title if deck else None,
                "per_speaker": format_duration(item.per_speaker) if item.icebreaker else None,
            }
        )
    return rows


def summary(name: str, agenda: Agenda, decks: dict[str, Deck]) -> dict[str, Any]:
    """One agenda as the landing page and ``GET /api/agendas`` show it."""
    return {
        "name": name,
        "title": agenda.title,
        "description": agenda.description,
        "time_limit": format_duration(agenda.time_limit),
        "total": format_duration(agenda.planned_total),
        "fits": agenda.planned_total <= agenda.time_limit,
        "items": timeline(agenda, decks),
    }


def parse_custom(text: str, lib: Library) -> tuple[Agenda, list[str]]:
    """Validate pasted agenda YAML; raise AgendaInputError with the same lines as ``check``."""
    try:
        return parse_agenda(text, CUSTOM_NAME, lib.decks)
    except FileError as exc:
        raise AgendaInputError([str(p) for p in exc.problems]) from None


def meeting_request(lib: Library, fields: dict[str, Any]) -> MeetingRequest:
    """Validate what a host asked for (form or JSON) into a MeetingRequest."""
    name = str(fields.get("agenda") or "").strip()
    text = fields.get("yaml")
    if isinstance(text, str) and text.strip() and name in ("", "custom"):
        agenda, _ = parse_custom(text, lib)
    elif name and name != "custom":
        if name not in lib.agendas:
            raise AgendaInputError([f'There is no agenda named "{name[:60]}".'])
        agenda = lib.agendas[name]
    else:
        raise AgendaInputError(["Choose an agenda, or paste your own agenda YAML."])
    title = " ".join(str(fields.get("title") or "").split())
    if len(title) > 120:
        raise AgendaInputError(["The title can be up to 120 characters."])
    try:
        max_people = int(fields.get("max_people") or 16)
    except (TypeError, ValueError):
        raise AgendaInputError(["Max participants must be a number from 2 to 100."]) from None
    if max_people not in MAX_PEOPLE_RANGE:
        raise AgendaInputError(["Max participants must be a number from 2 to 100."])
    lobby = fields.get("lobby") in (True, "on", "true", "1", 1)
    return MeetingRequest(
        agenda=agenda,
        decks=lib.decks,
        title=title,
        max_people=max_people,
        lobby=lobby,
        scheduled_at=_parse_time(fields.get("scheduled_at"), fields.get("tz_offset")),
    )


def links(base: str, meeting_id: str, key: str) -> tuple[str, str]:
    """The participant link and the facilitator link of a meeting."""
    participant = f"{base}/m/{meeting_id}"
    return participant, f"{participant}?key={key}"


async def create(request: web.Request, req: MeetingRequest) -> tuple[Room, str, str]:
    """Create the meeting a host asked for; return it with its participant and facilitator links."""
    room, key = await request.app[ROOMS].create(
        req.agenda,
        req.decks,
        title=req.title,
        max_people=req.max_people,
        lobby=req.lobby,
        scheduled_at=req.scheduled_at,
    )
    base = request.app[CONFIG].public_url or f"{request.scheme}://{request.host}"
    participant, facilitator = links(base.rstrip("/"), room.meeting.id, key)
    return room, participant, facilitator


def _parse_time(value: object, tz_offset: object = None) -> float | None:
    """Seconds since the epoch from a number or ISO 8601 text.

    A time without a zone (the form's ``datetime-local``) is the host's local time: the page
    sends its offset from UTC in minutes (JavaScript's ``getTimezoneOffset``) as ``tz_offset``.
    """
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        when = datetime.fromisoformat(str(value))
        if when.tzinfo is None and tz_offset not in (None, ""):
            minutes = int(str(tz_offset))
            if abs(minutes) > 24 * 60:
                raise ValueError("offset")
            when = when.replace(tzinfo=timezone(-timedelta(minutes=minutes)))
        return when.timestamp()
    except ValueError:
        raise AgendaInputError(["The scheduled start is not a date and time."]) from None
