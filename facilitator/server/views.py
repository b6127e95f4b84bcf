"""A meeting's ``state`` messages, built so that a change costs one encoding, not one per person.

Most of a state is the same for everyone of a role (the clock, the agenda, the people): it is
built and turned into JSON once per change for participants and once for facilitators, then
each person's own part (who they are, their group, whom they keep apart from) is encoded on
its own, which is small, and the two texts are joined.
"""

from __future__ import annotations

import json
from typing import Any

from ..domain.meeting import Meeting

SHARED_SECONDS = 1.0
"""An encoded shared part is reused this long at most (its ``server_time`` ages meanwhile)."""
STATE_PREFIX = '{"type":"state","value":'
"""The start of every state message (``protocol.encode("state", ...)`` writes the same)."""


def encode_object(value: dict[str, Any]) -> str:
    """JSON text of one object, as compact as ``protocol.encode`` writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def join_objects(first: str, second: str) -> str:
    """Two encoded JSON objects as one object with the keys of both (keys must not repeat)."""
    if first == "{}":
        return second
    if second == "{}":
        return first
    return first[:-1] + "," + second[1:]


class StateViews:
    """The encoded shared parts of one meeting's views, valid until the next change."""

    def __init__(self) -> None:
        self.version = 0
        """Counts changes; a shared part built for an older one is built again."""
        self.shared: dict[bool, tuple[int, float, str]] = {}
        """Host or not -> (version, when, JSON text) of the last shared part built."""
        self.builds = 0
        """How many shared parts were built and encoded (what a change costs the server)."""

    def changed(self) -> None:
        """Something everyone may see changed: shared parts are built again when next asked."""
        self.version += 1
        self.shared.clear()

    def state(self, meeting: Meeting, person_id: str, now: float, storage_ok: bool) -> str:
        """The ``state`` message for one person of the room."""
        host = meeting.is_facilitator(person_id)
        cached = self.shared.get(host)
        if cached is None or cached[0] != self.version or now - cached[1] >= SHARED_SECONDS:
            value = meeting.shared_view(host, now)
            value["meeting"]["storage_ok"] = storage_ok
            cached = (self.version, now, encode_object(value))
            self.shared[host] = cached
            self.builds += 1
        # The person's own part is as of the shared part's time, so the two agree.
        own = encode_object(meeting.own_view(person_id, host, cached[1]))
        return STATE_PREFIX + join_objects(cached[2], own) + "}"
