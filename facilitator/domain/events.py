"""The meeting's event log: what happened and when, for the recap and for debugging a call."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_EVENTS = 20_000
"""A call produces a few hundred events; the cap only stops a runaway client from filling memory."""


@dataclass(frozen=True)
class Event:
    """One thing that happened in a meeting."""

    t: float
    """Wall-clock time (seconds since the epoch)."""
    kind: str
    """``item-start``, ``item-end``, ``turn``, ``control``, ``join``, ``leave``, ..."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Details, JSON-ready."""

    def to_dict(self) -> dict[str, Any]:
        """Return the event as plain JSON-ready data."""
        return {"t": self.t, "kind": self.kind, "data": dict(self.data)}


@dataclass
class EventLog:
    """An append-only list of events, bounded so a hostile client cannot grow it forever."""

    events: list[Event] = field(default_factory=list)
    """Everything logged so far, oldest first."""

    def add(self, t: float, kind: str, **data: Any) -> Event:
        """Append an event and return it."""
        event = Event(t, kind, data)
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)
        return event

    def of_kind(self, kind: str) -> Iterator[Event]:
        """Yield the events of one kind, oldest first."""
        return (e for e in self.events if e.kind == kind)

    def to_list(self) -> list[dict[str, Any]]:
        """Return the log as plain JSON-ready data."""
        return [e.to_dict() for e in self.events]

    @classmethod
    def from_list(cls, data: list[Mapping[str, Any]]) -> EventLog:
        """Rebuild a log stored by ``to_list``."""
        return cls([Event(float(e["t"]), str(e["kind"]), dict(e.get("data", {}))) for e in data])
