"""People in a meeting: who they are, the rules for names and messages, and refusals."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import CodedError

FACILITATOR, PARTICIPANT = "facilitator", "participant"
IN_ROOM, IN_LOBBY, REMOVED = "in", "lobby", "removed"
MAX_NAME = 40
MAX_CHAT_TEXT = 1000
MAX_CHAT_HISTORY = 500
MAX_PEOPLE_LIMIT = 100
MAX_NOTE = 5000
MAX_NOTES_PER_AUTHOR = 50
"""Subjects one person may keep notes about (everyone present, plus general, in a big call)."""
MAX_NOTES_TOTAL = 500_000
"""Characters of notes one meeting keeps, everyone's together."""
MIN_LOBBY = 10
"""The lobby holds max(MIN_LOBBY, max_people) people knocking at once."""
PEOPLE_PER_SEAT = 4
"""A meeting remembers at most this many people per seat, counting at least MIN_LOBBY seats
(people in the lobby, departed and removed too, facilitators included): 64 for 16 seats, 400
for 100. People who left no trace are forgotten to make room (``memory.py``)."""
CO_HOST_SLOTS = 4
"""People with the facilitator link who get a seat even in a full room (more count like
everyone else); the meeting's memory keeps as many places for facilitators."""
EXTEND_CHOICES = range(30, 3601)
"""Extensions from 30 s to an hour."""
REACTIONS = ("applause", "laugh", "heart", "thumbs-up", "plus-one")
"""The reactions people can send; they float over the sender's tile."""
REACTION_RATE = 1.0
"""Reactions per second, sustained, per person."""
REACTION_BURST = 3
"""Reactions one person may send at once."""


class MeetingError(CodedError):
    """A request the meeting refuses: ``code`` is stable for clients, ``str()`` is friendly."""


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
    """Display name, 1-40 characters (see ``clean_name``), unlike anyone else's."""
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
    """They came in with the facilitator link (the creator's key), not by being made one."""

    def to_dict(self) -> dict[str, Any]:
        """Return the person as JSON-ready data."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Person:
        """Rebuild a person stored by ``to_dict``."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def present_people(people: Mapping[str, Person]) -> list[Person]:
    """People in the room and online, in arrival order."""
    return [p for p in people.values() if p.state == IN_ROOM and p.online]


MAX_NAME_INPUT = 4 * MAX_NAME
"""Longer raw names are refused before any other work (combining marks and joiners included)."""
MAX_MARKS = 2
"""Combining marks kept on one base character (more only stack into unreadable towers)."""
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e\u034f")
"""Letters that draw nothing (Hangul fillers, the blank Braille pattern, ...): removed."""
JOINERS = "\u200c\u200d"
"""Zero-width (non-)joiners hold emoji and some scripts together: kept only between two
non-ASCII characters, and never counted when names are compared."""
ROLE_WORDS = ("host", "facilitator", "organiser", "organizer", "moderator", "admin", "creator")
CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "l", "ї": "l",
        "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ь": "b",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "γ": "y", "μ": "u",
        # Latin and digits that pass for each other
        "i": "l", "1": "l", "|": "l", "0": "o", "ı": "l", "ɡ": "g", "ꞵ": "b",
    }
)  # fmt: skip
"""A small table of common Latin/Cyrillic/Greek look-alikes (after casefolding), in the spirit
of the Unicode confusables data (UTS #39); not the full table."""


def clean_name(name: object) -> str:
    """Normalise a display name so it can be read and cannot pass for something it is not.

    NFKC-normalised; format characters (zero-width, bidi controls) and invisible letters go;
    at most MAX_MARKS combining marks per character; at least one visible character; no role
    such as "(host)"; 1-40 characters. Line breaks and tabs separate words.
    """
    if not isinstance(name, str):
        raise MeetingError("bad-name", "Please type a name.")
    if len(name) > MAX_NAME_INPUT:
        raise MeetingError("bad-name", f"Names can be up to {MAX_NAME} characters.")
    name = unicodedata.normalize("NFKC", name)
    kept: list[str] = []
    marks = 0
    for index, ch in enumerate(name):
        category = unicodedata.category(ch)
        if ch.isspace():
            kept.append(" ")
            marks = MAX_MARKS  # a mark right after a space would float on nothing
        elif ch in JOINERS:
            before, after = kept[-1:] or [" "], name[index + 1 : index + 2] or " "
            if not before[0].isascii() and not after.isascii():
                kept.append(ch)
        elif category[0] == "C" or ch in INVISIBLE:
            continue
        elif category[0] == "M":
            if marks < MAX_MARKS:
                kept.append(ch)
            marks += 1
        else:
            kept.append(ch)
            marks = 0
    text = " ".join("".join(kept).split())
    if not any(visible(ch) for ch in text):
        raise MeetingError("bad-name", "Please type a name with at least one letter we can see.")
    if len(text) > MAX_NAME:
        raise MeetingError("bad-name", f"Names can be up to {MAX_NAME} characters.")
    if claims_role(text):
        raise MeetingError(
            "bad-name", "Please leave the role out of your name: the room marks facilitators."
        )
    return text


def visible(ch: str) -> bool:
    """True for a character that draws something on its own (not a space, mark or format)."""
    return not ch.isspace() and unicodedata.category(ch)[0] not in "CMZ" and ch not in INVISIBLE


def skeleton(name: str) -> str:
    """What a name looks like, for telling look-alikes apart: casefolded, decomposed, without
    marks, joiners or spaces at the ends, with common look-alike letters mapped to one."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] not in "CM")
    text = text.translate(CONFUSABLES).replace("rn", "m").replace("vv", "w")
    return " ".join(text.split())


def claims_role(name: str) -> bool:
    """True when a name pretends to a role, e.g. "Ana (host)" or "[Facilitator] Ben"."""
    shape = skeleton(name)
    words = {skeleton(word) for word in ROLE_WORDS}
    for opening, closing in ("()", "[]", "{}", "<>"):
        for word in words:
            if f"{opening}{word}{closing}" in shape.replace(" ", ""):
                return True
    return False


def unique_name(name: str, others: Iterable[str], shape: Callable[[str], str] = skeleton) -> str:
    """``name``, or ``name (2)``, ``(3)``... when it looks the same as someone else's name
    (``shape``: ``skeleton``, or one that remembers the skeletons it worked out)."""
    taken = {shape(other) for other in others}
    if shape(name) not in taken:
        return name
    for number in range(2, len(taken) + 3):
        suffix = f" ({number})"
        candidate = name[: MAX_NAME - len(suffix)].rstrip() + suffix
        if skeleton(candidate) not in taken:
            return candidate
    raise AssertionError("unreachable: there are more numbers than names")


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
