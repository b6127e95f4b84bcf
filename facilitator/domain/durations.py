"""Durations as people write them in agenda files ("90s", "5m", "1h30m", "1:30") and as clocks."""

from __future__ import annotations

import math
import re

_UNITS = re.compile(r"^(?:(?P<h>\d{1,3})h)?(?:(?P<m>\d{1,4})m)?(?:(?P<s>\d{1,5})s)?$")
_CLOCK = re.compile(r"^(?P<m>\d{1,4}):(?P<s>[0-5]\d)$")

DURATION_HINT = "use 90s, 5m, 1h30m or 1:30"
MAX_DURATION = 24 * 3600


def parse_duration(text: str) -> int:
    """Parse a duration into whole seconds; raise ValueError with a friendly message otherwise.

    Accepted forms: ``90s``, ``5m``, ``1h30m`` (any of h, m, s in that order) and ``1:30``
    (minutes:seconds). Nothing else, so that "5 minutes" or a bare ``300`` is caught as a typo.
    """
    value = text.strip()
    seconds: int | None = None
    match = _UNITS.match(value)
    if value and match and any(match.group(g) for g in ("h", "m", "s")):
        seconds = (
            int(match.group("h") or 0) * 3600
            + int(match.group("m") or 0) * 60
            + int(match.group("s") or 0)
        )
    else:
        match = _CLOCK.match(value)
        if match:
            seconds = int(match.group("m")) * 60 + int(match.group("s"))
    if seconds is None:
        raise ValueError(f'"{text}" is not a duration ({DURATION_HINT})')
    if seconds <= 0:
        raise ValueError(f'"{text}" must be longer than zero')
    if seconds > MAX_DURATION:
        raise ValueError(f'"{text}" is longer than 24 hours')
    return seconds


def format_duration(seconds: float) -> str:
    """Format seconds the way an agenda writer would: ``45m``, ``1h30m``, ``90s`` -> ``1m30s``."""
    total = round(seconds)
    if total <= 0:
        return "0s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs:
        parts.append(f"{secs}s")
    return "".join(parts)


def format_clock(seconds: float) -> str:
    """Format a time left as a countdown shows it: ``mm:ss``, ``h:mm:ss``, or ``+mm:ss over``.

    Time left is rounded up while positive (a countdown shows 00:01 until the last second has
    gone) and overtime is rounded down, so the display never skips or repeats a second.
    """
    if seconds >= 0:
        total = int(-(-seconds // 1))
        prefix, suffix = "", ""
    else:
        total = int(-seconds // 1)
        prefix, suffix = "+", " over"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    body = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
    return f"{prefix}{body}{suffix}"


def whole_seconds(seconds: float) -> int:
    """Whole seconds of a time that has passed: the fraction is dropped (201.9 s is 201 s).

    This is the one rounding rule for every duration a person reads (the room's elapsed times
    in ``format.js`` drop the fraction the same way), so a 201.3 s call is 3:21 everywhere.
    """
    return math.floor(seconds + 1e-9)


def format_span(seconds: float) -> str:
    """Format a duration the one way every page and export shows it: ``3:21``, ``1:02:03``.

    Whole seconds by ``whole_seconds``; minutes without a leading zero, hours only from one
    hour on; ``-1:20`` for a negative difference (the same ``mss`` in ``format.js``).
    """
    total = whole_seconds(abs(seconds))
    sign = "-" if seconds < 0 and total else ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    body = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return sign + body


def span_difference(actual: float, planned: float) -> int:
    """Whole seconds over (positive) or under plan, from the two shown values.

    Taken between the whole seconds each one shows, so 3:21 against 3:00 reads +0:21 and the
    columns of a table always add up.
    """
    return whole_seconds(actual) - whole_seconds(planned)


def format_difference(seconds: int) -> str:
    """A difference as ``+0:21`` (over), ``-1:20`` (under) or ``0:00``."""
    return ("+" if seconds > 0 else "") + format_span(seconds)
