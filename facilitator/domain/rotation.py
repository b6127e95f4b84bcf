"""Icebreaker rotation: who speaks now, with which prompt, who is next, and who has not spoken.

One speaker at a time goes through the people present, in join order, a seeded shuffle or
alphabetically. A speaker can pass once (they go to the end of the line); the facilitator can
move on, skip, go back or reshuffle; late joiners join the end of the line and leavers drop
out. Everything is deterministic for a given seed, so a restored meeting carries on the same.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CodedError

DONE, PASSED, SKIPPED, LEFT = "done", "passed", "skipped", "left"
SAT_OUT = "sat-out"
"""The speaker chose to sit out icebreakers during their own turn."""


class RotationError(CodedError):
    """A rotation step that makes no sense now (``code`` is stable, ``str()`` is friendly)."""


@dataclass(frozen=True)
class Turn:
    """A finished turn, as the event log and recap see it."""

    person: str
    prompt: str
    started: float
    planned: float
    actual: float
    outcome: str
    """``done``, ``passed``, ``skipped`` or ``left``."""
    round: int


@dataclass
class PromptPool:
    """Prompts drawn without repeats within a meeting, per deck, reproducibly from a seed."""

    seed: str
    """Seeds the draws; the meeting id is a good one."""
    used: dict[str, list[int]] = field(default_factory=dict)
    """Per deck id, the indexes of prompts already drawn."""

    def draw(self, deck_id: str, prompts: Sequence[str]) -> str:
        """Draw an unused prompt; once a deck is used up it starts over."""
        used = self.used.setdefault(deck_id, [])
        last = None
        if len(used) >= len(prompts):
            last = used[-1]
            used.clear()
        # Starting over, never begin with the prompt that was just used.
        free = [i for i in range(len(prompts)) if i not in set(used) and i != last] or [0]
        rng = random.Random(f"{self.seed}:{deck_id}:{len(used)}")
        choice = rng.choice(free)
        used.append(choice)
        return prompts[choice]

    def to_dict(self) -> dict[str, Any]:
        """Return the pool as JSON-ready data."""
        return {"seed": self.seed, "used": {k: list(v) for k, v in self.used.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PromptPool:
        """Rebuild a pool stored by ``to_dict``."""
        used = {str(k): [int(i) for i in v] for k, v in data.get("used", {}).items()}
        return cls(str(data["seed"]), used)


@dataclass
class Rotation:
    """The speaker order of one icebreaker item."""

    deck_id: str
    """The deck prompts are drawn from."""
    order: str = "join"
    """``join``, ``shuffle`` or ``alphabetical``."""
    rounds: int = 1
    """How many times to go through everyone."""
    seed: str = ""
    """Makes shuffles reproducible."""
    round: int = 1
    """The round in progress, from 1."""
    queue: list[str] = field(default_factory=list)
    """People still to speak this round, in order (the current speaker is not in it)."""
    current: str | None = None
    """Who has the floor."""
    prompt: str | None = None
    """The current speaker's prompt."""
    turn_started: float | None = None
    """When the current turn started."""
    had_turn: list[str] = field(default_factory=list)
    """Who has had their turn this round (done, skipped, or passed a second time)."""
    spoken: list[str] = field(default_factory=list)
    """Who has finished a turn in this item, in order."""
    history: list[str] = field(default_factory=list)
    """Every speaker so far in this item (for "go back")."""
    passed: list[str] = field(default_factory=list)
    """Who has used their pass this round."""
    shuffles: int = 0
    """Reshuffles so far (part of the shuffle seed)."""
    finished: bool = False
    """True once every round is done."""

    # Reading

    def up_next(self) -> str | None:
        """Who speaks after the current speaker in this round."""
        return self.queue[0] if self.queue else None

    def not_yet_spoken(self) -> list[str]:
        """People waiting for their first turn in this item (current speaker included)."""
        waiting = ([self.current] if self.current else []) + self.queue
        return [p for p in waiting if p not in self.spoken]

    # Steps

    def begin(self, people: Sequence[tuple[str, str]], draw: PromptDraw, now: float) -> None:
        """Line up ``(id, name)`` people and give the first one the floor."""
        self.queue = self._ordered(people)
        self._next_speaker(draw, now)

    def end_turn(self, outcome: str, spent: float, planned: float) -> Turn | None:
        """Close the current turn with ``outcome``; a first pass sends the speaker to the back."""
        if self.current is None:
            return None
        assert self.prompt is not None and self.turn_started is not None
        turn = Turn(
            self.current, self.prompt, self.turn_started, planned, spent, outcome, self.round
        )
        if outcome == PASSED and self.current not in self.passed:
            self.passed.append(self.current)
            self.queue.append(self.current)
        else:
            if outcome not in (LEFT, SAT_OUT):  # dropped out mid-turn: theirs again on return
                self.had_turn.append(self.current)
            if outcome == DONE and self.current not in self.spoken:
                self.spoken.append(self.current)
        self.current = self.prompt = self.turn_started = None
        return turn

    def next_turn(self, draw: PromptDraw, now: float, everyone: Sequence[tuple[str, str]]) -> None:
        """Give the floor to the next in line, lining ``everyone`` up again for a new round."""
        if not self.queue and self.round < self.rounds and everyone:
            self.round += 1
            self.passed.clear()
            self.had_turn.clear()
            self.queue = self._ordered(everyone)
        self._next_speaker(draw, now)

    def can_pass(self, person: str) -> bool:
        """True when ``person`` has the floor (passing twice simply ends their turn)."""
        return self.current == person

    def back(self, draw: PromptDraw, now: float, present: Collection[str] | None = None) -> str:
        """Give the floor back to the previous speaker who is still ``present``; the current
        one goes first in line."""
        if self.current is not None:
            # The current turn is abandoned, not finished: it leaves no trace.
            self.history.pop()
            self.queue.insert(0, self.current)
        while self.history and present is not None and self.history[-1] not in present:
            self.history.pop()  # they left: nobody to give the floor back to
        if not self.history:
            if self.current is not None:
                self.history.append(self.queue.pop(0))
            raise RotationError("no-previous-speaker", "Nobody has spoken before this turn.")
        previous = self.history.pop()
        if previous in self.queue:
            self.queue.remove(previous)
        self.queue.insert(0, previous)
        self._next_speaker(draw, now)
        return previous

    def reshuffle(self) -> None:
        """Shuffle who is still waiting this round."""
        self.shuffles += 1
        random.Random(f"{self.seed}:reshuffle:{self.shuffles}").shuffle(self.queue)

    def join(self, person: str) -> None:
        """A late joiner goes to the end of the line (unless already lined up or done)."""
        if person == self.current or person in self.queue or person in self.had_turn:
            return
        self.queue.append(person)

    def drop(self, person: str) -> None:
        """Take someone out of the line (they left or opted out); see ``advance`` for the floor."""
        if person in self.queue:
            self.queue.remove(person)

    # Internals

    def _ordered(self, people: Sequence[tuple[str, str]]) -> list[str]:
        if self.order == "alphabetical":
            return [pid for pid, name in sorted(people, key=lambda p: (p[1].casefold(), p[0]))]
        ids = [pid for pid, _ in people]
        if self.order == "shuffle":
            random.Random(f"{self.seed}:round:{self.round}").shuffle(ids)
        return ids

    def _next_speaker(self, draw: PromptDraw, now: float) -> None:
        if self.queue:
            self.current = self.queue.pop(0)
            self.prompt = draw(self.deck_id)
            self.turn_started = now
            self.history.append(self.current)
            self.finished = False
        else:
            self.current = self.prompt = self.turn_started = None
            self.finished = True

    # Snapshots

    def to_dict(self) -> dict[str, Any]:
        """Return the rotation as JSON-ready data."""
        return {
            "deck_id": self.deck_id,
            "order": self.order,
            "rounds": self.rounds,
            "seed": self.seed,
            "round": self.round,
            "queue": list(self.queue),
            "current": self.current,
            "prompt": self.prompt,
            "turn_started": self.turn_started,
            "spoken": list(self.spoken),
            "had_turn": list(self.had_turn),
            "history": list(self.history),
            "passed": list(self.passed),
            "shuffles": self.shuffles,
            "finished": self.finished,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rotation:
        """Rebuild a rotation stored by ``to_dict``."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class PromptDraw:
    """Draws the next prompt for a deck (a callable so the rotation needs no deck lookups)."""

    def __init__(self, pool: PromptPool, decks: Mapping[str, Sequence[str]]) -> None:
        self.pool = pool
        self.decks = decks

    def __call__(self, deck_id: str) -> str:
        return self.pool.draw(deck_id, self.decks[deck_id])
