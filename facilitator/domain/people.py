"""People in a meeting: who they are, the rules for names and messages, and refusals."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FACILITATOR, PARTICIPANT = "facilitator", "participant"
IN_ROOM, IN_LOBBY, REMOVED = "in", "lobby", "removed"
MAX_NAME = 40
MAX_CHAT_TEXT = 1000
MAX_CHAT_HISTORY = 500
MAX_PEOPLE_LIMIT = 100
MAX_NOTE = 5000
EXTEND_CHOICES = range(30, 3601)
"""Extensions from 30 s to an hour."""
REACTIONS = ("applause", "laugh", "heart", "thumbs-up", "plus-one")
"""The reactions people can send; they float over the sender's tile."""
REACTION_RATE = 1.0
"""Reactions per second, sustained, per person."""
REACTION_BURST = 3
"""Reactions one person may send at once."""


class MeetingError(Exception):
    """A request the meeting refuses: ``code`` is stable for clients, ``str()`` is friendly."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Notice:
    """Something the transport must tell people, beyond the new state everyone gets."""

    kind: str
    """``chat``, ``warning``, ``removed``, ``muted``, ``ended``, ``admitted``, ..."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Details, JSON-ready."""
    to: str | None = None
    """A person id, or None for everyone in the room."""


@dataclass
class Person:
    """Someone who has come to the meeting (in the room, waiting in the lobby, or removed)."""

    id: str
    """Public id, shown to others; the secret session token never leaves the transport."""
    name: str
    """Display name, 1-40 characters, anything goes."""
    role: str
    """``facilitator`` or ``participant``."""
    state: str
    """``in``, ``lobby`` or ``removed``."""
    joined_at: float
    """When they first arrived."""
    online: bool = True
    """Connected right now."""
    hand: float | None = None
    """When they raised their hand, or None."""
    muted: bool = False
    """Muted by a facilitator: the server does not forward their audio."""
    opted_out: bool = False
    """Sits out icebreakers."""
    camera: bool = False
    """Their camera is on (as their browser reports it)."""
    mic: bool = False
    """Their microphone is on (as their browser reports it)."""
    creator: bool = False
    """Opened the facilitator link: nobody can remove them or take their role away."""

    def to_dict(self) -> dict[str, Any]:
        """Return the person as JSON-ready data."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Person:
        """Rebuild a person stored by ``to_dict``."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


JOINERS = "\u200c\u200d"
"""Zero-width (non-)joiners hold emoji and some scripts together; other format characters go."""


def clean_name(name: object) -> str:
    """Normalise a display name: any characters, but printable, trimmed, 1-40 long."""
    if not isinstance(name, str):
        raise MeetingError("bad-name", "Please type a name.")
    # Line breaks and tabs separate words (so "Ann\nLee" is "Ann Lee"); other controls go.
    text = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if ch.isspace() or ch in JOINERS or unicodedata.category(ch)[0] != "C"
    )
    text = " ".join(text.split())
    if not text:
        raise MeetingError("bad-name", "Please type a name.")
    if len(text) > MAX_NAME:
        raise MeetingError("bad-name", f"Names can be up to {MAX_NAME} characters.")
    return text


def clean_text(text: object) -> str:
    """Normalise a chat message: plain text, at most 1000 characters."""
    if not isinstance(text, str):
        raise MeetingError("bad-message", "Messages are plain text.")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
    if not text:
        raise MeetingError("bad-message", "The message is empty.")
    if len(text) > MAX_CHAT_TEXT:
        raise MeetingError("bad-message", f"Messages can be up to {MAX_CHAT_TEXT} characters.")
    return text
