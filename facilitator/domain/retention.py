"""How long a meeting is kept: deleted ``keep_days`` after it ended, with everything in it.

A meeting that never ended (never started, or left running) is kept ``keep_days`` after it was
last used or after its scheduled time, whichever is later.
"""

from __future__ import annotations

import math

KEEP_DAYS = 30.0
"""Days a meeting is kept after it ended, unless the server says otherwise (``--keep-days``)."""
DAY = 24 * 3600.0
SCHEDULED_AHEAD = 366 * DAY
"""A scheduled time keeps a meeting at most this long past its last use (the server refuses
later ones; a meeting stored before that was checked must still expire)."""


def expires_at(
    ended_at: float | None, last_used: float, scheduled_at: float | None, keep_days: float
) -> float:
    """When a meeting is due to be deleted (seconds since the epoch)."""
    keep = keep_days * DAY
    if ended_at is not None:
        return ended_at + keep
    scheduled = scheduled_at if scheduled_at is not None and math.isfinite(scheduled_at) else 0.0
    return max(last_used, min(scheduled, last_used + SCHEDULED_AHEAD)) + keep
