"""What hosts ask for on the landing page or the API, validated before a meeting exists."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from facilitator.library import load_library
from facilitator.server.agendas import AgendaInputError, meeting_request

ROOT = Path(__file__).resolve().parents[1]
LIB = load_library(ROOT / "agendas", ROOT / "icebreakers")


def test_a_local_start_time_is_read_in_the_hosts_time_zone() -> None:
    berlin = meeting_request(
        LIB, {"agenda": "quick-check-in", "scheduled_at": "2026-11-25T19:00", "tz_offset": "-60"}
    )
    utc = meeting_request(LIB, {"agenda": "quick-check-in", "scheduled_at": "2026-11-25T18:00Z"})
    assert berlin.scheduled_at == utc.scheduled_at == 1795629600.0


def test_a_start_up_to_a_year_ahead_is_fine() -> None:
    soon = time.time() + 300 * 24 * 3600
    assert meeting_request(LIB, {"agenda": "quick-check-in", "scheduled_at": soon}).scheduled_at


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Choose an agenda"),
        ({"agenda": "nope"}, 'no agenda named "nope"'),
        ({"agenda": "quick-check-in", "max_people": "1"}, "from 2 to 100"),
        ({"agenda": "quick-check-in", "max_people": "many"}, "from 2 to 100"),
        ({"agenda": "quick-check-in", "scheduled_at": "soon"}, "not a date and time"),
        (
            {"agenda": "quick-check-in", "scheduled_at": "2026-11-25T19:00", "tz_offset": "9999"},
            "not a date",
        ),
        ({"agenda": "quick-check-in", "title": "x" * 121}, "up to 120"),
        ({"agenda": "quick-check-in", "title": "Hi \ud800"}, "not valid Unicode"),
        ({"agenda": "quick-check-in", "scheduled_at": 1e300}, "up to a year from now"),
        ({"agenda": "quick-check-in", "scheduled_at": 10**400}, "not a date and time"),
        ({"agenda": "quick-check-in", "scheduled_at": -5}, "from 2000"),
        ({"agenda": "quick-check-in", "scheduled_at": "9999-12-31T23:00Z"}, "a year from now"),
        ({"agenda": "quick-check-in", "scheduled_at": float("nan")}, "from 2000"),
        ({"yaml": "title: X\nitems: 3\n"}, "your agenda:2:8: items: must be a list"),
    ],
)
def test_bad_requests_say_what_is_wrong(fields: dict[str, object], message: str) -> None:
    with pytest.raises(AgendaInputError) as caught:
        meeting_request(LIB, fields)
    assert message.lower() in " ".join(caught.value.errors).lower()
