"""The clock (deadline-based countdowns) and the runner (planned vs actual, projected end)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

import pytest

from facilitator.domain.agenda import HARD_STOP_GRACE, Agenda, Item
from facilitator.domain.clock import ENDED, PAUSED, RUNNING, WAITING, Clock, ClockError
from facilitator.domain.durations import format_clock
from facilitator.domain.events import EventLog
from facilitator.domain.runner import planned_end, projected_end, timeline


class FakeClock(Protocol):
    """The ``fake_clock`` fixture from conftest (typed here, so no import from conftest)."""

    t: float

    def advance(self, seconds: float) -> float: ...


ITEMS = (Item("a", 300), Item("b", 600), Item("c", 120, icebreaker="deck", per_speaker=30))


def make(hard_stop: bool = False, warn_at: tuple[int, ...] = (300, 60)) -> Clock:
    return Clock(Agenda("Call", ITEMS, time_limit=1200, warn_at=warn_at, hard_stop=hard_stop))


def speaker_left(clock: Clock, now: float) -> float | None:
    """Seconds left for the current speaker, or None when nobody has the floor."""
    return clock.speaker.left(now) if clock.speaker else None


def started(t: FakeClock, hard_stop: bool = False) -> tuple[Clock, EventLog]:
    clock, log = make(hard_stop=hard_stop), EventLog()
    clock.start(t.t, log)
    return clock, log


def restore(clock: Clock) -> Clock:
    return Clock.from_dict(clock.agenda, json.loads(json.dumps(clock.to_dict())))


def test_waiting_clock(fake_clock: FakeClock) -> None:
    clock = make()
    assert clock.status == WAITING
    assert clock.current is None
    assert clock.meeting_left(fake_clock.advance(500)) == 1200
    assert clock.item_left(fake_clock.t) == 300
    assert speaker_left(clock, fake_clock.t) is None
    assert clock.due_warnings(fake_clock.t) == []


def test_start_counts_down(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    assert (clock.status, clock.current, clock.started_at) == (RUNNING, 0, fake_clock.t)
    now = fake_clock.advance(10.5)
    assert clock.item_left(now) == pytest.approx(289.5)
    assert clock.meeting_left(now) == pytest.approx(1189.5)
    assert clock.item_elapsed(0, now) == pytest.approx(10.5)
    assert [e.kind for e in log.events] == ["item-start"]


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (lambda c, t, log: c.start(t, log), "already-started"),
        (lambda c, t, log: c.resume(t, log), "not-paused"),
    ],
)
def test_errors_while_running(
    fake_clock: FakeClock, action: Callable[[Clock, float, EventLog], None], code: str
) -> None:
    clock, log = started(fake_clock)
    with pytest.raises(ClockError) as info:
        action(clock, fake_clock.t, log)
    assert info.value.code == code


def test_errors_before_start(fake_clock: FakeClock) -> None:
    clock, log = make(), EventLog()
    for action in (clock.pause, clock.next, clock.previous):
        with pytest.raises(ClockError) as info:
            action(fake_clock.t, log)
        assert info.value.code == "not-running"
    with pytest.raises(ClockError, match="Start the meeting first"):
        clock.extend_item(60, fake_clock.t, log)


def test_pause_twice_and_edges(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    clock.pause(fake_clock.t, log)
    with pytest.raises(ClockError) as info:
        clock.pause(fake_clock.t, log)
    assert info.value.code == "not-running"
    with pytest.raises(ClockError) as info:
        clock.previous(fake_clock.t, log)
    assert info.value.code == "first-item"
    clock.go_to(2, fake_clock.t, log)
    with pytest.raises(ClockError) as info:
        clock.next(fake_clock.t, log)
    assert info.value.code == "last-item"
    for bad in (-1, 3):
        with pytest.raises(ClockError) as info:
            clock.go_to(bad, fake_clock.t, log)
        assert info.value.code == "no-such-item"


def test_moves_are_checked_without_changing_anything(fake_clock: FakeClock) -> None:
    clock = make()

    def code(check: Callable[[], object]) -> str:
        before = json.dumps(clock.to_dict())
        with pytest.raises(ClockError) as info:
            check()
        assert json.dumps(clock.to_dict()) == before
        return info.value.code

    assert code(clock.next_index) == code(clock.previous_index) == "not-running"
    assert code(lambda: clock.check_go_to(0)) == "not-running"
    log = EventLog()
    clock.start(fake_clock.t, log)
    assert clock.next_index() == 1
    assert code(clock.previous_index) == "first-item"
    assert code(lambda: clock.check_go_to(3)) == "no-such-item"
    clock.check_go_to(2)
    clock.go_to(2, fake_clock.advance(1), log)
    assert clock.previous_index() == 1
    assert code(clock.next_index) == "last-item"
    clock.check_end()
    clock.end(fake_clock.advance(1), log)
    assert code(clock.check_end) == "ended"
    assert code(clock.next_index) == "not-running"


def test_a_held_speaker_keeps_the_time_it_had_left(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    assert clock.hold_speaker(fake_clock.t) is None
    clock.start_speaker(30, fake_clock.t)
    clock.extend_speaker(10)
    held = clock.hold_speaker(fake_clock.advance(15))
    assert clock.speaker is None and held is not None
    assert held.left(fake_clock.advance(500)) == 25
    clock.resume_speaker(held, fake_clock.t)
    assert speaker_left(clock, fake_clock.advance(5)) == 20
    assert held.spent(fake_clock.t) == 20 and held.given == 40
    clock.pause(fake_clock.t, log)
    held = clock.hold_speaker(fake_clock.advance(100))
    assert held is not None
    clock.resume_speaker(held, fake_clock.advance(100))
    assert speaker_left(clock, fake_clock.advance(100)) == 20  # paused: still frozen


def test_pause_freezes_every_countdown(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    clock.start_speaker(30, fake_clock.t)
    clock.pause(fake_clock.advance(50), log)
    assert clock.status == PAUSED
    assert clock.current == 0
    now = fake_clock.advance(1000)
    assert (clock.item_left(now), clock.meeting_left(now)) == (250, 1150)
    assert speaker_left(clock, now) == -20
    assert clock.item_elapsed(0, now) == 50
    clock.resume(now, log)
    now = fake_clock.advance(10)
    assert (clock.item_left(now), clock.meeting_left(now)) == (240, 1140)
    assert speaker_left(clock, now) == -30
    assert clock.item_elapsed(0, now) == 60
    assert [e.kind for e in log.events] == ["item-start", "pause", "resume"]


def test_extend_item_and_call(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    now = fake_clock.advance(100)
    clock.extend_item(60, now, log)
    assert clock.item_left(now) == 260
    assert clock.meeting_left(now) == 1100
    clock.extend_call(120, now, log)
    assert clock.meeting_left(now) == 1220
    clock.pause(now, log)
    clock.extend_item(30, now, log)
    assert clock.item_left(fake_clock.advance(50)) == 290
    assert clock.item.given == 390
    extends = [dict(e.data) for e in log.of_kind("extend")]
    assert extends[:2] == [
        {"target": "item", "seconds": 60, "item": 0},
        {"target": "call", "seconds": 120},
    ]


def test_moving_between_items_gives_full_duration(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    clock.next(fake_clock.advance(400), log)
    assert (clock.index, clock.item_left(fake_clock.t)) == (1, 600)
    assert clock.meeting_left(fake_clock.t) == 800
    clock.previous(fake_clock.advance(5), log)
    assert (clock.index, clock.item_left(fake_clock.t)) == (0, 300)
    clock.go_to(2, fake_clock.advance(5), log)
    assert (clock.index, clock.item_left(fake_clock.advance(20))) == (2, 100)
    assert clock.elapsed == [405.0, 5.0, 0.0]
    ends = [dict(e.data) for e in log.of_kind("item-end")]
    assert ends[0] == {"item": 0, "title": "a", "planned": 300, "elapsed": 400.0}


def test_go_to_while_paused_stays_paused(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    clock.pause(fake_clock.advance(10), log)
    clock.go_to(1, fake_clock.t, log)
    assert clock.item_left(fake_clock.advance(100)) == 600
    clock.resume(fake_clock.t, log)
    assert clock.item_left(fake_clock.advance(100)) == 500


def test_overtime_is_negative(fake_clock: FakeClock) -> None:
    clock, _ = started(fake_clock)
    now = fake_clock.advance(365)
    assert clock.item_left(now) == -65
    assert format_clock(clock.item_left(now)) == "+01:05 over"
    assert format_clock(clock.meeting_left(now)) == "13:55"


def test_each_warning_fires_once(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    assert clock.due_warnings(fake_clock.advance(899)) == []
    assert clock.due_warnings(fake_clock.advance(1)) == [300]
    assert clock.due_warnings(fake_clock.advance(1)) == []
    clock.pause(fake_clock.t, log)
    clock.resume(fake_clock.advance(60), log)
    assert clock.due_warnings(fake_clock.t) == []
    assert clock.due_warnings(fake_clock.advance(239)) == [60]
    clock.extend_call(600, fake_clock.t, log)
    assert clock.meeting_left(fake_clock.t) == 660
    assert clock.due_warnings(fake_clock.advance(700)) == []
    assert clock.fired == [300, 60]


def test_warnings_skipped_over_fire_together(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    assert clock.due_warnings(fake_clock.advance(1190)) == [300, 60]
    clock.pause(fake_clock.t, log)
    assert clock.due_warnings(fake_clock.advance(5)) == []


def test_warnings_do_not_fire_while_paused(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    clock.pause(fake_clock.advance(800), log)
    assert clock.due_warnings(fake_clock.advance(5000)) == []
    clock.resume(fake_clock.t, log)
    assert clock.due_warnings(fake_clock.advance(100)) == [300]


def test_hard_stop_waits_for_grace(fake_clock: FakeClock) -> None:
    clock, _ = started(fake_clock, hard_stop=True)
    plain, _ = started(fake_clock)
    now = fake_clock.advance(1200 + HARD_STOP_GRACE - 1)
    assert not clock.hard_stop_due(now)
    now = fake_clock.advance(1)
    assert clock.hard_stop_due(now)
    assert not plain.hard_stop_due(fake_clock.advance(10_000))


def test_end(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock, hard_stop=True)
    clock.start_speaker(30, fake_clock.t)
    clock.end(fake_clock.advance(100), log)
    assert (clock.status, clock.current, clock.speaker, clock.ended_at) == (
        ENDED,
        None,
        None,
        fake_clock.t,
    )
    assert clock.meeting_left(fake_clock.advance(5000)) == 1100
    assert not clock.hard_stop_due(fake_clock.t)
    assert clock.due_warnings(fake_clock.t) == []
    for action in (clock.end, lambda now, lg: clock.extend_call(60, now, lg)):
        with pytest.raises(ClockError) as info:
            action(fake_clock.t, log)
        assert info.value.code == "ended"
    assert [e.kind for e in log.events][-2:] == ["item-end", "end"]


def test_snapshot_running_after_downtime(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    clock.next(fake_clock.advance(400), log)
    clock.next(fake_clock.advance(600), log)
    clock.start_speaker(30, fake_clock.advance(5))
    assert clock.due_warnings(fake_clock.advance(10)) == [300]
    snapshot = json.dumps(clock.to_dict())
    now = fake_clock.advance(120)
    back = Clock.from_dict(clock.agenda, json.loads(snapshot))
    assert json.dumps(back.to_dict()) == snapshot
    assert back.status == RUNNING
    assert back.index == 2
    assert back.meeting_left(now) == pytest.approx(1200 - 1135, abs=1)
    assert back.item_left(now) == pytest.approx(120 - 135, abs=1)
    assert speaker_left(back, now) == pytest.approx(30 - 130, abs=1)
    assert back.item_elapsed(2, now) == pytest.approx(135, abs=1)
    assert back.elapsed[:2] == [400, 600]
    assert back.fired == [300]
    assert back.due_warnings(now) == []
    assert back.due_warnings(fake_clock.advance(5)) == [60]


def test_snapshot_paused_keeps_remainder(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    clock.pause(fake_clock.advance(100), log)
    snapshot = json.dumps(clock.to_dict())
    now = fake_clock.advance(120)
    back = Clock.from_dict(clock.agenda, json.loads(snapshot))
    assert (back.status, back.item_left(now), back.meeting_left(now)) == (PAUSED, 200, 1100)
    back.resume(now, log)
    now = fake_clock.advance(10)
    assert (back.item_left(now), back.item_elapsed(0, now)) == (190, 110)


def test_snapshot_waiting_keeps_an_early_extension(fake_clock: FakeClock) -> None:
    clock, log = make(), EventLog()
    clock.extend_call(300, fake_clock.t, log)
    back = restore(clock)
    assert back.meeting_left(fake_clock.t) == 1500
    assert json.dumps(back.to_dict()) == json.dumps(clock.to_dict())


def test_snapshot_json_is_stable_before_start() -> None:
    clock = make()
    assert json.dumps(restore(clock).to_dict()) == json.dumps(clock.to_dict())


# Runner


def test_timeline_before_start(fake_clock: FakeClock) -> None:
    rows = timeline(make(), fake_clock.t)
    assert [(r.state, r.planned_start, r.actual_start) for r in rows] == [
        ("upcoming", None, None)
    ] * 3
    assert projected_end(make(), fake_clock.t) == fake_clock.t + 1020


@pytest.mark.parametrize("t0", [0.0, 1_700_000_000.0])
def test_planned_vs_actual_with_overrun(fake_clock: FakeClock, t0: float) -> None:
    t = fake_clock
    t.t = t0
    clock, log = started(t)
    now = t.advance(400)
    # Item a runs 100 s over: assumed to end now, the rest goes to plan.
    assert projected_end(clock, now) == t0 + 400 + 600 + 120
    assert planned_end(clock, now) == t0 + 1200
    clock.next(now, log)
    rows = timeline(clock, t.advance(50))
    assert [r.state for r in rows] == ["done", "current", "upcoming"]
    assert [r.planned_start for r in rows] == [t0, t0 + 300, t0 + 900]
    assert [r.actual_start for r in rows] == [t0, t0 + 400, None]
    assert [r.actual_end for r in rows] == [t0 + 400, None, None]
    assert [r.elapsed for r in rows] == [400, 50, 0]
    assert rows[2].deck == "deck"
    assert projected_end(clock, t.t) == t0 + 450 + 550 + 120


def test_projected_end_moves_with_a_pause(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    t0 = fake_clock.t
    clock.pause(fake_clock.advance(100), log)
    assert projected_end(clock, fake_clock.t) == t0 + 1020
    now = fake_clock.advance(60)
    assert projected_end(clock, now) == t0 + 1080
    assert planned_end(clock, now) == t0 + 1260
    assert timeline(clock, now)[0].elapsed == 100
    assert timeline(clock, now)[0].to_dict()["state"] == "current"


def test_timeline_skipped_and_ended(fake_clock: FakeClock) -> None:
    clock, log = started(fake_clock)
    clock.go_to(2, fake_clock.advance(10), log)
    assert [r.state for r in timeline(clock, fake_clock.t)] == ["done", "skipped", "current"]
    clock.end(fake_clock.advance(20), log)
    end_at = fake_clock.t
    assert [r.state for r in timeline(clock, fake_clock.advance(99))] == ["done", "skipped", "done"]
    assert projected_end(clock, fake_clock.t) == end_at
    assert timeline(clock, fake_clock.t)[2].actual_end == end_at
