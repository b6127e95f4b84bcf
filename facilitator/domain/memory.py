"""Whom a meeting at its bound of people may forget: those who left and left nothing behind.

A meeting remembers a bounded number of people (``Meeting.people_limit``). Strangers knocking
with fresh browsers and going again would fill it, and then every invited person would be
refused; so before refusing anyone the meeting forgets people who are gone and left no trace:
first those who only ever waited in the lobby, then those who were in the room without taking
part (no chat, speaking time, notes, stay-in-touch choices, icebreaker turns, rounds, screen
share or facilitator action). Whoever took part stays, for the recap; removed people stay, so
that they stay out.
"""

from __future__ import annotations

from .meeting_api import MeetingApi
from .people import IN_LOBBY, IN_ROOM

TRACES = ("turn", "control")
"""Logged events that show a person took part (joins and leaves do not)."""


def took_part(meeting: MeetingApi) -> set[str]:
    """The ids of everyone something in the meeting remembers, beyond their coming and going."""
    found = set(meeting.talk) | set(meeting.notes)
    for notes in meeting.notes.values():
        found.update(notes)  # the people a note is about
    found.update(str(message.get("person")) for message in meeting.chat)
    found |= (
        meeting.contacts.remembered() | meeting.turns.remembered() | meeting.breakouts.remembered()
    )
    for event in meeting.log.events:
        if event.kind in TRACES:
            found.add(str(event.data.get("person", event.data.get("by", ""))))
    if meeting.sharer is not None:
        found.add(meeting.sharer)
    return found


def forgettable(meeting: MeetingApi) -> list[str]:
    """Who may be forgotten, the first to go first: people offline who only waited in the lobby,
    then people offline who were in the room and took no part; the earliest arrivals first."""
    gone = [p for p in meeting.people.values() if not p.online and p.state in (IN_LOBBY, IN_ROOM)]
    if not gone:
        return []
    kept = took_part(meeting)
    knocked = [p.id for p in gone if p.state == IN_LOBBY and p.id not in kept]
    silent = [p.id for p in gone if p.state == IN_ROOM and p.id not in kept]
    return knocked + silent
