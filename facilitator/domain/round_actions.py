"""Actions of rounds in small groups: anyone's (cards, help, avoid) and facilitators' (visit,
move, broadcast, extend, end). ``actions.py`` merges these tables into its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .breakouts import MAX_BROADCAST
from .meeting_api import MeetingApi
from .people import EXTEND_CHOICES, IN_ROOM, MeetingError, Notice, Person, clean_text

Handler = Callable[[MeetingApi, Person, Mapping[str, Any], float], list[Notice]]


def _present(m: MeetingApi, args: Mapping[str, Any]) -> Person:
    person = m.people.get(str(args.get("person", "")))
    if person is None or person.state != IN_ROOM or not person.online:
        raise MeetingError("no-such-person", "That person is not in the room.")
    return person


def _next_card(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.breakouts.next_card(who.id)
    return []


def _ask_help(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    return m.breakouts.help_notices(who)


def _avoid(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    value = args.get("value")
    if not isinstance(value, bool):
        raise MeetingError("bad-request", "Say whether to keep you apart (true or false).")
    other = str(args.get("person", ""))
    if other not in m.people or other == who.id:
        raise MeetingError("no-such-person", "That person is not in this meeting.")
    m.breakouts.set_avoid(who.id, other, value)
    return []


def _visit(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.breakouts.visit(who, args.get("group"))
    return []


def _leave_group(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.breakouts.end_visit(who)
    return []


def _move(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.breakouts.move(_present(m, args), args.get("group"))
    return []


def _broadcast(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    text = clean_text(args.get("text"))
    if len(text) > MAX_BROADCAST:
        raise MeetingError(
            "bad-message", f"A message to all groups is up to {MAX_BROADCAST} characters."
        )
    if m.breakouts.live is None:
        raise MeetingError("no-groups", "No round in small groups is running.")
    return [Notice("broadcast", {"text": text, "by": who.name, "t": now})]


def _extend_round(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    seconds = args.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds not in EXTEND_CHOICES:
        raise MeetingError("bad-request", "Extend by 30 seconds to one hour.")
    m.breakouts.extend(seconds)
    return []


def _end_round(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.breakouts.end_round(now)
    return []


ROUND_EVERYONE: dict[str, Handler] = {
    "next-card": _next_card,
    "ask-help": _ask_help,
    "avoid": _avoid,
}
ROUND_FACILITATORS: dict[str, Handler] = {
    "visit-group": _visit,
    "leave-group": _leave_group,
    "move-to-group": _move,
    "broadcast": _broadcast,
    "extend-round": _extend_round,
    "end-round": _end_round,
}
ROUND_PRIVATE = frozenset({"avoid"})
"""Nobody but the asker ever learns of an ``avoid``."""
