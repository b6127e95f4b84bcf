"""The meeting: who is in it, what they may do, and everything the call remembers.

Meeting is the one place meeting rules live. The WebSocket layer asks it to act on behalf of
a person (whose identity and role come from their session, never from a message) and relays
the notices it returns; the media layer obeys its roster and mute decisions. The actions
themselves are in ``actions.py``; icebreaker turns in ``turns.py``; people, names and
refusals in ``people.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .actions import AFTER_END, EVERYONE, FACILITATORS, PRIVATE, RELAY_ONLY, ROLE_ACTIONS
from .agenda import HARD_STOP_GRACE, Agenda
from .breakouts import Breakouts
from .clock import ENDED, Clock, ClockError
from .contacts import Contacts, Match
from .decks import Deck
from .events import EventLog
from .memory import forgettable
from .people import (
    CO_HOST_SLOTS,
    FACILITATOR,
    IN_LOBBY,
    IN_ROOM,
    MIN_LOBBY,
    PARTICIPANT,
    PEOPLE_PER_SEAT,
    REMOVED,
    MeetingError,
    Notice,
    Person,
    clean_name,
    clean_text,
    present_people,
    skeleton,
    unique_name,
)
from .rotation import PromptPool, Rotation, RotationError
from .runner import planned_end, projected_end, timeline
from .turns import Turns

__all__ = [
    "AFTER_END",
    "EVERYONE",
    "FACILITATOR",
    "FACILITATORS",
    "IN_LOBBY",
    "IN_ROOM",
    "PARTICIPANT",
    "REMOVED",
    "Meeting",
    "MeetingError",
    "Notice",
    "Person",
    "clean_name",
    "clean_text",
]


@dataclass
class Meeting:
    """One call: agenda and clock, people and roles, lobby and lock, icebreakers, chat, log."""

    id: str
    """Public id, in the participant link."""
    agenda: Agenda
    """The plan."""
    decks: dict[str, Deck]
    """The decks the agenda uses, kept with the meeting so it survives deck file edits."""
    created_at: float
    """When the meeting was created."""
    title: str = ""
    """Shown at the top; defaults to the agenda's title."""
    scheduled_at: float | None = None
    """When the host plans to start, if they said."""
    max_people: int = 16
    """Room capacity, facilitators included."""
    lobby: bool = False
    """New participants wait until a facilitator admits them."""
    locked: bool = False
    """Nobody new may come in."""
    clock: Clock = field(init=False)
    """Agenda timing."""
    turns: Turns = field(init=False)
    """Icebreaker turns: each item's round, the prompts used, the speaker's timebox."""
    breakouts: Breakouts = field(init=False)
    """Rounds in small groups: the round in play, who met whom, who avoids whom."""
    people: dict[str, Person] = field(default_factory=dict)
    """Everyone who came, in arrival order."""
    chat: list[dict[str, Any]] = field(default_factory=list)
    """Recent chat messages, oldest first."""
    chat_seq: int = 0
    """Last chat message number."""
    log: EventLog = field(default_factory=EventLog)
    """What happened, for the recap."""
    talk: dict[str, float] = field(default_factory=dict)
    """Seconds each person has been the active speaker (from audio levels)."""
    notes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Private notes: author id -> (person id or "general") -> text. Only the author reads them."""
    sharer: str | None = None
    """Who is sharing their screen (one at a time); not kept across restarts, as media is not."""
    reaction_budget: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Each person's reaction tokens and when they were counted (rate limit; not saved)."""
    contacts: Contacts = field(default_factory=Contacts)
    """Stay-in-touch choices and contact lines: each person reads only their own."""
    shapes: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    """Name -> its look-alike skeleton, so a join does not work out everyone's again."""
    forgotten: list[str] = field(default_factory=list, repr=False, compare=False)
    """People forgotten to make room, whose sessions the transport has yet to delete."""

    def __post_init__(self) -> None:
        self.title = self.title or self.agenda.title
        self.clock = Clock(self.agenda)
        self.turns = self._new_turns()
        self.breakouts = self._new_breakouts()

    def _new_turns(self) -> Turns:
        return Turns(
            self.agenda, self.decks, self.clock, self.log, self.people, PromptPool(self.id), self.id
        )

    def _new_breakouts(self) -> Breakouts:
        # The pool is looked up each time: restoring a snapshot replaces the Turns' pool.
        return Breakouts(
            self.agenda, self.decks, self.clock, self.people, lambda: self.turns.prompts, self.id
        )

    @property
    def rotation(self) -> Rotation | None:
        """The icebreaker round in play, during icebreaker items."""
        return self.turns.current

    # Arrivals and departures

    def arrive(self, person_id: str, name: object, role: str, now: float) -> Person:
        """Let someone in (or into the lobby), or refuse with a MeetingError.

        ``person_id`` and ``role`` come from the session. A returning person keeps their place;
        a removed one never gets back in.
        """
        person = self.people.get(person_id)
        if person is not None and person.state == REMOVED:
            raise MeetingError("removed", "You were removed from this meeting.")
        if self.clock.status == ENDED and (person is None or person.state != IN_ROOM):
            # People who were in may come back to say goodbye in the chat; nobody new.
            raise MeetingError("meeting-ended", "This meeting has ended.")
        display = self.name_for(person_id, clean_name(name))
        if person is not None:
            person.online = True
            person.name = display
            if role == FACILITATOR:
                person.role = FACILITATOR
                person.state = IN_ROOM
                person.creator = True
            if person.state == IN_ROOM:
                self.turns.join(person, now)
                self.breakouts.join(person, now)
            self.log.add(now, "join", person=person.id, name=display, again=True)
            return person
        host = role == FACILITATOR
        if self.locked and not host:
            raise MeetingError("room-locked", "This meeting is locked; nobody new can join.")
        state = IN_LOBBY if self.lobby and not host else IN_ROOM
        self.check_room_for_newcomer(state, host)
        person = Person(person_id, display, role, state, now, creator=host)
        self.people[person_id] = person
        self.log.add(now, "join", person=person_id, name=display, state=state)
        if state == IN_ROOM:
            self.turns.join(person, now)
            self.breakouts.join(person, now)
        return person

    def depart(self, person_id: str, now: float) -> None:
        """Someone's last connection closed: they are offline and out of the speaker line."""
        person = self.people.get(person_id)
        if person is None or not person.online:
            return
        person.online = False
        if self.sharer == person_id:
            self.sharer = None
        self.log.add(now, "leave", person=person_id)
        self.turns.drop(person_id, now)
        self.breakouts.drop(person_id, now, offline=True)

    def count_in_room(self) -> int:
        """People in the room who are online (people knocking at the lobby take no seat)."""
        return sum(1 for p in self.people.values() if p.online and p.state == IN_ROOM)

    # Bounds (issue 17): a stranger with the link cannot grow the meeting without limit.

    def lobby_limit(self) -> int:
        """How many people may wait in the lobby at once."""
        return max(MIN_LOBBY, self.max_people)

    def people_limit(self) -> int:
        """How many people (in, waiting, gone or removed; facilitators too) one meeting
        remembers at most; the last CO_HOST_SLOTS of them only facilitators may take."""
        return PEOPLE_PER_SEAT * max(self.max_people, MIN_LOBBY)

    def count_in_lobby(self) -> int:
        """People waiting in the lobby who are online."""
        return sum(1 for p in self.people.values() if p.online and p.state == IN_LOBBY)

    def count_key_holders(self) -> int:
        """People in the room and online who came in with the facilitator link."""
        return sum(1 for p in self.present() if p.creator)

    def check_room_for_newcomer(self, state: str, host: bool = False) -> None:
        """Refuse a newcomer when the room, the lobby or the meeting's memory is full.

        ``host``: they came with the facilitator link. Up to CO_HOST_SLOTS of them get a seat
        even in a full room; more count like everyone else. The meeting's memory bounds
        everyone: people who left no trace are forgotten first (``memory.py``), and its last
        CO_HOST_SLOTS places are kept for facilitators, so they can always come in.
        """
        co_host = host and self.count_key_holders() < CO_HOST_SLOTS
        if not co_host and self.count_in_room() >= self.max_people:
            raise MeetingError("room-full", f"This meeting is full ({self.max_people} people).")
        if state == IN_LOBBY and self.count_in_lobby() >= self.lobby_limit():
            raise MeetingError(
                "lobby-full", "Too many people are waiting to be let in. Try again in a moment."
            )
        limit = self.people_limit() - (0 if host else CO_HOST_SLOTS)
        excess = len(self.people) - limit + 1
        if excess > 0:
            for person_id in forgettable(self)[:excess]:
                self.forget(person_id)
        if len(self.people) >= limit:
            raise MeetingError(
                "room-full", "This meeting has had as many visitors as it can remember."
            )

    def forget(self, person_id: str) -> None:
        """Drop someone who is gone and left no trace (see ``memory.py``): a browser of
        theirs that comes back is a newcomer. The transport deletes their sessions
        (``take_forgotten``)."""
        if self.people.pop(person_id, None) is not None:
            self.breakouts.forget(person_id)
            self.reaction_budget.pop(person_id, None)
            self.forgotten.append(person_id)

    def take_forgotten(self) -> list[str]:
        """The people forgotten since the last call, for the transport to drop their sessions."""
        forgotten, self.forgotten = self.forgotten, []
        return forgotten

    def lobby_crowded(self) -> bool:
        """True when the lobby is at least half full: facilitators are told."""
        return self.lobby and self.count_in_lobby() * 2 >= self.lobby_limit()

    def name_for(self, person_id: str, name: str) -> str:
        """``name``, made unlike the names of everyone else in the meeting ("Ana (2)")."""
        others = (p.name for p in self.people.values() if p.id != person_id)
        return unique_name(name, others, self.shape_of)

    def shape_of(self, name: str) -> str:
        """The look-alike skeleton of a name (remembered for the names of the meeting)."""
        shape = self.shapes.get(name)
        if shape is None:
            if len(self.shapes) > 2 * self.people_limit():
                self.shapes.clear()  # names tried and dropped: start again
            shape = self.shapes[name] = skeleton(name)
        return shape

    def present(self) -> list[Person]:
        """People in the room and online, in arrival order."""
        return present_people(self.people)

    def is_facilitator(self, person_id: str) -> bool:
        """True when this person currently holds the facilitator role."""
        person = self.people.get(person_id)
        return person is not None and person.role == FACILITATOR and person.state == IN_ROOM

    # Requests

    def act(self, person_id: str, action: str, args: Mapping[str, Any], now: float) -> list[Notice]:
        """Carry out ``action`` for the person, after checking they may; return the notices."""
        person = self.people.get(person_id)
        if person is None or person.state == REMOVED:
            raise MeetingError("not-allowed", "You are not in this meeting.")
        if person.state != IN_ROOM:
            raise MeetingError("in-lobby", "Please wait until a facilitator lets you in.")
        handler = EVERYONE.get(action)
        if handler is None:
            handler = FACILITATORS.get(action)
            if handler is None:
                raise MeetingError("unknown-action", f"Unknown action {action!r}.")
            if person.role != FACILITATOR:
                raise MeetingError("not-allowed", "Only facilitators can do that.")
        if self.clock.status == ENDED and action not in AFTER_END:
            raise MeetingError("meeting-ended", "This meeting has ended.")
        try:
            notices = handler(self, person, args, now)
        except (ClockError, RotationError) as exc:
            raise MeetingError(exc.code, str(exc)) from None
        if action in FACILITATORS:
            self.log.add(now, "control", action=action, by=person.id)
        return notices + self.take_notices()

    def take_notices(self) -> list[Notice]:
        """Notices of changes no action returned (a late joiner's group, a round's end)."""
        notices, self.breakouts.outbox = self.breakouts.outbox, []
        return notices

    def is_private(self, action: str) -> bool:
        """True for actions that change nothing anyone else sees (no new state for the room)."""
        return action in PRIVATE

    def roles_if_changing(self, action: str) -> dict[str, str] | None:
        """Everyone's role, for an action that may change one (compare after it), else None."""
        if action not in ROLE_ACTIONS:
            return None
        return {p.id: p.role for p in self.people.values()}

    def is_relay_only(self, action: str) -> bool:
        """True for actions whose notices are their whole effect (a reaction): no new state."""
        return action in RELAY_ONLY

    def notes_of(self, author_id: str) -> dict[str, str]:
        """One person's own notes (nobody else's are ever handed out)."""
        return dict(self.notes.get(author_id, {}))

    def delete_notes(self, author_id: str) -> None:
        """Forget everything one person wrote: notes, stay-in-touch choices, contact line."""
        self.notes.pop(author_id, None)
        self.contacts.forget(author_id)

    def touch_of(self, person_id: str) -> dict[str, Any]:
        """One person's own stay-in-touch choices and contact line (for that person only)."""
        return self.contacts.mine(person_id)

    def matches_of(self, person_id: str) -> list[Match]:
        """The people who chose this person as they chose them, once the meeting has ended."""
        return self.contacts.matches(self.people, person_id, self.clock.status == ENDED)

    def add_talk_time(self, person_id: str, seconds: float) -> None:
        """Count time someone spent as the active speaker (reported by the media layer)."""
        if person_id in self.people and 0 < seconds < 5:
            self.talk[person_id] = self.talk.get(person_id, 0.0) + seconds

    def tick(self, now: float) -> list[Notice]:
        """Time-driven changes: time-left warnings (each once) and a hard stop."""
        notices = [
            Notice("warning", {"threshold": t, "left": round(self.clock.meeting_left(now))})
            for t in self.clock.due_warnings(now)
        ]
        self.breakouts.tick(now)
        if self.clock.hard_stop_due(now):
            notices += self.end(now)
        return notices + self.take_notices()

    # Rounds in small groups

    def media_spaces(self) -> dict[str, str]:
        """Who may see and hear whom: person id -> group id ("" for the main room); empty
        outside rounds, when everyone is together."""
        return self.breakouts.spaces()

    def chat_for(self, person_id: str) -> list[dict[str, Any]]:
        """The chat history one person may read: the main room's, and their own groups'."""
        return [
            message
            for message in self.chat
            if message.get("group") is None
            or self.breakouts.may_read(person_id, str(message["group"]))
        ]

    def people_met(self, person_id: str) -> list[str]:
        """Everyone this person was in a group with, and everyone in the main call with them."""
        return self.breakouts.met_by(person_id)

    # Views

    def view(self, viewer_id: str, now: float) -> dict[str, Any]:
        """The room as one person may see it (facilitators see notes and the lobby)."""
        host = self.is_facilitator(viewer_id)
        return {**self.shared_view(host, now), **self.own_view(viewer_id, host, now)}

    def own_view(self, viewer_id: str, host: bool, now: float) -> dict[str, Any]:
        """The part of a person's view that is theirs alone: who they are, their group, whom
        they keep apart from (``view`` adds ``shared_view``)."""
        viewer = self.people.get(viewer_id)
        return {
            "you": viewer.to_dict() if viewer else None,
            "groups": self.breakouts.view(viewer_id, host, now),
            "avoiding": self.breakouts.avoiding(viewer_id),
        }

    def shared_view(self, host: bool, now: float) -> dict[str, Any]:
        """The part of the view every participant sees alike (``host``: every facilitator),
        so a change is built once for a whole room, not once per person."""
        clock = self.clock
        rows = []
        for row in timeline(clock, now):
            data = row.to_dict()
            item = self.agenda.items[row.index]
            data["deck_title"] = self.decks[item.icebreaker].title if item.icebreaker else None
            data["per_speaker"] = item.per_speaker if item.icebreaker else None
            if host:
                data["notes"] = item.notes
            rows.append(data)
        spoken = set(self.rotation.spoken) if self.rotation else set()
        people = [
            {
                "id": p.id,
                "name": p.name,
                "role": p.role,
                "state": p.state,
                "online": p.online,
                "hand": p.hand,
                "muted": p.muted,
                "opted_out": p.opted_out,
                "camera": p.camera,
                "mic": p.mic,
                "spoken": p.id in spoken,
                "creator": p.creator,
            }
            for p in self.people.values()
            if (p.state == IN_ROOM and p.online) or (host and p.state == IN_LOBBY and p.online)
        ]
        rest = sum(i.duration for i in self.agenda.items[clock.index + 1 :])
        return {
            "meeting": {
                "id": self.id,
                "title": self.title,
                "agenda_title": self.agenda.title,
                "status": clock.status,
                "locked": self.locked,
                "lobby": self.lobby,
                "max_people": self.max_people,
                "scheduled_at": self.scheduled_at,
                "hard_stop": self.agenda.hard_stop,
                "time_limit": self.agenda.time_limit,
                **self._lobby_view(host),
                "sharing": self.sharer,
                "hard_stop_grace": HARD_STOP_GRACE,
            },
            "clock": {
                "status": clock.status,
                "index": clock.index,
                "meeting": clock.meeting.to_dict(),
                "item": clock.item.to_dict(),
                "speaker": clock.speaker.to_dict() if clock.speaker else None,
                "warn_at": list(self.agenda.warn_at),
                "fired": list(clock.fired),
                "started_at": clock.started_at,
                "ended_at": clock.ended_at,
                "rest_after_item": rest,
                "planned_end": planned_end(clock, now),
                "projected_end": projected_end(clock, now),
            },
            "agenda": rows,
            "icebreaker": self.turns.view(),
            "people": people,
            "server_time": now,
        }

    def _lobby_view(self, host: bool) -> dict[str, Any]:
        """For facilitators: how many are knocking, and a notice when it is a crowd."""
        if not host:
            return {}
        crowded = self.lobby_crowded()
        return {
            "lobby_waiting": self.count_in_lobby(),
            "lobby_notice": "Many people are knocking at the lobby." if crowded else None,
        }

    # The clock

    def start(self, now: float) -> None:
        """Start the call at the first item (and its icebreaker, if it has one)."""
        self.clock.start(now, self.log)
        self.turns.enter(now)
        self.breakouts.enter(now)

    def go_to_item(self, index: int, now: float) -> None:
        """Make item ``index`` current; an icebreaker round left midway carries on on return.

        The move is checked before anything changes, so a refused one loses no turn.
        """
        self.clock.check_go_to(index)
        self.turns.leave(now)
        self.breakouts.leave(now)
        self.clock.go_to(index, now, self.log)
        self.turns.enter(now)
        self.breakouts.enter(now)

    def end(self, now: float) -> list[Notice]:
        """End the call: turns in progress are done, hands go down; return the notices."""
        self.clock.check_end()
        self.turns.close(now)
        self.breakouts.close(now)
        self.clock.end(now, self.log)
        self.sharer = None
        for person in self.people.values():
            person.hand = None
        return [Notice("ended", {"ended_at": now})]

    # Snapshots

    def to_dict(self) -> dict[str, Any]:
        """Return everything the meeting knows as JSON-ready data."""
        return {
            "id": self.id,
            "agenda": self.agenda.to_dict(),
            "decks": {k: d.to_dict() for k, d in self.decks.items()},
            "created_at": self.created_at,
            "title": self.title,
            "scheduled_at": self.scheduled_at,
            "max_people": self.max_people,
            "lobby": self.lobby,
            "locked": self.locked,
            "clock": self.clock.to_dict(),
            "turns": self.turns.to_dict(),
            "breakouts": self.breakouts.to_dict(),
            "people": [p.to_dict() for p in self.people.values()],
            "chat": list(self.chat),
            "chat_seq": self.chat_seq,
            "log": self.log.to_list(),
            "talk": dict(self.talk),
            "notes": {author: dict(notes) for author, notes in self.notes.items()},
            "contacts": self.contacts.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Meeting:
        """Rebuild a meeting from ``to_dict``: time that passed meanwhile has elapsed."""
        agenda = Agenda.from_dict(data["agenda"])
        meeting = cls(
            id=str(data["id"]),
            agenda=agenda,
            decks={k: Deck.from_dict(d) for k, d in data["decks"].items()},
            created_at=float(data["created_at"]),
            title=str(data.get("title", "")),
            scheduled_at=data.get("scheduled_at"),
            max_people=int(data.get("max_people", 16)),
            lobby=bool(data.get("lobby", False)),
            locked=bool(data.get("locked", False)),
            people={p["id"]: Person.from_dict(p) for p in data.get("people", [])},
            chat=list(data.get("chat", [])),
            chat_seq=int(data.get("chat_seq", 0)),
            log=EventLog.from_list(data.get("log", [])),
            talk={str(k): float(v) for k, v in data.get("talk", {}).items()},
            notes={
                str(author): {str(k): str(v) for k, v in notes.items()}
                for author, notes in data.get("notes", {}).items()
            },
            contacts=Contacts.from_dict(data.get("contacts")),
        )
        meeting.clock = Clock.from_dict(agenda, data["clock"])
        meeting.turns = meeting._new_turns()
        meeting.turns.restore(data)
        meeting.breakouts = meeting._new_breakouts()
        meeting.breakouts.restore(data.get("breakouts"))
        return meeting

    def restored(self) -> None:
        """After a restart nobody is connected yet: everyone is offline until they reconnect."""
        for person in self.people.values():
            person.online = False
