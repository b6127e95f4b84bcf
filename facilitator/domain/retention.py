"""How long a meeting is kept: deleted ``keep_days`` after it ended, with everything in it.

A meeting that never ended (never started, or left running) is kept ``keep_days`` after it was
last used or after its scheduled time, whichever is later.
"""

from __future__ import annotations

KEEP_DAYS = 30.0
"""Days a meeting is kept after it ended, unless the server says otherwise (``--keep-days``)."""
DAY = 24 * 3600.0


def expires_at(
    ended_at: float | None, last_used: float, scheduled_at: float | None, keep_days: float
) -> float:
    """When a meeting is due to be deleted (seconds since the epoch)."""
    keep = keep_days * DAY
    if ended_at is not None:
        return ended_at + keep
    return max(last_used, scheduled_at or 0.0) + keep
