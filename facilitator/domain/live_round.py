"""The round in play of rounds in small groups: its groups, who waits, its countdown, who
visits; and the record of every group of the meeting (for the recap and group chat)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .clock import Countdown
from .people import MeetingError
from .rounds import RoundPlan


@dataclass
class Group:
    """One small group in the round in play."""

    id: str
    """Unique in the meeting: the round's number across the meeting, then the group's."""
    members: list[str]
    """Person ids, in the order they were placed."""
    prompt: str | None = None
    """The group's prompt card, when the item has an icebreaker."""

    def to_dict(self) -> dict[str, Any]:
        """Return the group as JSON-ready data."""
        return {"id": self.id, "members": list(self.members), "prompt": self.prompt}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Group:
        """Rebuild a group stored by ``to_dict``."""
        prompt = data.get("prompt")
        members = [str(p) for p in data["members"]]
        return cls(str(data["id"]), members, str(prompt) if prompt is not None else None)


@dataclass
class GroupRecord:
    """Who was ever in one group (members and visitors): for the recap and the group's chat."""

    id: str
    item: int
    round: int
    members: list[str] = field(default_factory=list)
    visitors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready data."""
        return {
            "id": self.id,
            "item": self.item,
            "round": self.round,
            "members": list(self.members),
            "visitors": list(self.visitors),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupRecord:
        """Rebuild a record stored by ``to_dict``."""
        return cls(
            str(data["id"]),
            int(data["item"]),
            int(data["round"]),
            [str(p) for p in data.get("members", [])],
            [str(p) for p in data.get("visitors", [])],
        )


@dataclass
class LiveRound:
    """The round in play: its groups, who waits in the main room, and its countdown."""

    item: int
    number: int
    """The round within its item, from 1."""
    seq: int
    """The round's number across the meeting (group ids start with it)."""
    groups: list[Group]
    waiting: list[str]
    timer: Countdown
    warned: bool = False
    """``round-warning`` was sent."""
    visits: dict[str, str] = field(default_factory=dict)
    """Facilitator id -> the group they are visiting."""
    left_from: dict[str, str] = field(default_factory=dict)
    """Person id -> the group they were in when they went offline (they go back to it)."""

    def group(self, group_id: object) -> Group:
        """The group with this id, or a MeetingError."""
        for group in self.groups:
            if group.id == group_id:
                return group
        raise MeetingError("no-such-group", "That group is not in this round.")

    def group_of(self, person_id: str) -> Group | None:
        """The group someone is a member of, or None."""
        return next((g for g in self.groups if person_id in g.members), None)

    def plan(self) -> RoundPlan:
        """The groups as a scheduler plan (same order)."""
        groups = tuple(tuple(g.members) for g in self.groups)
        return RoundPlan(self.number, groups, tuple(self.waiting))

    def to_dict(self) -> dict[str, Any]:
        """Return the round as JSON-ready data."""
        return {
            "item": self.item,
            "number": self.number,
            "seq": self.seq,
            "groups": [g.to_dict() for g in self.groups],
            "waiting": list(self.waiting),
            "timer": self.timer.to_dict(),
            "warned": self.warned,
            "visits": dict(self.visits),
            "left_from": dict(self.left_from),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LiveRound:
        """Rebuild a round stored by ``to_dict``."""
        return cls(
            item=int(data["item"]),
            number=int(data["number"]),
            seq=int(data["seq"]),
            groups=[Group.from_dict(g) for g in data["groups"]],
            waiting=[str(p) for p in data.get("waiting", [])],
            timer=Countdown.from_dict(data["timer"]),
            warned=bool(data.get("warned", False)),
            visits={str(k): str(v) for k, v in data.get("visits", {}).items()},
            left_from={str(k): str(v) for k, v in data.get("left_from", {}).items()},
        )
