"""Icebreaker rounds across item moves: leaving an item and coming back carries on the round."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import pytest

from facilitator.domain.agenda import Agenda, Item
from facilitator.domain.clock import RUNNING
from facilitator.domain.meeting import Meeting, MeetingError
from facilitator.domain.recap import build_recap
from facilitator.library import Library, load_library


class FakeClock(Protocol):
    """The ``fake_clock`` fixture from conftest (typed here, so no import from conftest)."""

    t: float

    def advance(self, seconds: float) -> float: ...


@pytest.fixture(scope="module")
def library() -> Library:
    root = Path(__file__).resolve().parent.parent
    return load_library(root / "agendas", root / "icebreakers")


@pytest.fixture
def m(library: Library, fake_clock: FakeClock) -> Meeting:
    """Network night with Fay (facilitator), Bob, alice and Carl, in the name game (join order)."""
    agenda = library.agendas["network-night"]
    meeting = Meeting("m1", agenda, dict(library.decks), created_at=fake_clock.t)
    meeting.arrive("f", "Fay", "facilitator", fake_clock.advance(1))
    for pid, name in (("p1", "Bob"), ("p2", "alice"), ("p3", "Carl")):
        meeting.arrive(pid, name, "participant", fake_clock.advance(1))
    act(meeting, "f", "start", fake_clock)
    act(meeting, "f", "next-item", fake_clock)
    return meeting


def act(m: Meeting, who: str, action: str, t: FakeClock, **args: Any) -> None:
    m.act(who, action, args, t.advance(1))


def turns(m: Meeting) -> list[dict[str, Any]]:
    return [dict(e.data) for e in m.log.of_kind("turn")]


def progress(m: Meeting) -> dict[str, Any]:
    """Everything about the round that must survive leaving the item and coming back."""
    assert m.rotation is not None
    data = m.rotation.to_dict()
    data["used"] = m.turns.prompts.to_dict()
    return data


def two_turns_then_away_and_back(m: Meeting, t: FakeClock, away: float = 120) -> dict[str, Any]:
    """Two turns done, then previous item and next item again; return the progress before."""
    act(m, "f", "next-speaker", t)
    act(m, "f", "next-speaker", t)
    t.advance(5)
    before = progress(m)
    act(m, "f", "previous-item", t)
    assert (m.clock.index, m.rotation, m.clock.speaker) == (0, None, None)
    t.advance(away)
    act(m, "f", "next-item", t)
    return before


def test_previous_then_next_item_carries_on_the_round(m: Meeting, fake_clock: FakeClock) -> None:
    assert m.rotation is not None
    first_prompt = m.rotation.prompt
    before = two_turns_then_away_and_back(m, fake_clock)
    assert before["current"] == "p2" and before["queue"] == ["p3"]
    assert before["spoken"] == ["f", "p1"]
    assert progress(m) == before  # same speaker, prompt, queue, spoken, order and prompts used
    assert m.clock.index == 1 and m.clock.status == RUNNING
    # The held turn goes on with the time it had left: 30 s minus the 6 s it ran before.
    assert m.clock.speaker is not None
    assert m.clock.speaker.left(fake_clock.t) == pytest.approx(30 - 6)
    view = m.view("p1", fake_clock.t)["icebreaker"]
    assert (view["speaker"], view["up_next"], view["spoken"]) == ("p2", "p3", ["f", "p1"])
    # No phantom turn: only the two finished turns are logged.
    assert [(t["person"], t["outcome"]) for t in turns(m)] == [("f", "done"), ("p1", "done")]
    assert turns(m)[0]["prompt"] == first_prompt
    fake_clock.advance(10)
    act(m, "f", "next-speaker", fake_clock)
    last = turns(m)[-1]
    assert (last["person"], last["prompt"], last["outcome"]) == ("p2", before["prompt"], "done")
    assert last["actual"] == pytest.approx(6 + 11)  # the time away does not count
    assert m.rotation is not None and m.rotation.current == "p3"
    prompts = [t["prompt"] for t in turns(m)] + [m.rotation.prompt]
    assert len(set(prompts)) == len(prompts)  # still no prompt twice


def test_going_back_and_forth_twice_and_to_the_same_item(m: Meeting, fake_clock: FakeClock) -> None:
    before = two_turns_then_away_and_back(m, fake_clock)
    del before["used"]  # the other item draws from its own deck meanwhile
    act(m, "f", "go-to-item", fake_clock, index=4)  # another icebreaker: its own round
    assert m.rotation is not None and m.rotation.deck_id == "quick-history"
    other = progress(m)
    act(m, "f", "go-to-item", fake_clock, index=1)
    assert {k: v for k, v in progress(m).items() if k != "used"} == before
    act(m, "f", "go-to-item", fake_clock, index=1)  # restarting the item keeps the round too
    assert {k: v for k, v in progress(m).items() if k != "used"} == before
    act(m, "f", "go-to-item", fake_clock, index=4)
    assert progress(m)["current"] == other["current"]
    assert progress(m)["queue"] == other["queue"]
    assert len(turns(m)) == 2


def test_reshuffle_only_shuffles_who_is_waiting(m: Meeting, fake_clock: FakeClock) -> None:
    for pid in ("p4", "p5", "p6"):
        m.arrive(pid, pid, "participant", fake_clock.t)
    before = two_turns_then_away_and_back(m, fake_clock)
    act(m, "f", "reshuffle", fake_clock)
    after = progress(m)
    assert (after["current"], after["spoken"]) == (before["current"], before["spoken"])
    assert sorted(after["queue"]) == sorted(before["queue"])


def test_people_who_came_and_went_meanwhile_are_reconciled(
    m: Meeting, fake_clock: FakeClock
) -> None:
    act(m, "f", "next-speaker", fake_clock)  # p1 speaks, p2 and p3 wait
    act(m, "f", "previous-item", fake_clock)
    m.depart("p3", fake_clock.advance(1))
    m.arrive("p9", "Nina", "participant", fake_clock.advance(1))
    act(m, "p2", "opt-out", fake_clock, sit_out=True)
    act(m, "f", "next-item", fake_clock)
    assert m.rotation is not None
    assert (m.rotation.current, m.rotation.queue) == ("p1", ["p9"])
    act(m, "p2", "opt-out", fake_clock, sit_out=False)
    assert m.rotation.queue == ["p9", "p2"]


def test_a_held_speaker_who_left_meanwhile_loses_the_floor(
    m: Meeting, fake_clock: FakeClock
) -> None:
    act(m, "f", "next-speaker", fake_clock)  # p1 has the floor
    act(m, "f", "previous-item", fake_clock)
    m.depart("p1", fake_clock.advance(1))
    act(m, "f", "next-item", fake_clock)
    assert m.rotation is not None and m.rotation.current == "p2"
    assert m.clock.speaker is not None and m.clock.speaker.left(fake_clock.t) == 30
    assert [(t["person"], t["outcome"]) for t in turns(m)] == [("f", "done"), ("p1", "left")]
    assert turns(m)[-1]["actual"] == pytest.approx(1)  # the second it had before the move


def test_held_turns_end_with_the_meeting_and_the_recap_lists_them_by_item(
    m: Meeting, fake_clock: FakeClock
) -> None:
    act(m, "f", "next-speaker", fake_clock)
    fake_clock.advance(8)
    act(m, "f", "next-item", fake_clock)  # p1's turn is held in the name game
    assert len(turns(m)) == 1
    act(m, "f", "next-speaker", fake_clock)  # a turn in funny questions
    act(m, "f", "end", fake_clock)
    assert m.rotation is None and m.clock.speaker is None
    held = [t for t in turns(m) if t["item"] == 1]
    assert [(t["person"], t["outcome"]) for t in held] == [("f", "done"), ("p1", "done")]
    assert held[-1]["actual"] == pytest.approx(9)
    recap = build_recap(m, fake_clock.t)
    assert [t.item for t in recap.turns] == ["Name game"] * 2 + ["Funny questions"] * 2


def test_a_refused_move_changes_nothing(library: Library, fake_clock: FakeClock) -> None:
    item = Item("Names", 600, icebreaker="name-game", per_speaker=30)
    m = Meeting("m2", Agenda("One item", (item,), 600), dict(library.decks), fake_clock.t)
    m.arrive("f", "Fay", "facilitator", fake_clock.t)
    m.arrive("p1", "Bob", "participant", fake_clock.t)
    act(m, "f", "start", fake_clock)
    before = json.dumps(m.to_dict())
    for action, args, code in (
        ("next-item", {}, "last-item"),
        ("previous-item", {}, "first-item"),
        ("go-to-item", {"index": 1}, "no-such-item"),
        ("go-to-item", {"index": -1}, "no-such-item"),
    ):
        with pytest.raises(MeetingError) as info:
            m.act("f", action, args, fake_clock.advance(1))
        assert info.value.code == code, action
        assert json.dumps(m.to_dict()) == before, action
    assert str(info.value) == "There is no such agenda item."


def test_snapshots_keep_every_round_and_the_held_turn(m: Meeting, fake_clock: FakeClock) -> None:
    act(m, "f", "next-speaker", fake_clock)
    act(m, "f", "next-item", fake_clock)  # name game held, funny questions in play
    saved = json.dumps(m.to_dict())
    back = Meeting.from_dict(json.loads(saved))
    assert json.dumps(back.to_dict()) == saved
    for meeting in (m, back):
        meeting.act("f", "previous-item", {}, fake_clock.t + 10)
        meeting.act("f", "next-speaker", {}, fake_clock.t + 20)
    assert json.dumps(back.to_dict()) == json.dumps(m.to_dict())
    assert back.rotation is not None and back.rotation.spoken == ["f", "p1"]


def test_an_older_snapshot_with_one_rotation_still_loads(m: Meeting, fake_clock: FakeClock) -> None:
    act(m, "f", "next-speaker", fake_clock)
    data = m.to_dict()
    turns_data = data.pop("turns")
    assert m.rotation is not None
    data["rotation"] = m.rotation.to_dict()
    data["prompts"] = turns_data["prompts"]
    back = Meeting.from_dict(json.loads(json.dumps(data)))
    assert back.rotation is not None
    assert back.rotation.to_dict() == m.rotation.to_dict()
    assert back.turns.prompts == m.turns.prompts
    back.act("f", "next-speaker", {}, fake_clock.advance(1))
    assert back.rotation.current == "p2"
    # Without any rotation (outside icebreakers) there is none after loading either.
    data["rotation"] = None
    assert Meeting.from_dict(data).rotation is None


def test_private_actions_are_a_meeting_rule(m: Meeting) -> None:
    assert m.is_private("note") and m.is_private("delete-notes")
    assert not m.is_private("chat") and not m.is_private("next-speaker")


def test_a_groups_item_with_a_deck_runs_no_whole_room_turns(
    library: Library, fake_clock: FakeClock
) -> None:
    from facilitator.domain.agenda import Groups

    pairs = Item("Meet in pairs", 240, icebreaker="quick-history", groups=Groups(2, 2, 120))
    agenda = Agenda(title="Pairs", time_limit=600, items=(pairs,))
    meeting = Meeting("m2", agenda, dict(library.decks), created_at=fake_clock.t)
    meeting.arrive("f", "Fay", "facilitator", fake_clock.advance(1))
    for pid, name in (("p1", "Bob"), ("p2", "alice"), ("p3", "Carl")):
        meeting.arrive(pid, name, "participant", fake_clock.advance(1))
    act(meeting, "f", "start", fake_clock)
    # The deck gives each group its prompt card; nobody in the room gets a turn or a timer.
    assert meeting.rotation is None
    assert meeting.clock.speaker is None
    assert meeting.view("p1", fake_clock.t)["icebreaker"] is None
