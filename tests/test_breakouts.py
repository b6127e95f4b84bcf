"""Rounds in small groups inside a meeting, with a fake clock: dealing, timing, late joiners,
leaving, a facilitator's visits and moves, private group chat, avoid lists and restarts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import pytest

from facilitator.domain.agenda import parse_agenda
from facilitator.domain.breakouts import LATE_PLACE, ROUND_WARNING
from facilitator.domain.meeting import Meeting, MeetingError, Notice
from facilitator.domain.recap import build_recap, people_met, to_markdown
from facilitator.domain.rounds import pair
from facilitator.library import Library, load_library

ROOT = Path(__file__).resolve().parent.parent
EACH = 120


class FakeClock(Protocol):
    """The ``fake_clock`` fixture from conftest."""

    t: float

    def advance(self, seconds: float) -> float: ...


def agenda_text(size: int = 2, rounds: int = 3, icebreaker: str = "") -> str:
    deck = f"    icebreaker: {icebreaker}\n" if icebreaker else ""
    return (
        "title: Rounds\nitems:\n"
        "  - title: Hello\n    duration: 2m\n"
        "  - title: Groups\n    duration: 10m\n"
        f"    groups:\n      size: {size}\n      rounds: {rounds}\n      each: {EACH}s\n"
        f"{deck}"
        "  - title: Bye\n    duration: 2m\n"
    )


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(ROOT / "agendas", ROOT / "icebreakers")


def meeting(
    library: Library, t: FakeClock, people: int = 5, facilitator_sits_out: bool = False, **kw: Any
) -> Meeting:
    agenda, _ = parse_agenda(agenda_text(**kw), "test.yaml", library.decks)
    used = {i.icebreaker for i in agenda.items if i.icebreaker}
    m = Meeting("m1", agenda, {d: library.decks[d] for d in used}, created_at=t.t)
    m.arrive("f", "Fay", "facilitator", t.advance(1))
    if facilitator_sits_out:
        m.act("f", "opt-out", {"sit_out": True}, t.t)
    for n in range(1, people + 1):
        m.arrive(f"p{n}", f"Person {n}", "participant", t.advance(1))
    return m


def act(m: Meeting, who: str, action: str, t: FakeClock, **args: Any) -> list[Notice]:
    return m.act(who, action, args, t.advance(1))


def refused(m: Meeting, who: str, action: str, t: FakeClock, **args: Any) -> str:
    """The action is refused and the meeting is exactly as it was."""
    before = json.dumps(m.to_dict())
    with pytest.raises(MeetingError) as info:
        m.act(who, action, args, t.t)
    assert json.dumps(m.to_dict()) == before, f"{action} changed the meeting"
    return info.value.code


def to_groups(m: Meeting, t: FakeClock) -> list[Notice]:
    act(m, "f", "start", t)
    return act(m, "f", "next-item", t)


def groups_of(m: Meeting) -> list[list[str]]:
    assert m.breakouts.live is not None
    return [list(g.members) for g in m.breakouts.live.groups]


def pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {pair(a, b) for g in groups for i, a in enumerate(g) for b in g[i + 1 :]}


def grouped(notices: list[Notice]) -> dict[str, dict[str, Any]]:
    return {str(n.to): dict(n.data) for n in notices if n.kind == "grouped"}


def test_rounds_deal_everyone_and_move_on_at_each_deadline(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t)  # Fay and five people: three pairs, the facilitator takes part
    notices = to_groups(m, t)
    told = grouped(notices)
    assert set(told) == {"f", "p1", "p2", "p3", "p4", "p5"}
    first = groups_of(m)
    assert sorted(len(g) for g in first) == [2, 2, 2]
    for person, value in told.items():
        assert person in value["members"] and value["reason"] == "dealt"
        assert value["round"] == 1 and value["rounds"] == 3
    # A member sees their own group only; the facilitator (taking part) also sees them all.
    view = m.view("p1", t.t)["groups"]
    assert view["running"] and view["round"] == 1 and view["timer_label"] == "Round time left"
    assert "p1" in view["yours"]["members"] and "all" not in view
    assert view["timer"]["deadline"] == pytest.approx(t.t + EACH)
    assert [g["members"] for g in m.view("f", t.t)["groups"]["all"]] == first
    spaces = m.media_spaces()
    for group in first:
        assert len({spaces[p] for p in group}) == 1
    assert len(set(spaces.values())) == 3

    seen = [first]
    for number in (2, 3):
        assert not grouped(m.tick(t.advance(EACH - 2)))  # not yet
        notices = m.tick(t.advance(3))
        assert {n.data["reason"] for n in notices if n.kind == "grouped"} == {"dealt"}
        assert m.view("p2", t.t)["groups"]["round"] == number
        seen.append(groups_of(m))
    # Six people, three rounds: nobody meets anyone twice.
    assert len(pairs(seen[0]) | pairs(seen[1]) | pairs(seen[2])) == 9
    notices = m.tick(t.advance(EACH + 1))
    back = grouped(notices)
    assert set(back) == {"f", "p1", "p2", "p3", "p4", "p5"}
    assert all(v["group"] is None and v["reason"] == "back" for v in back.values())
    assert m.breakouts.live is None and m.media_spaces() == {}
    view = m.view("p1", t.t)["groups"]
    assert view["finished"] and not view["running"] and view["yours"] is None
    # Coming back to the item does not start the rounds over.
    act(m, "f", "next-item", t)
    act(m, "f", "previous-item", t)
    assert m.breakouts.live is None


def test_the_warning_comes_once_per_round_and_pause_stops_the_round(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t)
    to_groups(m, t)
    m.tick(t.advance(EACH - ROUND_WARNING - 5))
    warnings = [n for n in m.tick(t.advance(5)) if n.kind == "round-warning"]
    assert [(n.to, n.data["round"]) for n in warnings] == [(None, 1)]
    assert not [n for n in m.tick(t.advance(1)) if n.kind == "round-warning"]
    act(m, "f", "pause", t)
    left = m.breakouts.live.timer.left(t.t) if m.breakouts.live else 0
    m.tick(t.advance(600))
    assert m.breakouts.live is not None and m.breakouts.live.number == 1
    assert m.breakouts.live.timer.left(t.t) == left
    act(m, "f", "resume", t)
    m.tick(t.advance(left + 1))
    assert m.breakouts.live.number == 2


def test_late_joiners_join_the_smallest_group_or_wait_for_the_next_round(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t, people=4)  # five people in pairs: 3 + 2
    to_groups(m, t)
    assert sorted(len(g) for g in groups_of(m)) == [2, 3]
    m.arrive("p5", "Late", "participant", t.advance(10))
    told = grouped(m.take_notices())
    assert told["p5"]["reason"] == "late" and len(told["p5"]["members"]) == 3
    assert sorted(len(g) for g in groups_of(m)) == [3, 3]
    # With a minute or less left, the next one waits in the main room, and is told so.
    assert m.breakouts.live is not None
    t.advance(m.breakouts.live.timer.left(t.t) - LATE_PLACE)
    m.arrive("p6", "Later", "participant", t.t)
    told = grouped(m.take_notices())
    assert told["p6"] == {
        "round": 1,
        "rounds": 3,
        "group": None,
        "members": [],
        "reason": "wait",
    }
    view = m.view("p6", t.t)["groups"]
    assert view["waiting"] and view["yours"] is None
    assert m.view("f", t.t)["groups"]["main_room"] == ["p6"]
    assert m.media_spaces()["p6"] == ""
    m.tick(t.advance(LATE_PLACE + 1))
    assert "p6" in {p for g in groups_of(m) for p in g}


def test_someone_left_alone_joins_another_group(library: Library, fake_clock: FakeClock) -> None:
    t = fake_clock
    m = meeting(library, t)
    to_groups(m, t)
    group = next(g for g in groups_of(m) if "p1" in g)
    partner = next(p for p in group if p != "p1")
    m.depart("p1", t.advance(1))
    told = grouped(m.take_notices())
    assert told[partner]["reason"] == "alone" and len(told[partner]["members"]) == 3
    assert sorted(len(g) for g in groups_of(m)) == [2, 3]
    assert "p1" not in m.media_spaces()
    # Their pair is gone: coming back, they join the smallest group like any late joiner.
    m.arrive("p1", "Person 1", "participant", t.advance(1))
    told = grouped(m.take_notices())
    assert told["p1"]["reason"] == "late" and len(told["p1"]["members"]) == 3


def test_a_reconnect_goes_back_to_the_same_group(library: Library, fake_clock: FakeClock) -> None:
    t = fake_clock
    m = meeting(library, t, size=3)  # six people: two trios
    to_groups(m, t)
    group = next(g for g in groups_of(m) if "p1" in g)
    m.depart("p1", t.advance(1))
    assert sorted(len(g) for g in groups_of(m)) == [2, 3]
    assert not grouped(m.take_notices())  # the two left stay together
    m.arrive("p1", "Person 1", "participant", t.advance(1))
    told = grouped(m.take_notices())
    assert told["p1"]["reason"] == "back" and sorted(told["p1"]["members"]) == sorted(group)


def test_facilitator_sits_out_visits_moves_broadcasts_extends_and_ends(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t, people=6, facilitator_sits_out=True)
    to_groups(m, t)
    assert "f" not in {p for g in groups_of(m) for p in g}
    assert m.view("f", t.t)["groups"]["main_room"] == ["f"]
    live = m.breakouts.live
    assert live is not None
    a, b, c = live.groups
    # Participants may not visit, move, broadcast or end anything.
    for action, args in (
        ("visit-group", {"group": b.id}),
        ("move-to-group", {"person": a.members[0], "group": b.id}),
        ("broadcast", {"text": "hi"}),
        ("extend-round", {"seconds": 60}),
        ("end-round", {}),
    ):
        assert refused(m, a.members[0], action, t, **args) == "not-allowed"
    assert refused(m, "f", "visit-group", t, group="nope") == "no-such-group"
    act(m, "f", "visit-group", t, group=b.id)
    spaces = m.media_spaces()
    assert spaces["f"] == b.id and all(spaces[p] == b.id for p in b.members)
    assert m.view("f", t.t)["groups"]["visiting"] == b.id
    assert m.view(b.members[0], t.t)["groups"]["yours"]["visitors"] == ["f"]
    # Chat in a group reaches its members and visitor only, and only their history shows it.
    notices = act(m, "f", "chat", t, text="How is it going?")
    assert sorted(str(n.to) for n in notices) == sorted([*b.members, "f"])
    assert notices[0].data["group"] == b.id
    act(m, a.members[0], "chat", t, text="group a only")
    act(m, "f", "leave-group", t)
    assert m.media_spaces()["f"] == ""
    main = act(m, "f", "chat", t, text="everyone")
    assert [(n.to, n.data["group"]) for n in main] == [(None, None)]
    assert [x["text"] for x in m.chat_for(a.members[1])] == ["group a only", "everyone"]
    assert [x["text"] for x in m.chat_for(b.members[0])] == ["How is it going?", "everyone"]
    assert [x["text"] for x in m.chat_for(c.members[0])] == ["everyone"]
    assert [x["text"] for x in m.chat_for("f")] == ["How is it going?", "everyone"]
    # Move someone from a to c: a's other member is left alone and joins another group.
    moved, lonely = a.members
    told = grouped(act(m, "f", "move-to-group", t, person=moved, group=c.id))
    assert told[moved]["reason"] == "moved" and moved in c.members
    assert told[lonely]["reason"] == "alone" and lonely in b.members
    assert sorted(len(g) for g in groups_of(m)) == [3, 3]
    notices = act(m, "f", "broadcast", t, text="Two minutes to go!")
    assert [(n.kind, n.to, n.data["text"]) for n in notices] == [
        ("broadcast", None, "Two minutes to go!")
    ]
    assert refused(m, "f", "broadcast", t, text="x" * 201) == "bad-message"
    deadline = live.timer.deadline
    assert deadline is not None
    act(m, "f", "extend-round", t, seconds=60)
    assert live.timer.deadline == deadline + 60
    act(m, "f", "end-round", t)
    assert m.breakouts.live is not None and m.breakouts.live.number == 2
    act(m, "f", "end-round", t)
    act(m, "f", "end-round", t)
    assert m.breakouts.live is None
    assert refused(m, "f", "end-round", t) == "no-groups"
    assert refused(m, "f", "visit-group", t, group=b.id) == "no-groups"


def test_a_member_asks_for_help_and_a_member_cannot_visit(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t, people=3)
    m.arrive("f2", "Gus", "facilitator", t.advance(1))
    to_groups(m, t)
    live = m.breakouts.live
    assert live is not None
    asker = "p1"
    notices = act(m, asker, "ask-help", t)
    assert sorted(str(n.to) for n in notices if n.kind == "help") == ["f", "f2"]
    assert {n.data["person"] for n in notices} == {asker}
    other = next(g for g in live.groups if "f" not in g.members)
    if "f" in {p for g in live.groups for p in g.members}:
        assert refused(m, "f", "visit-group", t, group=other.id) == "in-a-group"
    act(m, "f", "end-round", t)
    act(m, "f", "end-round", t)
    act(m, "f", "end-round", t)
    assert refused(m, asker, "ask-help", t) == "not-in-group"


def test_group_prompts_never_repeat_and_any_member_draws_the_next(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t, size=3, icebreaker="funny-questions", people=8)
    to_groups(m, t)
    live = m.breakouts.live
    assert live is not None
    prompts = [g.prompt for g in live.groups]
    assert len(prompts) == 3 and all(prompts) and len(set(prompts)) == 3
    member = live.groups[0].members[1]
    view = m.view(member, t.t)["groups"]["yours"]
    assert view["prompt"] == prompts[0] and view["deck_title"]
    act(m, member, "next-card", t)
    assert live.groups[0].prompt not in prompts
    assert [g.prompt for g in live.groups[1:]] == prompts[1:]
    m.arrive("p9", "Late", "participant", t.t)  # placed in a group (plenty of time left)
    act(m, "f", "opt-out", t, sit_out=True)
    assert refused(m, "f", "next-card", t) == "not-in-group"
    used = {g.prompt for g in live.groups} | set(prompts)
    act(m, "f", "end-round", t)
    assert m.breakouts.live is not None
    assert not {g.prompt for g in m.breakouts.live.groups} & used


def test_avoid_is_honoured_and_nobody_else_ever_learns_of_it(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t, people=5, rounds=5)
    act(m, "p1", "avoid", t, person="p2", value=True)
    act(m, "p1", "avoid", t, person="p3", value=True)
    act(m, "p1", "avoid", t, person="p3", value=False)
    assert m.is_private("avoid")
    assert refused(m, "p1", "avoid", t, person="p1", value=True) == "no-such-person"
    assert refused(m, "p1", "avoid", t, person="p2", value="yes") == "bad-request"
    assert m.view("p1", t.t)["avoiding"] == ["p2"]
    to_groups(m, t)
    for _ in range(5):
        assert m.breakouts.live is not None
        assert not any({"p1", "p2"} <= set(g) for g in groups_of(m))
        # Nobody but p1 can tell: no one else's view mentions it.
        for viewer in ("f", "p2", "p3", "p4", "p5"):
            view = m.view(viewer, t.t)
            assert view["avoiding"] == []
            assert "avoid" not in json.dumps(view).replace('"avoiding": []', "")
        act(m, "f", "end-round", t)
    recap = build_recap(m, t.t)
    shared = json.dumps(recap.to_dict()) + to_markdown(recap, {}, {})
    assert "avoid" not in shared
    assert "avoid" not in json.dumps([e.data for e in m.log.events])


def test_a_snapshot_mid_round_brings_back_the_groups_and_the_deadline(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t, people=5)
    to_groups(m, t)
    act(m, "p1", "avoid", t, person="p2", value=True)
    act(m, "f", "end-round", t)
    act(m, "p3", "chat", t, text="in my group")
    assert m.breakouts.live is not None
    before = (groups_of(m), m.breakouts.live.timer.deadline, m.breakouts.live.number)
    copy = Meeting.from_dict(json.loads(json.dumps(m.to_dict())))
    copy.restored()
    live = copy.breakouts.live
    assert live is not None
    assert ([list(g.members) for g in live.groups], live.timer.deadline, live.number) == before
    assert copy.breakouts.met == m.breakouts.met
    assert copy.view("p1", t.t)["avoiding"] == ["p2"]
    assert copy.chat_for("p3") == m.chat_for("p3")
    # People who reconnect are back in their own group; the deadline still moves things on.
    for person in ("f", "p1", "p2", "p3", "p4", "p5"):
        copy.arrive(person, person, "participant", t.advance(1))
    assert [list(g.members) for g in live.groups] == before[0]
    copy.tick(t.advance(EACH))
    assert copy.breakouts.live is not None and copy.breakouts.live.number == 3


def test_the_recap_lists_the_rounds_and_the_people_each_person_met(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t, people=3, rounds=1)  # four people: two pairs
    to_groups(m, t)
    groups = groups_of(m)
    act(m, "f", "end-round", t)
    recap = build_recap(m, t.t)
    names = {p.id: p.name for p in m.people.values()}
    assert [(r.item, r.round) for r in recap.rounds] == [("Groups", 1)]
    assert recap.rounds[0].groups == [[names[p] for p in g] for g in groups]
    # Everyone was in the main call together, so each met all three others.
    assert sorted(people_met(m, "p1")) == sorted(n for p, n in names.items() if p != "p1")


def test_someone_who_only_met_their_group(library: Library, fake_clock: FakeClock) -> None:
    t = fake_clock
    m = meeting(library, t, people=3, rounds=2)
    to_groups(m, t)
    m.arrive("p4", "Late", "participant", t.advance(1))  # straight into a group
    group = next(g for g in groups_of(m) if "p4" in g)
    m.depart("p4", t.advance(1))
    assert m.breakouts.live is not None
    met = people_met(m, "p4")
    assert sorted(met) == sorted(m.people[p].name for p in group if p != "p4")


def test_a_visit_ends_when_the_visitor_takes_part_or_steps_down(
    library: Library, fake_clock: FakeClock
) -> None:
    t = fake_clock
    m = meeting(library, t, people=4, facilitator_sits_out=True)
    m.arrive("f2", "Gus", "facilitator", t.advance(1))
    act(m, "f2", "opt-out", t, sit_out=True)
    to_groups(m, t)
    live = m.breakouts.live
    assert live is not None
    first, second = live.groups
    act(m, "f", "visit-group", t, group=first.id)
    act(m, "f", "opt-out", t, sit_out=False)  # taking part: dealt in, no longer a visitor
    assert m.view("f", t.t)["groups"]["visiting"] is None
    assert m.breakouts.group_of("f") is live.group_of("f") is not None
    act(m, "f2", "visit-group", t, group=second.id)
    assert m.media_spaces()["f2"] == second.id
    act(m, "f2", "step-down", t)
    assert m.media_spaces()["f2"] == ""
    assert refused(m, "f2", "visit-group", t, group=second.id) == "not-allowed"
