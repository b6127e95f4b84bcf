"""The meeting: who is in it, what they may do, and everything the call remembers.

Meeting is the one place meeting rules live. The WebSocket layer asks it to act on behalf of
a person (whose identity and role come from their session, never from a message) and relays
the notices it returns; the media layer obeys its roster and mute decisions. The actions
themselves are in ``actions.py``; people, names and refusals in ``people.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .actions import AFTER_END, EVERYONE, FACILITATORS
from .agenda import HARD_STOP_GRACE, Agenda
from .clock import ENDED, PAUSED, RUNNING, Clock, ClockError
from .decks import Deck
from .events import EventLog
from .people import (
    FACILITATOR,
    IN_LOBBY,
    IN_ROOM,
    PARTICIPANT,
    REMOVED,
    MeetingError,
    Notice,
    Person,
    clean_name,
    clean_text,
)
from .rotation import DONE, LEFT, PASSED, PromptDraw, PromptPool, Rotation, RotationError
from .runner import planned_end, projected_end, timeline

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
    rotation: Rotation | None = None
    """The icebreaker in play, during icebreaker items."""
    prompts: PromptPool = field(init=False)
    """Prompts already used, so none repeats."""
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

    def __post_init__(self) -> None:
        self.title = self.title or self.agenda.title
        self.clock = Clock(self.agenda)
        self.prompts = PromptPool(self.id)

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
        display = clean_name(name)
        if person is not None:
            person.online = True
            person.name = display
            if role == FACILITATOR:
                person.role = FACILITATOR
                person.state = IN_ROOM
                person.creator = True
            if person.state == IN_ROOM:
                self._rotation_join(person, now)
            self.log.add(now, "join", person=person.id, name=display, again=True)
            return person
        host = role == FACILITATOR
        if self.locked and not host:
            raise MeetingError("room-locked", "This meeting is locked; nobody new can join.")
        if not host and self.count_in_room() >= self.max_people:
            raise MeetingError("room-full", f"This meeting is full ({self.max_people} people).")
        state = IN_LOBBY if self.lobby and not host else IN_ROOM
        person = Person(person_id, display, role, state, now, creator=host)
        self.people[person_id] = person
        self.log.add(now, "join", person=person_id, name=display, state=state)
        if state == IN_ROOM:
            self._rotation_join(person, now)
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
        self._rotation_leave(person_id, now)

    def count_in_room(self) -> int:
        """People in the room or the lobby who are online."""
        return sum(1 for p in self.people.values() if p.online and p.state != REMOVED)

    def present(self) -> list[Person]:
        """People in the room and online, in arrival order."""
        return [p for p in self.people.values() if p.state == IN_ROOM and p.online]

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
        return notices

    def notes_of(self, author_id: str) -> dict[str, str]:
        """One person's own notes (nobody else's are ever handed out)."""
        return dict(self.notes.get(author_id, {}))

    def delete_notes(self, author_id: str) -> None:
        """Forget everything one person wrote."""
        self.notes.pop(author_id, None)

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
        if self.clock.hard_stop_due(now):
            notices += self._end(now)
        return notices

    # Views

    def view(self, viewer_id: str, now: float) -> dict[str, Any]:
        """The room as one person may see it (facilitators see notes and the lobby)."""
        viewer = self.people.get(viewer_id)
        host = viewer is not None and viewer.role == FACILITATOR and viewer.state == IN_ROOM
        clock = self.clock
        rows = []
        for row in timeline(clock, now):
            data = row.to_dict()
            item = self.agenda.items[row.index]
            data["icebreaker"] = self.decks[item.icebreaker].title if item.icebreaker else None
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
                "sharing": self.sharer,
                "hard_stop_grace": HARD_STOP_GRACE,
            },
            "you": viewer.to_dict() if viewer else None,
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
            "icebreaker": self._icebreaker_view(),
            "people": people,
            "server_time": now,
        }

    def _icebreaker_view(self) -> dict[str, Any] | None:
        rotation = self.rotation
        if rotation is None:
            return None
        deck = self.decks[rotation.deck_id]
        item = self.agenda.items[self.clock.index]
        return {
            "deck": deck.id,
            "title": deck.title,
            "how_it_works": deck.how_it_works,
            "speaker": rotation.current,
            "prompt": rotation.prompt,
            "up_next": rotation.up_next(),
            "not_yet_spoken": rotation.not_yet_spoken(),
            "spoken": list(rotation.spoken),
            "round": rotation.round,
            "rounds": rotation.rounds,
            "per_speaker": item.per_speaker,
            "finished": rotation.finished,
        }

    # Icebreakers

    def _draw(self) -> PromptDraw:
        return PromptDraw(self.prompts, {d.id: d.prompts for d in self.decks.values()})

    def _everyone(self) -> list[tuple[str, str]]:
        return [(p.id, p.name) for p in self.present() if not p.opted_out]

    def _rotation_join(self, person: Person, now: float) -> None:
        if self.rotation is not None and not person.opted_out:
            self.rotation.join(person.id)
            if self.rotation.current is None and self.rotation.queue:
                # The line was empty (or done): the newcomer gets the floor straight away.
                self.rotation.next_turn(self._draw(), now, self._everyone())
                self._sync_speaker(now)

    def _rotation_leave(self, person_id: str, now: float) -> None:
        if self.rotation is None:
            return
        self.rotation.drop(person_id)
        if self.rotation.current == person_id:
            self._advance(LEFT, now)

    def _advance(self, outcome: str, now: float) -> None:
        """End the current turn with ``outcome`` and give the floor to the next in line."""
        self._end_turn(outcome, now)
        assert self.rotation is not None
        self.rotation.next_turn(self._draw(), now, self._everyone())
        self._sync_speaker(now)

    def _end_turn(self, outcome: str, now: float) -> None:
        rotation = self.rotation
        assert rotation is not None
        speaker = self.clock.speaker
        spent = speaker.spent(now) if speaker else 0.0
        planned = speaker.given if speaker else 0.0
        person = self.people.get(rotation.current or "")
        turn = rotation.end_turn(outcome, spent, planned)
        if turn is not None:
            self.log.add(
                now,
                "turn",
                item=self.clock.index,
                person=turn.person,
                name=person.name if person else "",
                prompt=turn.prompt,
                planned=turn.planned,
                actual=round(turn.actual, 3),
                outcome=turn.outcome,
                passed=turn.outcome == PASSED,
                round=turn.round,
            )

    def _sync_speaker(self, now: float) -> None:
        if self.rotation is not None and self.rotation.current is not None:
            item = self.agenda.items[self.clock.index]
            self.clock.start_speaker(item.per_speaker, now)
        else:
            self.clock.stop_speaker()

    def _item_changing(self, now: float) -> None:
        """Close the turn in progress before the clock leaves an icebreaker item."""
        if self.rotation is not None:
            self._end_turn(DONE, now)
        self.rotation = None
        self.clock.stop_speaker()

    def _item_changed(self, now: float) -> None:
        """Line people up when the clock enters an icebreaker item."""
        item = self.agenda.items[self.clock.index]
        self.rotation = None
        self.clock.stop_speaker()
        if item.icebreaker and self.clock.status in (RUNNING, PAUSED):
            self.rotation = Rotation(
                deck_id=item.icebreaker,
                order=item.order,
                rounds=item.rounds,
                seed=f"{self.id}:{self.clock.index}:{len(self.log.events)}",
            )
            self.rotation.begin(self._everyone(), self._draw(), now)
            self._sync_speaker(now)

    def _move(self, step: Callable[[], None], now: float) -> list[Notice]:
        self._item_changing(now)
        step()
        self._item_changed(now)
        return []

    def _end(self, now: float) -> list[Notice]:
        self._item_changing(now)
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
            "rotation": self.rotation.to_dict() if self.rotation else None,
            "prompts": self.prompts.to_dict(),
            "people": [p.to_dict() for p in self.people.values()],
            "chat": list(self.chat),
            "chat_seq": self.chat_seq,
            "log": self.log.to_list(),
            "talk": dict(self.talk),
            "notes": {author: dict(notes) for author, notes in self.notes.items()},
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
        )
        meeting.clock = Clock.from_dict(agenda, data["clock"])
        rotation = data.get("rotation")
        meeting.rotation = Rotation.from_dict(rotation) if rotation else None
        meeting.prompts = PromptPool.from_dict(data["prompts"])
        meeting.people = {p["id"]: Person.from_dict(p) for p in data.get("people", [])}
        meeting.chat = list(data.get("chat", []))
        meeting.chat_seq = int(data.get("chat_seq", 0))
        meeting.log = EventLog.from_list(data.get("log", []))
        meeting.talk = {str(k): float(v) for k, v in data.get("talk", {}).items()}
        meeting.notes = {
            str(author): {str(k): str(v) for k, v in notes.items()}
            for author, notes in data.get("notes", {}).items()
        }
        return meeting

    def restored(self) -> None:
        """After a restart nobody is connected yet: everyone is offline until they reconnect."""
        for person in self.people.values():
            person.online = False
