"""Agendas as the pages and the API offer them: chosen from the folder or written by the host."""

from __future__ import annotations

import dataclasses
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from ..domain.agenda import Agenda, parse_agenda
from ..domain.decks import Deck
from ..domain.durations import format_duration
from ..domain.people import MAX_PEOPLE_LIMIT
from ..domain.retention import SCHEDULED_AHEAD
from ..domain.yamlfile import FileError
from ..library import Library, LibraryCache
from ..store import STORE_ERRORS
from .keys import CONFIG, ROOMS
from .parsing import MAX_AGENDA_BYTES, AgendaParser
from .protocol import lone_surrogate
from .rooms import Room

log = logging.getLogger("facilitator.agendas")

CUSTOM_NAME = "your agenda"
"""How pasted YAML is named in error lines."""
MAX_PEOPLE_RANGE = range(2, MAX_PEOPLE_LIMIT + 1)
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
EARLIEST_SCHEDULE = 946_684_800.0
"""2000-01-01 UTC: no meeting is scheduled before it (nor after SCHEDULED_AHEAD from now)."""


class Offer:
    """The agendas and decks on offer, with their summaries computed once per change on disk."""

    def __init__(self, cache: LibraryCache) -> None:
        self.cache = cache
        self.version = -1
        self.summaries: list[dict[str, Any]] = []
        self.decks: list[dict[str, Any]] = []

    def library(self) -> Library:
        """The library (reloaded when a file changed)."""
        lib = self.cache.get()
        if self.cache.version != self.version:
            # Longest first: the full network-night flow leads, quick formats follow.
            self.summaries = [
                summary(name, a, lib.decks)
                for name, a in sorted(lib.agendas.items(), key=lambda kv: -kv[1].time_limit)
            ]
            self.decks = [
                {
                    "id": d.id,
                    "title": d.title,
                    "how_it_works": d.how_it_works,
                    "count": len(d.prompts),
                }
                for d in lib.decks.values()
            ]
            self.version = self.cache.version
        return lib


OFFER = web.AppKey("offer", Offer)
PARSER = web.AppKey("agenda_parser", AgendaParser)


class StoreFailure(Exception):
    """The meeting could not be saved (the disk may be full)."""


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
    """The agendas and decks on disk (cached; edits show up within a second)."""
    return app[OFFER].library()


def offered(app: web.Application) -> Offer:
    """The offer with its summaries up to date."""
    offer = app[OFFER]
    offer.library()
    return offer


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


def check_size(text: str) -> None:
    """Refuse agenda YAML over the size limit before anything reads it."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_AGENDA_BYTES:
        raise AgendaInputError(
            [
                f"Your agenda is {size // 1024} KB; agendas can be up to "
                f"{MAX_AGENDA_BYTES // 1024} KB (most are a few KB)."
            ]
        )


def parse_custom(text: str, lib: Library) -> tuple[Agenda, list[str]]:
    """Validate pasted agenda YAML; raise AgendaInputError with the same lines as ``check``."""
    check_size(text)
    try:
        return parse_agenda(text, CUSTOM_NAME, lib.decks)
    except FileError as exc:
        raise AgendaInputError([str(p) for p in exc.problems]) from None


async def parse_offloaded(
    app: web.Application, text: str, lib: Library
) -> tuple[Agenda, list[str]]:
    """Like ``parse_custom``, in the worker process (may raise ParserBusy)."""
    check_size(text)
    agenda, warnings, errors = await app[PARSER].parse(text, CUSTOM_NAME, lib.decks)
    if agenda is None:
        raise AgendaInputError(errors)
    return agenda, warnings


def custom_text(fields: dict[str, Any]) -> str | None:
    """The pasted YAML a request asks for, if it asks for a custom agenda."""
    name = str(fields.get("agenda") or "").strip()
    text = fields.get("yaml")
    if isinstance(text, str) and text.strip() and name in ("", "custom"):
        return text
    return None


def meeting_request(
    lib: Library, fields: dict[str, Any], parsed: Agenda | None = None
) -> MeetingRequest:
    """Validate what a host asked for (form or JSON) into a MeetingRequest.

    ``parsed`` is the custom agenda when the caller has already parsed it (off the loop).
    """
    name = str(fields.get("agenda") or "").strip()
    text = custom_text(fields)
    if text is not None:
        agenda = parsed if parsed is not None else parse_custom(text, lib)[0]
    elif name and name != "custom":
        if name not in lib.agendas:
            raise AgendaInputError([f'There is no agenda named "{name[:60]}".'])
        agenda = lib.agendas[name]
    else:
        raise AgendaInputError(["Choose an agenda, or paste your own agenda YAML."])
    title = " ".join(str(fields.get("title") or "").split())
    if lone_surrogate(title):
        raise AgendaInputError(["The title has text that is not valid Unicode."])
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
    try:
        room, key = await request.app[ROOMS].create(
            req.agenda,
            req.decks,
            title=req.title,
            max_people=req.max_people,
            lobby=req.lobby,
            scheduled_at=req.scheduled_at,
        )
    except STORE_ERRORS as exc:
        log.error("could not save a new meeting: %s", exc)
        raise StoreFailure(str(exc)) from None
    participant, facilitator = links(link_base(request), room.meeting.id, key)
    return room, participant, facilitator


def create_key_ok(request: web.Request, given: object) -> bool:
    """True when no creation key is needed, or ``given`` is it (compared in constant time)."""
    expected = request.app[CONFIG].create_key
    if expected is None:
        return True
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def link_base(request: web.Request) -> str:
    """The base URL for links: ``--public-url``, else the address the server listens on.

    Never the request's ``Host`` header: anyone can send any Host, and the facilitator link
    must not point at their server. On a wildcard address (0.0.0.0) the local address this
    connection arrived on is used, which the client cannot choose.
    """
    config = request.app[CONFIG]
    if config.public_url:
        return config.public_url.rstrip("/")
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    host, port = config.host, config.port
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        port = int(sockname[1])
        if host in WILDCARD_HOSTS:
            host = str(sockname[0])
    return dataclasses.replace(config, host=host, port=port).base_url()


def _parse_time(value: object, tz_offset: object = None, now: float | None = None) -> float | None:
    """Seconds since the epoch from a number or ISO 8601 text, within a sane range.

    A time without a zone (the form's ``datetime-local``) is the host's local time: the page
    sends its offset from UTC in minutes (JavaScript's ``getTimezoneOffset``) as ``tz_offset``.
    The time must be after 2000 and at most SCHEDULED_AHEAD from now: it reaches every page and
    decides when the meeting is deleted, so a start in the year 9999 would keep it for ever.
    """
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            when_ts = float(value)
        except OverflowError:  # a whole number too large for a float: no date at all
            raise AgendaInputError(["The scheduled start is not a date and time."]) from None
    else:
        try:
            when = datetime.fromisoformat(str(value))
            if when.tzinfo is None and tz_offset not in (None, ""):
                minutes = int(str(tz_offset))
                if abs(minutes) > 24 * 60:
                    raise ValueError("offset")
                when = when.replace(tzinfo=timezone(-timedelta(minutes=minutes)))
            when_ts = when.timestamp()
        except (ValueError, OverflowError, OSError):
            raise AgendaInputError(["The scheduled start is not a date and time."]) from None
    latest = (time.time() if now is None else now) + SCHEDULED_AHEAD
    if not EARLIEST_SCHEDULE <= when_ts <= latest:  # also false for NaN
        raise AgendaInputError(
            ["The scheduled start must be a date from 2000 up to a year from now."]
        )
    return when_ts
