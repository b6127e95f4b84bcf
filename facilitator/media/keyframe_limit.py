"""Which subscribers' keyframe requests go on to a publisher: one subscriber cannot raise
everyone's keyframe rate (issue 14; part of the allocation policy, re-exported by allocation.py).

Pure Python, no aiortc: every method takes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KEYFRAME_INTERVAL = 2.0
"""Seconds between two keyframe requests forwarded for one subscriber and one publisher."""
KEYFRAME_WAIT = 0.5
"""Seconds a subscriber that just resumed a stream, or is recovering from loss, waits for a
keyframe asked for already (resuming asks; NACKs may still repair the loss) before its own
request goes on. Browsers send keyframes only when asked, so a longer wait is a freeze."""


@dataclass
class KeyframeLimiter:
    """Decides which subscribers' keyframe requests (PLI/FIR) go on to a publisher.

    At most one request per subscriber per publisher per ``interval``; a subscriber that just
    resumed a stream or is recovering from loss first waits ``wait`` for the publisher's next
    keyframe (the one resuming asked for, or someone else's) before its own request goes on.
    """

    interval: float = KEYFRAME_INTERVAL
    wait: float = KEYFRAME_WAIT
    forwarded_at: dict[tuple[str, str], float] = field(default_factory=dict)
    """(subscriber, publisher) -> when a request of theirs was last forwarded."""
    waiting_since: dict[tuple[str, str], float] = field(default_factory=dict)
    """(subscriber, publisher) -> since when it waits for the next keyframe."""

    def wait_for_keyframe(self, subscriber: str, publisher: str, now: float) -> None:
        """The subscriber just resumed this stream or is recovering: let it wait first."""
        self.waiting_since.setdefault((subscriber, publisher), now)

    def on_keyframe(self, publisher: str) -> None:
        """The publisher sent a keyframe: everyone waiting for one has it."""
        for key in [k for k in self.waiting_since if k[1] == publisher]:
            del self.waiting_since[key]

    def request(self, subscriber: str, publisher: str, now: float) -> bool:
        """True when this request should be forwarded to the publisher."""
        key = (subscriber, publisher)
        since = self.waiting_since.get(key)
        if since is not None:
            if now - since < self.wait:
                return False
            del self.waiting_since[key]
        last = self.forwarded_at.get(key)
        if last is not None and now - last < self.interval:
            return False
        self.forwarded_at[key] = now
        return True

    def forget(self, person: str) -> None:
        """Drop what is kept for someone who left (as subscriber or publisher)."""
        for table in (self.forwarded_at, self.waiting_since):
            for key in [k for k in table if person in k]:
                del table[key]
