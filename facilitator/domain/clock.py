"""The meeting clock: every time left is a deadline minus now, never a ticking counter.

Running timers are stored as absolute wall-clock deadlines and stopped ones as a remainder, so
late joiners, clock offsets and server restarts come out right by construction: restore a
snapshot after downtime and the downtime has simply elapsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import CodedError
from .agenda import HARD_STOP_GRACE, Agenda
from .events import EventLog

WAITING, RUNNING, PAUSED, ENDED = "waiting", "running", "paused", "ended"


class ClockError(CodedError):
    """A clock operation that makes no sense now (``code`` is stable, ``str()`` is friendly)."""


@dataclass
class Countdown:
    """A timer: an absolute deadline while it runs, a remainder while it is stopped."""

    remaining: float
    """Seconds left, valid while stopped."""
    deadline: float | None = None
    """Wall-clock time it reaches zero, set while running."""
    given: float = -1.0
    """Seconds given in all (the start plus extensions), for "how long did it really take"."""

    def __post_init__(self) -> None:
        if self.given < 0:
            self.given = self.remaining

    def left(self, now: float) -> float:
        """Seconds left at ``now``; negative in overtime."""
        return self.deadline - now if self.deadline is not None else self.remaining

    def run(self, now: float) -> None:
        """Start counting down from the remainder."""
        if self.deadline is None:
            self.deadline = now + self.remaining

    def stop(self, now: float) -> None:
        """Freeze at the current time left."""
        if self.deadline is not None:
            self.remaining = self.deadline - now
            self.deadline = None

    def spent(self, now: float) -> float:
        """Seconds used so far (more than given in overtime)."""
        return self.given - self.left(now)

    def add(self, seconds: float) -> None:
        """Give (or, negative, take) time."""
        self.given += seconds
        if self.deadline is not None:
            self.deadline += seconds
        else:
            self.remaining += seconds

    def to_dict(self) -> dict[str, Any]:
        """Return the countdown as JSON-ready data (the wire format clients compute from)."""
        return {"remaining": self.remaining, "deadline": self.deadline, "given": self.given}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Countdown:
        """Rebuild a countdown stored by ``to_dict``."""
        deadline = data.get("deadline")
        return cls(
            float(data["remaining"]),
            float(deadline) if deadline is not None else None,
            float(data.get("given", -1.0)),
        )


@dataclass
class Clock:
    """The agenda's timing: which item is on, the three countdowns, warnings and actual times."""

    agenda: Agenda
    """The plan being run."""
    status: str = WAITING
    """``waiting`` (not started), ``running``, ``paused`` or ``ended``."""
    index: int = 0
    """The current item."""
    meeting: Countdown = field(default_factory=lambda: Countdown(0))
    """Time left for the whole call."""
    item: Countdown = field(default_factory=lambda: Countdown(0))
    """Time left for the current item."""
    speaker: Countdown | None = None
    """Time left for the current icebreaker speaker, when there is one."""
    fired: list[int] = field(default_factory=list)
    """``warn_at`` thresholds already announced (each fires once)."""
    started_at: float | None = None
    """When the call started."""
    ended_at: float | None = None
    """When the call ended."""
    elapsed: list[float] = field(default_factory=list)
    """Seconds each item has been the running item so far."""
    first_start: list[float | None] = field(default_factory=list)
    """When each item first started."""
    last_end: list[float | None] = field(default_factory=list)
    """When each item last stopped being current."""
    segment_start: float | None = None
    """When the current item last started running (while running)."""

    def __post_init__(self) -> None:
        count = len(self.agenda.items)
        if self.status == WAITING and self.started_at is None:
            self.meeting = Countdown(float(self.agenda.time_limit))
            self.item = Countdown(float(self.agenda.items[0].duration) if count else 0.0)
        self.elapsed = self.elapsed or [0.0] * count
        self.first_start = self.first_start or [None] * count
        self.last_end = self.last_end or [None] * count

    # Reading

    @property
    def current(self) -> int | None:
        """Index of the current item, or None before the start and after the end."""
        return self.index if self.status in (RUNNING, PAUSED) else None

    def meeting_left(self, now: float) -> float:
        """Seconds left in the whole call (negative in overtime)."""
        return self.meeting.left(now)

    def item_left(self, now: float) -> float:
        """Seconds left in the current item (negative when it runs over)."""
        return self.item.left(now)

    def item_elapsed(self, index: int, now: float) -> float:
        """Seconds item ``index`` has been running, including the current stretch."""
        extra = 0.0
        if index == self.index and self.status == RUNNING and self.segment_start is not None:
            extra = now - self.segment_start
        return self.elapsed[index] + extra

    # Controls

    def start(self, now: float, log: EventLog) -> None:
        """Start the call at the first item."""
        if self.status != WAITING:
            raise ClockError("already-started", "The meeting has already started.")
        if not self.agenda.items:
            raise ClockError("no-items", "This agenda has no items.")
        self.status = RUNNING
        self.started_at = now
        self.meeting.run(now)
        self._enter(0, now, log)

    def pause(self, now: float, log: EventLog) -> None:
        """Freeze every countdown."""
        if self.status != RUNNING:
            raise ClockError("not-running", "The meeting is not running.")
        self._close_segment(now)
        for countdown in self._countdowns():
            countdown.stop(now)
        self.status = PAUSED
        log.add(now, "pause", item=self.index)

    def resume(self, now: float, log: EventLog) -> None:
        """Carry on from where the pause froze the countdowns."""
        if self.status != PAUSED:
            raise ClockError("not-paused", "The meeting is not paused.")
        self.status = RUNNING
        for countdown in self._countdowns():
            countdown.run(now)
        self.segment_start = now
        log.add(now, "resume", item=self.index)

    def check_go_to(self, index: int) -> None:
        """Raise the ClockError that ``go_to(index)`` would raise, changing nothing."""
        if self.status not in (RUNNING, PAUSED):
            raise ClockError("not-running", "Start the meeting first.")
        if not 0 <= index < len(self.agenda.items):
            raise ClockError("no-such-item", "There is no such agenda item.")

    def next_index(self) -> int:
        """Return the item ``next`` moves to, or raise the ClockError it would raise."""
        if self.current is not None and self.index + 1 >= len(self.agenda.items):
            raise ClockError("last-item", "This is the last item; end the meeting instead.")
        self.check_go_to(self.index + 1)
        return self.index + 1

    def previous_index(self) -> int:
        """Return the item ``previous`` moves to, or raise the ClockError it would raise."""
        if self.current is not None and self.index == 0:
            raise ClockError("first-item", "This is the first item.")
        self.check_go_to(self.index - 1)
        return self.index - 1

    def go_to(self, index: int, now: float, log: EventLog) -> None:
        """Make item ``index`` current, with its full planned duration."""
        self.check_go_to(index)
        self._leave(now, log)
        self._enter(index, now, log)

    def next(self, now: float, log: EventLog) -> None:
        """Move on to the next item."""
        self.go_to(self.next_index(), now, log)

    def previous(self, now: float, log: EventLog) -> None:
        """Go back to the item before."""
        self.go_to(self.previous_index(), now, log)

    def extend_item(self, seconds: int, now: float, log: EventLog) -> None:
        """Give the current item more time (the speaker's timebox is ``extend_speaker``)."""
        if self.current is None:
            raise ClockError("not-running", "Start the meeting first.")
        self.item.add(seconds)
        log.add(now, "extend", target="item", seconds=seconds, item=self.index)

    def extend_call(self, seconds: int, now: float, log: EventLog) -> None:
        """Move the end of the whole call."""
        if self.status == ENDED:
            raise ClockError("ended", "The meeting has ended.")
        self.meeting.add(seconds)
        log.add(now, "extend", target="call", seconds=seconds)

    def start_speaker(self, seconds: int, now: float) -> None:
        """Give the floor to a new speaker with a fresh timebox."""
        self.speaker = Countdown(float(seconds))
        if self.status == RUNNING:
            self.speaker.run(now)

    def extend_speaker(self, seconds: int) -> None:
        """Give the current speaker more time."""
        if self.speaker is not None:
            self.speaker.add(seconds)

    def stop_speaker(self) -> None:
        """Nobody has the floor."""
        self.speaker = None

    def hold_speaker(self, now: float) -> Countdown | None:
        """Take the speaker's timebox off the clock, frozen, so ``resume_speaker`` can give it
        back later with the time it had left."""
        speaker, self.speaker = self.speaker, None
        if speaker is not None:
            speaker.stop(now)
        return speaker

    def resume_speaker(self, speaker: Countdown, now: float) -> None:
        """Give the floor back with a timebox from ``hold_speaker`` (it runs if the clock does)."""
        self.speaker = speaker
        if self.status == RUNNING:
            speaker.run(now)

    def check_end(self) -> None:
        """Raise the ClockError that ``end`` would raise, changing nothing."""
        if self.status == ENDED:
            raise ClockError("ended", "The meeting has already ended.")

    def end(self, now: float, log: EventLog) -> None:
        """End the call."""
        self.check_end()
        if self.status in (RUNNING, PAUSED):
            self._leave(now, log)
        for countdown in self._countdowns():
            countdown.stop(now)
        self.speaker = None
        self.status = ENDED
        self.ended_at = now
        log.add(now, "end")

    def due_warnings(self, now: float) -> list[int]:
        """Return ``warn_at`` thresholds reached since the last call; each fires once."""
        if self.status != RUNNING:
            return []
        left = self.meeting_left(now)
        due = [t for t in self.agenda.warn_at if left <= t and t not in self.fired]
        self.fired.extend(due)
        return due

    def hard_stop_due(self, now: float) -> bool:
        """True when a ``hard_stop`` agenda has used up its limit and its grace period."""
        return (
            self.agenda.hard_stop
            and self.status in (RUNNING, PAUSED)
            and self.meeting_left(now) <= -HARD_STOP_GRACE
        )

    # Internals

    def _countdowns(self) -> list[Countdown]:
        return [c for c in (self.meeting, self.item, self.speaker) if c is not None]

    def _enter(self, index: int, now: float, log: EventLog) -> None:
        self.index = index
        self.item = Countdown(float(self.agenda.items[index].duration))
        self.speaker = None
        if self.status == RUNNING:
            self.item.run(now)
            self.segment_start = now
        if self.first_start[index] is None:
            self.first_start[index] = now
        log.add(now, "item-start", item=index, title=self.agenda.items[index].title)

    def _leave(self, now: float, log: EventLog) -> None:
        self._close_segment(now)
        self.last_end[self.index] = now
        log.add(
            now,
            "item-end",
            item=self.index,
            title=self.agenda.items[self.index].title,
            planned=self.agenda.items[self.index].duration,
            elapsed=round(self.elapsed[self.index], 3),
        )

    def _close_segment(self, now: float) -> None:
        if self.segment_start is not None:
            self.elapsed[self.index] += now - self.segment_start
            self.segment_start = None

    # Snapshots

    def to_dict(self) -> dict[str, Any]:
        """Return the whole clock state as JSON-ready data (the agenda is stored separately)."""
        return {
            "status": self.status,
            "index": self.index,
            "meeting": self.meeting.to_dict(),
            "item": self.item.to_dict(),
            "speaker": self.speaker.to_dict() if self.speaker else None,
            "fired": list(self.fired),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "elapsed": list(self.elapsed),
            "first_start": list(self.first_start),
            "last_end": list(self.last_end),
            "segment_start": self.segment_start,
        }

    @classmethod
    def from_dict(cls, agenda: Agenda, data: Mapping[str, Any]) -> Clock:
        """Rebuild a clock from ``to_dict``; downtime since the snapshot counts as elapsed."""
        speaker = data.get("speaker")
        clock = cls(
            agenda=agenda,
            status=str(data["status"]),
            index=int(data["index"]),
            speaker=Countdown.from_dict(speaker) if speaker else None,
            fired=[int(t) for t in data.get("fired", [])],
            started_at=data.get("started_at"),
            ended_at=data.get("ended_at"),
            elapsed=[float(e) for e in data["elapsed"]],
            first_start=list(data["first_start"]),
            last_end=list(data["last_end"]),
            segment_start=data.get("segment_start"),
        )
        # Set after construction: __post_init__ resets a waiting clock's countdowns, which
        # would lose an extension given before the start.
        clock.meeting = Countdown.from_dict(data["meeting"])
        clock.item = Countdown.from_dict(data["item"])
        return clock
