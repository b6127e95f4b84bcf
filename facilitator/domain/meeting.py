"""The meeting: who is in it, what they may do, and everything the call remembers.

Meeting is the one place meeting rules live. The WebSocket layer asks it to act on behalf of
a person (whose identity and role come from their session, never from a message) and relays
the notices it returns; the media layer obeys its roster and mute decisions.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .agenda import Agenda
from .clock import ENDED, PAUSED, RUNNING, WAITING, Clock, ClockError
from .decks import Deck
from .events import EventLog
from .rotation import DONE, LEFT, PASSED, SKIPPED, PromptDraw, PromptPool, Rotation, RotationError
from .runner import planned_end, projected_end, timeline

FACILITATOR, PARTICIPANT = "facilitator", "participant"
IN_ROOM, IN_LOBBY, REMOVED = "in", "lobby", "removed"
MAX_NAME = 40
MAX_CHAT_TEXT = 1000
MAX_CHAT_HISTORY = 500
MAX_PEOPLE_LIMIT = 100
MAX_NOTE = 5000
EXTEND_CHOICES = range(30, 3601)
"""Extensions from 30 s to an hour."""


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


Handler = Callable[["Meeting", Person, Mapping[str, Any], float], list[Notice]]


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
        person = Person(person_id, display, role, state, now)
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


# Actions anyone in the room may take.


def _chat(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    text = clean_text(args.get("text"))
    m.chat_seq += 1
    message = {"seq": m.chat_seq, "t": now, "person": who.id, "name": who.name, "text": text}
    m.chat.append(message)
    del m.chat[:-MAX_CHAT_HISTORY]
    m.log.add(now, "chat", person=who.id)
    return [Notice("chat", message)]


def _hand(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    raised = args.get("raised")
    if not isinstance(raised, bool):
        raise MeetingError("bad-request", "Say whether the hand is raised (true or false).")
    if raised and who.hand is None:
        who.hand = now
    elif not raised:
        who.hand = None
    return []


def _pass(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    if m.rotation is None or not m.rotation.can_pass(who.id):
        raise MeetingError("not-your-turn", "You can pass when it is your turn to speak.")
    m._advance(PASSED, now)
    return []


def _opt_out(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    value = args.get("value")
    if not isinstance(value, bool):
        raise MeetingError("bad-request", "Say whether to sit out icebreakers (true or false).")
    who.opted_out = value
    if value:
        m._rotation_leave(who.id, now)
    else:
        m._rotation_join(who, now)
    return []


def _rename(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    who.name = clean_name(args.get("name"))
    return []


def _media_state(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    camera, mic = args.get("camera"), args.get("mic")
    if not isinstance(camera, bool) or not isinstance(mic, bool):
        raise MeetingError("bad-request", "Say whether camera and mic are on (true or false).")
    who.camera = camera
    who.mic = mic and not who.muted
    return []


def _note(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    about, text = args.get("about"), args.get("text")
    if not isinstance(about, str) or (about != "general" and about not in m.people):
        raise MeetingError("bad-request", "Notes are about someone in the meeting, or general.")
    if not isinstance(text, str) or len(text) > MAX_NOTE:
        raise MeetingError("bad-request", f"A note can be up to {MAX_NOTE} characters.")
    mine = m.notes.setdefault(who.id, {})
    if text.strip():
        mine[about] = text
    else:
        mine.pop(about, None)
    return []


def _delete_notes(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.delete_notes(who.id)
    return []


def _unmute_self(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    # Facilitator mutes are lifted by a facilitator only; asking happens by raising a hand.
    if who.muted:
        raise MeetingError(
            "muted-by-facilitator", "A facilitator muted you; raise your hand to ask."
        )
    return []


# Facilitator actions.


def _target(m: Meeting, args: Mapping[str, Any]) -> Person:
    person = m.people.get(str(args.get("person", "")))
    if person is None or person.state == REMOVED:
        raise MeetingError("no-such-person", "That person is not in this meeting.")
    return person


def _seconds(args: Mapping[str, Any]) -> int:
    seconds = args.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds not in EXTEND_CHOICES:
        raise MeetingError("bad-request", "Extend by 30 seconds to one hour.")
    return seconds


def _start(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.start(now, m.log)
    m._item_changed(now)
    return []


def _pause(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.pause(now, m.log)
    return []


def _resume(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.resume(now, m.log)
    return []


def _next_item(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    if m.clock.status == WAITING:
        raise MeetingError("not-running", "Start the meeting first.")
    if m.clock.index + 1 >= len(m.agenda.items):
        raise MeetingError("last-item", "This is the last item; end the meeting instead.")
    return m._move(lambda: m.clock.next(now, m.log), now)


def _previous_item(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    if m.clock.status == WAITING:
        raise MeetingError("not-running", "Start the meeting first.")
    if m.clock.index == 0:
        raise MeetingError("first-item", "This is the first item.")
    return m._move(lambda: m.clock.previous(now, m.log), now)


def _go_to_item(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    index = args.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise MeetingError("bad-request", "Say which item (a number).")
    if m.clock.status == WAITING:
        raise MeetingError("not-running", "Start the meeting first.")
    if not 0 <= index < len(m.agenda.items):
        raise MeetingError("no-such-item", "There is no such agenda item.")
    return m._move(lambda: m.clock.go_to(index, now, m.log), now)


def _extend_item(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.extend_item(_seconds(args), now, m.log)
    return []


def _extend_call(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.extend_call(_seconds(args), now, m.log)
    return []


def _extend_speaker(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    seconds = args.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 5 <= seconds <= 600:
        raise MeetingError("bad-request", "Give the speaker 5 seconds to 10 minutes more.")
    if m.clock.speaker is None:
        raise MeetingError("no-speaker", "Nobody has the floor.")
    m.clock.extend_speaker(seconds)
    return []


def _rotation(m: Meeting) -> Rotation:
    if m.rotation is None:
        raise MeetingError("no-icebreaker", "There is no icebreaker in this item.")
    return m.rotation


def _next_speaker(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    rotation = _rotation(m)
    if rotation.current is None:
        raise MeetingError("no-speaker", "Everyone has had a turn.")
    m._advance(DONE, now)
    return []


def _skip_speaker(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    rotation = _rotation(m)
    if rotation.current is None:
        raise MeetingError("no-speaker", "Everyone has had a turn.")
    m._advance(SKIPPED, now)
    return []


def _previous_speaker(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    _rotation(m).back(m._draw(), now)
    m._sync_speaker(now)
    return []


def _reshuffle(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    _rotation(m).reshuffle()
    return []


def _setter(attribute: str, value: bool) -> Handler:
    def handler(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
        setattr(m, attribute, value)
        return []

    return handler


def _lobby_off(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    # Turning the lobby off lets in whoever is waiting, as people expect.
    m.lobby = False
    return _admit_all(m, who, args, now)


def _end_meeting(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    return m._end(now)


def _mute(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    person.muted = True
    person.mic = False
    return [Notice("muted", {"person": person.id, "by": who.name}, to=person.id)]


def _unmute(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    person.muted = False
    return [Notice("unmuted", {"person": person.id, "by": who.name}, to=person.id)]


def _remove(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    if person.id == who.id:
        raise MeetingError("bad-request", "You cannot remove yourself; leave the call instead.")
    person.state = REMOVED
    person.online = False
    person.hand = None
    person.role = PARTICIPANT
    # Out of the line only once they are out of the room, so that the next round (lined up
    # from whoever is present) cannot include them.
    m._rotation_leave(person.id, now)
    # The participant link is shared: with the lobby on, a removed person who comes back
    # in a fresh browser still has to be let in by a facilitator.
    m.lobby = True
    return [Notice("removed", {"person": person.id}, to=person.id)]


def _make_facilitator(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    if person.state != IN_ROOM:
        raise MeetingError("bad-request", "Let them in from the lobby first.")
    person.role = FACILITATOR
    return []


def _step_down(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    others = [p for p in m.present() if p.role == FACILITATOR and p.id != who.id]
    if not others:
        raise MeetingError("last-facilitator", "Make someone else a facilitator first.")
    who.role = PARTICIPANT
    return []


def _admit(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    if person.state != IN_LOBBY:
        raise MeetingError("bad-request", "That person is not waiting in the lobby.")
    person.state = IN_ROOM
    if person.online:
        # Someone who went away from the lobby joins the speaker line when they reconnect.
        m._rotation_join(person, now)
    return [Notice("admitted", {"person": person.id}, to=person.id)]


def _admit_all(m: Meeting, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    notices = []
    for person in list(m.people.values()):
        if person.state == IN_LOBBY and person.online:
            notices += _admit(m, who, {"person": person.id}, now)
    return notices


EVERYONE: dict[str, Handler] = {
    "chat": _chat,
    "hand": _hand,
    "pass": _pass,
    "opt-out": _opt_out,
    "rename": _rename,
    "unmute-self": _unmute_self,
    "media-state": _media_state,
    "note": _note,
    "delete-notes": _delete_notes,
}
FACILITATORS: dict[str, Handler] = {
    "start": _start,
    "pause": _pause,
    "resume": _resume,
    "next-item": _next_item,
    "previous-item": _previous_item,
    "go-to-item": _go_to_item,
    "extend-item": _extend_item,
    "extend-call": _extend_call,
    "extend-speaker": _extend_speaker,
    "next-speaker": _next_speaker,
    "skip-speaker": _skip_speaker,
    "previous-speaker": _previous_speaker,
    "reshuffle": _reshuffle,
    "lock": _setter("locked", True),
    "unlock": _setter("locked", False),
    "lobby-on": _setter("lobby", True),
    "lobby-off": _lobby_off,
    "end": _end_meeting,
    "mute": _mute,
    "unmute": _unmute,
    "remove": _remove,
    "make-facilitator": _make_facilitator,
    "step-down": _step_down,
    "admit": _admit,
    "admit-all": _admit_all,
}
AFTER_END = {"chat", "rename", "note", "delete-notes"}
"""Actions still allowed once the meeting has ended (people say goodbye)."""
