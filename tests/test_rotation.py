"""Icebreaker rotation: speaker order, passes, skips, going back, late joiners, prompts."""

from __future__ import annotations

import json

import pytest

from facilitator.domain.rotation import (
    DONE,
    LEFT,
    PASSED,
    SKIPPED,
    PromptDraw,
    PromptPool,
    Rotation,
    RotationError,
)

PROMPTS = tuple(f"prompt {i}" for i in range(12))
PEOPLE = [("p1", "Bob"), ("p2", "alice"), ("p3", "Carl"), ("p4", "dora")]


def draw_for(seed: str = "meeting-1") -> PromptDraw:
    return PromptDraw(PromptPool(seed), {"deck": PROMPTS})


def begin(
    order: str = "join", rounds: int = 1, seed: str = "s", people: list[tuple[str, str]] = PEOPLE
) -> tuple[Rotation, PromptDraw]:
    rotation, draw = Rotation("deck", order=order, rounds=rounds, seed=seed), draw_for()
    rotation.begin(people, draw, 0.0)
    return rotation, draw


def advance(rotation: Rotation, draw: PromptDraw, outcome: str = DONE, now: float = 1.0) -> None:
    rotation.end_turn(outcome, 10.0, 60.0)
    rotation.next_turn(draw, now, PEOPLE)


def line(rotation: Rotation) -> list[str | None]:
    return [rotation.current, *rotation.queue]


def test_join_order() -> None:
    rotation, _ = begin()
    assert line(rotation) == ["p1", "p2", "p3", "p4"]
    assert rotation.up_next() == "p2"
    assert rotation.prompt in PROMPTS
    assert rotation.turn_started == 0.0
    assert rotation.history == ["p1"]


def test_alphabetical_order_ignores_case() -> None:
    rotation, _ = begin("alphabetical")
    assert line(rotation) == ["p2", "p1", "p3", "p4"]


def test_shuffle_is_seeded() -> None:
    first, _ = begin("shuffle", seed="one")
    again, _ = begin("shuffle", seed="one")
    assert line(first) == line(again)
    assert sorted(map(str, line(first))) == ["p1", "p2", "p3", "p4"]
    others = {tuple(line(begin("shuffle", seed=f"seed-{n}")[0])) for n in range(10)}
    assert len(others) > 1


def test_end_turn_returns_the_turn() -> None:
    rotation, _ = begin()
    prompt = rotation.prompt
    turn = rotation.end_turn(DONE, 42.5, 60.0)
    assert turn is not None
    assert (turn.person, turn.prompt, turn.started, turn.planned, turn.actual) == (
        "p1",
        prompt,
        0.0,
        60.0,
        42.5,
    )
    assert (turn.outcome, turn.round) == (DONE, 1)
    assert rotation.current is None
    assert rotation.end_turn(DONE, 1.0, 1.0) is None
    assert rotation.spoken == ["p1"]


def test_pass_once_goes_to_the_back_second_pass_does_not() -> None:
    rotation, draw = begin()
    assert rotation.can_pass("p1")
    assert not rotation.can_pass("p2")
    advance(rotation, draw, PASSED)
    assert line(rotation) == ["p2", "p3", "p4", "p1"]
    assert rotation.passed == ["p1"]
    for _ in range(3):
        advance(rotation, draw)
    assert line(rotation) == ["p1"]
    advance(rotation, draw, PASSED)
    assert line(rotation) == [None]
    assert rotation.finished
    assert rotation.spoken == ["p2", "p3", "p4"]
    assert rotation.not_yet_spoken() == []


def test_skip_does_not_requeue_or_count_as_spoken() -> None:
    rotation, draw = begin()
    advance(rotation, draw, SKIPPED)
    assert line(rotation) == ["p2", "p3", "p4"]
    assert rotation.spoken == []
    assert "p1" not in rotation.not_yet_spoken()


def test_back_gives_previous_speaker_the_floor() -> None:
    rotation, draw = begin()
    advance(rotation, draw)
    advance(rotation, draw)
    assert rotation.current == "p3"
    assert rotation.back(draw, 5.0) == "p2"
    assert line(rotation) == ["p2", "p3", "p4"]
    assert rotation.turn_started == 5.0
    assert rotation.back(draw, 6.0) == "p1"
    assert line(rotation) == ["p1", "p2", "p3", "p4"]
    with pytest.raises(RotationError) as info:
        rotation.back(draw, 7.0)
    assert info.value.code == "no-previous-speaker"
    assert line(rotation) == ["p1", "p2", "p3", "p4"]
    assert rotation.history == ["p1"]


def test_back_after_the_end_reopens_the_last_turn() -> None:
    rotation, draw = begin(people=PEOPLE[:2])
    advance(rotation, draw)
    advance(rotation, draw)
    assert rotation.finished
    assert rotation.back(draw, 9.0) == "p2"
    assert (rotation.current, rotation.finished) == ("p2", False)


def test_back_with_no_history_is_refused() -> None:
    rotation, draw = begin()
    before = rotation.to_dict()
    with pytest.raises(RotationError):
        rotation.back(draw, 1.0)
    assert rotation.to_dict() == before


def test_reshuffle_only_touches_the_waiting_queue() -> None:
    people = [(f"p{i}", f"Person {i}") for i in range(10)]
    rotation, draw = begin(people=people)
    advance(rotation, draw)
    current, prompt, spoken = rotation.current, rotation.prompt, list(rotation.spoken)
    waiting = list(rotation.queue)
    rotation.reshuffle()
    assert (rotation.current, rotation.prompt, rotation.spoken) == (current, prompt, spoken)
    assert sorted(rotation.queue) == sorted(waiting)
    assert rotation.queue != waiting
    assert "p0" not in rotation.queue


def test_late_joiner_appended_and_leaver_dropped() -> None:
    rotation, draw = begin()
    advance(rotation, draw)
    rotation.join("p5")
    rotation.join("p3")
    rotation.join("p1")
    rotation.join("p2")
    assert line(rotation) == ["p2", "p3", "p4", "p5"]
    rotation.drop("p4")
    rotation.drop("nobody")
    assert line(rotation) == ["p2", "p3", "p5"]
    assert rotation.not_yet_spoken() == ["p2", "p3", "p5"]


def test_not_yet_spoken_tracks_turns() -> None:
    rotation, draw = begin()
    assert rotation.not_yet_spoken() == ["p1", "p2", "p3", "p4"]
    advance(rotation, draw)
    advance(rotation, draw, PASSED)
    assert rotation.not_yet_spoken() == ["p3", "p4", "p2"]
    advance(rotation, draw, LEFT)
    assert rotation.not_yet_spoken() == ["p4", "p2"]


def test_more_rounds_line_everyone_up_again() -> None:
    rotation, draw = begin(rounds=2, people=PEOPLE[:3])
    turns = []
    while rotation.current is not None:
        turns.append((rotation.round, rotation.current))
        advance(rotation, draw)
    assert turns == [(1, "p1"), (1, "p2"), (1, "p3"), (2, "p1"), (2, "p2"), (2, "p3"), (2, "p4")]
    assert rotation.finished
    assert rotation.round == 2


def test_new_round_forgets_passes() -> None:
    rotation, draw = begin(rounds=2, people=PEOPLE[:1])
    advance(rotation, draw, PASSED)
    assert rotation.current == "p1"
    advance(rotation, draw, PASSED)
    assert (rotation.round, rotation.passed) == (2, [])
    assert rotation.current == "p1"


def test_prompt_pool_never_repeats_until_exhausted() -> None:
    pool = PromptPool("m")
    first = [pool.draw("deck", PROMPTS) for _ in PROMPTS]
    assert sorted(first) == sorted(PROMPTS)
    second = [pool.draw("deck", PROMPTS) for _ in PROMPTS]
    assert sorted(second) == sorted(PROMPTS)
    assert first[0] == PromptPool("m").draw("deck", PROMPTS)
    again = PromptPool("m")
    assert [again.draw("deck", PROMPTS) for _ in PROMPTS] == first
    orders = set()
    for n in range(5):
        other = PromptPool(f"m{n}")
        orders.add(tuple(other.draw("deck", PROMPTS) for _ in PROMPTS))
    assert len(orders) > 1


def test_prompt_pool_is_per_deck() -> None:
    pool = PromptPool("m")
    pool.draw("a", ("x",))
    assert pool.draw("b", ("y", "z")) in ("y", "z")
    assert pool.used["a"] == [0]
    assert len(pool.used["b"]) == 1
    restored = PromptPool.from_dict(json.loads(json.dumps(pool.to_dict())))
    assert restored == pool


def test_round_trip_mid_rotation_continues_identically() -> None:
    rotation, draw = begin("shuffle", rounds=2, seed="xyz")
    advance(rotation, draw, PASSED)
    advance(rotation, draw)
    rotation.reshuffle()
    saved = json.dumps({"rotation": rotation.to_dict(), "pool": draw.pool.to_dict()})

    data = json.loads(saved)
    copy = Rotation.from_dict(data["rotation"])
    copy_draw = PromptDraw(PromptPool.from_dict(data["pool"]), {"deck": PROMPTS})
    assert copy.to_dict() == rotation.to_dict()

    def play(rot: Rotation, drw: PromptDraw) -> list[tuple[int, str | None, str | None]]:
        seen = []
        rot.join("p9")
        rot.reshuffle()
        for step in range(12):
            seen.append((rot.round, rot.current, rot.prompt))
            if step == 3:
                rot.back(drw, 2.0)
            else:
                advance(rot, drw, PASSED if step == 1 else DONE)
        return seen

    assert play(copy, copy_draw) == play(rotation, draw)
    assert copy.to_dict() == rotation.to_dict()


def test_back_skips_speakers_who_have_left() -> None:
    pool = PromptPool("seed")
    draw = PromptDraw(pool, {"deck": [f"prompt {i}" for i in range(10)]})
    rotation = Rotation(deck_id="deck")
    rotation.begin([("a", "A"), ("b", "B"), ("c", "C")], draw, 0.0)
    rotation.end_turn("done", 1.0, 30.0)
    rotation.next_turn(draw, 1.0, [])
    rotation.end_turn("done", 1.0, 30.0)
    rotation.next_turn(draw, 2.0, [])
    assert rotation.current == "c"
    # B left: going back gives the floor to A, the last speaker still here.
    assert rotation.back(draw, 3.0, present={"a", "c"}) == "a"
    assert rotation.current == "a" and rotation.queue[0] == "c"


def test_someone_back_in_a_later_round_is_lined_up_again() -> None:
    pool = PromptPool("seed")
    draw = PromptDraw(pool, {"deck": [f"prompt {i}" for i in range(10)]})
    rotation = Rotation(deck_id="deck", rounds=2)
    everyone = [("a", "A"), ("b", "B")]
    rotation.begin(everyone, draw, 0.0)
    for _ in range(2):  # round 1: A, then B
        rotation.end_turn("done", 1.0, 30.0)
        rotation.next_turn(draw, 1.0, everyone)
    assert rotation.round == 2 and rotation.current == "a"
    rotation.drop("b")  # B leaves before their round-2 turn ...
    rotation.join("b")  # ... and comes back: lined up again, though they spoke in round 1
    assert rotation.queue == ["b"]
    rotation.join("a")  # the current speaker is not added twice
    assert rotation.queue == ["b"]
