"""The agenda as it is actually running: planned vs actual times and the projected end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .clock import ENDED, WAITING, Clock


@dataclass(frozen=True)
class Row:
    """One agenda item with its plan and what actually happened."""

    index: int
    title: str
    planned_start: float | None
    """Wall-clock time the item would start if everything ran to plan (None before the start)."""
    planned_duration: int
    actual_start: float | None
    """When it first started, if it has."""
    actual_end: float | None
    """When it last stopped being current, if it has."""
    elapsed: float
    """Seconds it has run so far."""
    state: str
    """``done``, ``current`` or ``upcoming``."""
    deck: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data."""
        return {
            "index": self.index,
            "title": self.title,
            "planned_start": self.planned_start,
            "planned_duration": self.planned_duration,
            "actual_start": self.actual_start,
            "actual_end": self.actual_end,
            "elapsed": round(self.elapsed, 1),
            "state": self.state,
            "deck": self.deck,
        }


def timeline(clock: Clock, now: float) -> list[Row]:
    """Every item with planned vs actual start and duration."""
    rows = []
    offsets = clock.agenda.offsets()
    for index, item in enumerate(clock.agenda.items):
        if clock.status == ENDED:
            state = "done" if clock.first_start[index] is not None else "skipped"
        elif clock.status == WAITING:
            state = "upcoming"
        elif index == clock.index:
            state = "current"
        elif clock.first_start[index] is not None:
            state = "done"
        else:
            state = "upcoming" if index > clock.index else "skipped"
        rows.append(
            Row(
                index=index,
                title=item.title,
                planned_start=(
                    clock.started_at + offsets[index] if clock.started_at is not None else None
                ),
                planned_duration=item.duration,
                actual_start=clock.first_start[index],
                actual_end=clock.last_end[index] if state != "current" else None,
                elapsed=clock.item_elapsed(index, now),
                state=state,
                deck=item.icebreaker,
            )
        )
    return rows


def projected_end(clock: Clock, now: float) -> float:
    """When the call will end if the rest goes to plan, given the overrun so far.

    An item that is running over is assumed to end now; each later item takes its planned time.
    A paused call moves its projected end with the pause.
    """
    items = clock.agenda.items
    if clock.status == ENDED:
        return clock.ended_at if clock.ended_at is not None else now
    if clock.status == WAITING:
        return now + clock.agenda.planned_total
    rest = sum(item.duration for item in items[clock.index + 1 :])
    return now + max(clock.item_left(now), 0.0) + rest


def planned_end(clock: Clock, now: float) -> float:
    """When the call is due to end: now plus the call's time left (extensions included)."""
    return now + clock.meeting_left(now)
