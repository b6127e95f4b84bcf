"""Staying in touch: private choices of whom to keep in touch with, and one contact line each.

Each person may tick the people they would like to stay in touch with and write one contact
line (an e-mail, a handle, a link) to share with their matches. A choice is private: only its
author ever reads it back. A match is a pair who chose each other, and matches are revealed
only once the meeting has ended, to the two people in the pair and nobody else. Nothing of a
one-sided choice ever leaves this module except to the person who made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .people import IN_LOBBY, REMOVED, MeetingError, Person

MAX_CONTACT_LINE = 200
"""Characters in a contact line."""


@dataclass(frozen=True)
class Match:
    """Someone who chose you as you chose them, and what they share with you."""

    person: str
    name: str
    line: str
    """Their contact line (may be empty: they have not written one yet)."""


def people_met(people: Mapping[str, Person], person_id: str) -> list[Person]:
    """The people someone may choose to stay in touch with: everyone else who attended.

    Attended means let into the room and not removed. (Rounds in small groups may narrow this
    to the people someone actually met; this function is the one place to do it.)
    """
    if not attended(people.get(person_id)):
        return []
    return [p for p in people.values() if p.id != person_id and attended(p)]


def attended(person: Person | None) -> bool:
    """True for someone who was in the room (not only in the lobby) and was not removed."""
    return person is not None and person.state not in (IN_LOBBY, REMOVED)


def clean_contact_line(text: object) -> str:
    """A contact line as stored: one line, trimmed, up to MAX_CONTACT_LINE characters."""
    if not isinstance(text, str):
        raise MeetingError("bad-request", "A contact line is text.")
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(line) > MAX_CONTACT_LINE:
        raise MeetingError(
            "bad-request", f"A contact line can be up to {MAX_CONTACT_LINE} characters."
        )
    return line


@dataclass
class Contacts:
    """Everyone's stay-in-touch choices and contact lines in one meeting."""

    chosen: dict[str, set[str]] = field(default_factory=dict)
    """Chooser id -> the ids of the people they would like to stay in touch with."""
    lines: dict[str, str] = field(default_factory=dict)
    """Person id -> the contact line they share with their matches."""

    def choose(
        self, people: Mapping[str, Person], chooser: str, other: object, want: object
    ) -> None:
        """Record (``want`` true) or withdraw (false) one person's choice of another.

        Refusals say nothing about what the other person chose.
        """
        if not isinstance(want, bool):
            raise MeetingError("bad-request", "Say whether to stay in touch (true or false).")
        allowed = {p.id for p in people_met(people, chooser)}
        if not isinstance(other, str) or other not in allowed:
            raise MeetingError("bad-request", "You can choose among the people in this meeting.")
        mine = self.chosen.setdefault(chooser, set())
        if want:
            mine.add(other)
        else:
            mine.discard(other)
        if not mine:
            del self.chosen[chooser]

    def set_line(self, person_id: str, text: object) -> str:
        """Set (or, empty, clear) someone's contact line; return it as stored."""
        line = clean_contact_line(text)
        if line:
            self.lines[person_id] = line
        else:
            self.lines.pop(person_id, None)
        return line

    def choices_of(self, person_id: str) -> list[str]:
        """The ids one person chose (for that person only)."""
        return sorted(self.chosen.get(person_id, set()))

    def line_of(self, person_id: str) -> str:
        """One person's own contact line (for that person only)."""
        return self.lines.get(person_id, "")

    def mine(self, person_id: str) -> dict[str, Any]:
        """What one person may read back of their own: their choices and their contact line."""
        return {"chosen": self.choices_of(person_id), "line": self.line_of(person_id)}

    def matches(self, people: Mapping[str, Person], person_id: str, ended: bool) -> list[Match]:
        """The people who chose ``person_id`` as they chose them; empty until the meeting ended."""
        if not ended:
            return []
        mine = self.chosen.get(person_id, set())
        return [
            Match(p.id, p.name, self.lines.get(p.id, ""))
            for p in people_met(people, person_id)
            if p.id in mine and person_id in self.chosen.get(p.id, set())
        ]

    def remembered(self) -> set[str]:
        """Everyone who chose, was chosen or left a contact line."""
        found = set(self.chosen) | set(self.lines)
        for others in self.chosen.values():
            found.update(others)
        return found

    def forget(self, person_id: str) -> None:
        """Delete one person's choices and contact line (any match with them goes too)."""
        self.chosen.pop(person_id, None)
        self.lines.pop(person_id, None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data for the snapshot."""
        return {
            "chosen": {k: sorted(v) for k, v in self.chosen.items()},
            "lines": dict(self.lines),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Contacts:
        """Rebuild from ``to_dict`` (or nothing, for meetings saved before contacts existed)."""
        data = data or {}
        chosen: Mapping[str, Iterable[Any]] = data.get("chosen", {})
        return cls(
            chosen={str(k): {str(x) for x in v} for k, v in chosen.items() if v},
            lines={str(k): str(v) for k, v in data.get("lines", {}).items()},
        )
