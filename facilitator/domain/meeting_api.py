"""What an action handler may use of a meeting: its public state and operations.

The handlers in ``actions.py`` are written against this Protocol rather than the Meeting class,
so ``meeting.py`` can import the handler tables without ``actions.py`` importing it back.
"""

from __future__ import annotations

from typing import Any, Protocol

from .agenda import Agenda
from .breakouts import Breakouts
from .clock import Clock
from .contacts import Contacts
from .events import EventLog
from .people import Notice, Person
from .turns import Turns


class MeetingApi(Protocol):
    """The part of a Meeting that action handlers read and change."""

    agenda: Agenda
    clock: Clock
    turns: Turns
    breakouts: Breakouts
    log: EventLog
    people: dict[str, Person]
    lobby: bool
    locked: bool
    chat: list[dict[str, Any]]
    chat_seq: int
    notes: dict[str, dict[str, str]]
    max_people: int
    sharer: str | None
    reaction_budget: dict[str, tuple[float, float]]
    talk: dict[str, float]

    def count_in_room(self) -> int:
        """People in the room who are online."""
        ...

    def name_for(self, person_id: str, name: str) -> str:
        """``name``, made unlike everyone else's in the meeting."""
        ...

    contacts: Contacts

    def present(self) -> list[Person]:
        """People in the room and online, in arrival order."""
        ...

    def delete_notes(self, author_id: str) -> None:
        """Forget everything one person wrote."""
        ...

    def start(self, now: float) -> None:
        """Start the call at the first item."""
        ...

    def go_to_item(self, index: int, now: float) -> None:
        """Make item ``index`` current (checked before anything changes)."""
        ...

    def end(self, now: float) -> list[Notice]:
        """End the call; return the notices."""
        ...
