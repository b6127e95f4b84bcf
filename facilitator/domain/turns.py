"""Icebreaker turns across a meeting: one Rotation per icebreaker item, kept while the clock
moves, the prompt pool, the speaker's timebox on the clock, and the turn log.

Leaving an item in the middle of a turn holds that turn (speaker, prompt and time left);
coming back resumes it, so going back and forth never starts a round over or logs a turn
that did not happen. People who came or went meanwhile are reconciled on the way back in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .agenda import Agenda
from .clock import PAUSED, RUNNING, Clock, Countdown
from .decks import Deck
from .events import EventLog
from .people import Person, present_people
from .rotation import DONE, LEFT, PASSED, PromptDraw, PromptPool, Rotation


@dataclass
class Turns:
    """Who speaks in each icebreaker item, driven by the clock and the people present."""

    agenda: Agenda
    """The plan: which items have an icebreaker, with what order and timebox."""
    decks: Mapping[str, Deck]
    """The decks prompts are drawn from."""
    clock: Clock
    """The meeting's clock: the current item and the speaker's timebox."""
    log: EventLog
    """Where finished turns are logged for the recap."""
    people: Mapping[str, Person]
    """Everyone who came to the meeting (the meeting's own mapping)."""
    prompts: PromptPool
    """Prompts already used, so none repeats in the meeting."""
    seed: str = ""
    """Seeds each item's shuffles (the meeting id)."""
    rotations: dict[int, Rotation] = field(default_factory=dict)
    """Each icebreaker item's rotation so far, by item index."""
    held: dict[int, Countdown] = field(default_factory=dict)
    """The frozen timebox of a turn in progress when the clock left its item, by item index."""
    active: int | None = None
    """The item whose rotation is in play, or None outside icebreaker items."""

    # Reading

    @property
    def current(self) -> Rotation | None:
        """The rotation in play, or None outside icebreaker items."""
        return self.rotations.get(self.active) if self.active is not None else None

    def remembered(self) -> set[str]:
        """Everyone an icebreaker round of this meeting lines up or remembers a turn of."""
        found: set[str] = set()
        for rotation in self.rotations.values():
            found.update(rotation.queue, rotation.had_turn, rotation.spoken, rotation.history)
            found.update(rotation.passed)
            if rotation.current is not None:
                found.add(rotation.current)
        return found

    def can_pass(self, person_id: str) -> bool:
        """True when this person has the floor in the rotation in play."""
        rotation = self.current
        return rotation is not None and rotation.can_pass(person_id)

    def view(self) -> dict[str, Any] | None:
        """The icebreaker card everyone sees, or None outside icebreaker items."""
        rotation = self.current
        if rotation is None or self.active is None:
            return None
        deck = self.decks[rotation.deck_id]
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
            "per_speaker": self.agenda.items[self.active].per_speaker,
            "finished": rotation.finished,
        }

    # The clock moves

    def enter(self, now: float) -> None:
        """The clock entered its current item: resume that item's round, or line people up."""
        self.active = None
        self.clock.stop_speaker()
        index = self.clock.index
        item = self.agenda.items[index]
        if not item.icebreaker or self.clock.status not in (RUNNING, PAUSED):
            return
        if item.groups is not None:
            return  # the deck is for prompt cards inside each group, not a turn for everyone
        self.active = index
        rotation = self.rotations.get(index)
        if rotation is None:
            rotation = Rotation(
                deck_id=item.icebreaker,
                order=item.order,
                rounds=item.rounds,
                seed=f"{self.seed}:{index}:{len(self.log.events)}",
            )
            self.rotations[index] = rotation
            rotation.begin(self._everyone(), self._draw(), now)
            self._sync_speaker(now)
            return
        held = self.held.pop(index, None)
        if rotation.current is not None and held is not None:
            self.clock.resume_speaker(held, now)  # the same turn, with the time it had left
        else:
            self._sync_speaker(now)
        self._reconcile(rotation, now)

    def leave(self, now: float) -> None:
        """The clock is about to leave the item: hold the turn in progress for its return."""
        rotation = self.current
        speaker = self.clock.hold_speaker(now)
        if rotation is not None and rotation.current is not None and speaker is not None:
            assert self.active is not None
            self.held[self.active] = speaker
        self.active = None

    def close(self, now: float) -> None:
        """The meeting ends: the turn in progress, and every held one, are done."""
        if self.current is not None:
            self._end_turn(DONE, now)
        for index, speaker in sorted(self.held.items()):
            self._log_turn(index, self.rotations[index], DONE, speaker, now)
        self.held.clear()
        self.active = None
        self.clock.stop_speaker()

    # People come and go

    def join(self, person: Person, now: float) -> None:
        """Someone is in the room now: they join the end of the line (unless sitting out)."""
        rotation = self.current
        if rotation is not None and not person.opted_out:
            rotation.join(person.id)
            if rotation.current is None and rotation.queue:
                # The line was empty (or done): the newcomer gets the floor straight away.
                rotation.next_turn(self._draw(), now, self._everyone())
                self._sync_speaker(now)

    def drop(self, person_id: str, now: float, outcome: str = LEFT) -> None:
        """Someone left (or sits out): out of the line, and off the floor if they had it.

        A turn cut short this way ends with ``outcome`` (``left``, or ``sat-out``).
        """
        rotation = self.current
        if rotation is None:
            return
        rotation.drop(person_id)
        if rotation.current == person_id:
            self.advance(outcome, now)

    # Facilitator and speaker steps

    def advance(self, outcome: str, now: float) -> None:
        """End the current turn with ``outcome`` and give the floor to the next in line."""
        rotation = self.current
        if rotation is None:
            return
        self._end_turn(outcome, now)
        rotation.next_turn(self._draw(), now, self._everyone())
        self._sync_speaker(now)

    def back(self, now: float) -> None:
        """Give the floor back to the previous speaker who is still here (RotationError if
        there is none)."""
        rotation = self.current
        if rotation is None:
            return
        rotation.back(self._draw(), now, {p.id for p in present_people(self.people)})
        self._sync_speaker(now)

    def reshuffle(self) -> None:
        """Shuffle who is still waiting in this round (who spoke, and the order so far, stay)."""
        rotation = self.current
        if rotation is not None:
            rotation.reshuffle()

    # Internals

    def _draw(self) -> PromptDraw:
        return PromptDraw(self.prompts, {d.id: d.prompts for d in self.decks.values()})

    def _everyone(self) -> list[tuple[str, str]]:
        return [(p.id, p.name) for p in present_people(self.people) if not p.opted_out]

    def _reconcile(self, rotation: Rotation, now: float) -> None:
        """Bring a resumed rotation up to date with who is here now."""
        here = {pid for pid, _ in self._everyone()}
        for person_id in [p for p in rotation.queue if p not in here]:
            rotation.drop(person_id)
        if rotation.current is not None and rotation.current not in here:
            self.advance(LEFT, now)
        for person in present_people(self.people):
            self.join(person, now)

    def _end_turn(self, outcome: str, now: float) -> None:
        rotation = self.current
        if rotation is not None and self.active is not None:
            self._log_turn(self.active, rotation, outcome, self.clock.speaker, now)

    def _log_turn(
        self, index: int, rotation: Rotation, outcome: str, speaker: Countdown | None, now: float
    ) -> None:
        spent = speaker.spent(now) if speaker else 0.0
        planned = speaker.given if speaker else 0.0
        person = self.people.get(rotation.current or "")
        turn = rotation.end_turn(outcome, spent, planned)
        if turn is not None:
            self.log.add(
                now,
                "turn",
                item=index,
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
        rotation = self.current
        if rotation is not None and rotation.current is not None and self.active is not None:
            self.clock.start_speaker(self.agenda.items[self.active].per_speaker, now)
        else:
            self.clock.stop_speaker()

    # Snapshots

    def to_dict(self) -> dict[str, Any]:
        """Return the rounds, held turns and used prompts as JSON-ready data."""
        return {
            "active": self.active,
            "rotations": {str(i): r.to_dict() for i, r in self.rotations.items()},
            "held": {str(i): c.to_dict() for i, c in self.held.items()},
            "prompts": self.prompts.to_dict(),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back the state stored by ``to_dict``, or by an older snapshot that kept only
        the rotation in play (``rotation``) and the pool (``prompts``) at the top level."""
        turns = data.get("turns")
        if turns is None:
            self.prompts = PromptPool.from_dict(data["prompts"])
            rotation = data.get("rotation")
            self.rotations = {self.clock.index: Rotation.from_dict(rotation)} if rotation else {}
            self.held = {}
            self.active = self.clock.index if rotation else None
            return
        self.prompts = PromptPool.from_dict(turns["prompts"])
        self.rotations = {int(i): Rotation.from_dict(r) for i, r in turns["rotations"].items()}
        self.held = {int(i): Countdown.from_dict(c) for i, c in turns.get("held", {}).items()}
        active = turns.get("active")
        self.active = int(active) if active is not None else None
