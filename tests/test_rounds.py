"""Rounds in small groups: group sizes, new people each round, avoid pairs, arrivals, leaving."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import pytest

from facilitator.bench.rounds_quality import table
from facilitator.domain.rounds import (
    Pair,
    RoundPlan,
    group_sizes,
    leave,
    lower_bound,
    pair,
    pairs_of,
    place_late,
    plan_round,
    repeats,
    schedule,
)

SIZES = (4, 5, 6, 7, 8, 9, 12, 16, 20, 25, 33, 40)
"""A representative subset of meetup sizes (the test file must stay fast)."""
EVEN = tuple(n for n in SIZES if n % 2 == 0)
ODD = tuple(n for n in SIZES if n % 2)


def people(n: int) -> list[str]:
    return [f"p{i:02d}" for i in range(n)]


def total_repeats(plans: Sequence[RoundPlan]) -> int:
    """Repeated pairs over a schedule: pairs who share a group after meeting in an earlier round."""
    met: set[Pair] = set()
    total = 0
    for plan in plans:
        total += repeats(plan.groups, met)
        met |= plan.pairs()
    return total


def random_shuffle(names: Sequence[str], size: int, rounds: int, seed: int) -> list[RoundPlan]:
    """What BigBlueButton's "randomly assign" does: a fresh shuffle into the same group sizes."""
    rng = random.Random(seed)
    plans = []
    for number in range(1, rounds + 1):
        order = list(names)
        rng.shuffle(order)
        groups, at = [], 0
        for k in group_sizes(len(order), size):
            groups.append(tuple(order[at : at + k]))
            at += k
        plans.append(RoundPlan(number, tuple(groups)))
    return plans


def assert_well_formed(plan: RoundPlan, present: Sequence[str]) -> None:
    """Everyone present is in exactly one group or waiting; nobody alone; sizes within one."""
    placed = [p for group in plan.groups for p in group]
    assert sorted(placed + list(plan.waiting)) == sorted(present)
    assert all(len(group) >= 2 for group in plan.groups)
    if plan.groups:
        lengths = [len(group) for group in plan.groups]
        assert max(lengths) - min(lengths) <= 1, lengths


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [
        (0, 3, []),
        (1, 3, []),
        (2, 3, [2]),
        (2, 6, [2]),
        (3, 2, [3]),
        (7, 2, [3, 2, 2]),
        (9, 2, [3, 2, 2, 2]),
        (8, 3, [3, 3, 2]),
        (10, 4, [4, 3, 3]),
        (40, 4, [4] * 10),
        (13, 6, [7, 6]),
    ],
)
def test_group_sizes(n: int, size: int, expected: list[int]) -> None:
    assert group_sizes(n, size) == expected


@pytest.mark.parametrize("size", [1, 7])
def test_group_size_out_of_range_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="from 2 to 6"):
        group_sizes(10, size)


def test_one_person_waits_and_two_make_a_pair() -> None:
    assert plan_round(["a"], 3) == RoundPlan(1, (), ("a",))
    assert plan_round([], 3) == RoundPlan(1, ())
    plan = plan_round(["a", "b"], 3)
    assert sorted(plan.groups[0]) == ["a", "b"] and len(plan.groups) == 1


@pytest.mark.parametrize("n", EVEN)
def test_pairs_never_repeat_for_n_minus_one_rounds(n: int) -> None:
    plans = schedule(people(n), 2, n - 1, seed="m1:3")
    for plan in plans:
        assert_well_formed(plan, people(n))
    assert total_repeats(plans) == 0
    # After a full round-robin everyone has met everyone exactly once.
    assert set().union(*(plan.pairs() for plan in plans)) == pairs_of([people(n)])


@pytest.mark.parametrize("n", ODD)
def test_pairs_with_an_odd_count_make_one_trio(n: int) -> None:
    """Odd N: one trio per round. Its extra pairs cost new faces, so fewer perfect rounds exist.

    A second round of 5 is impossible without a repeat (the new trio would need two of the old
    pair or two of the old trio); from 7 people on, (N-1)/2 rounds with no repeat are found.
    """
    perfect = 1 if n == 5 else min(6, (n - 1) // 2)
    plans = schedule(people(n), 2, perfect, seed=n)
    for plan in plans:
        assert_well_formed(plan, people(n))
        assert sorted(len(g) for g in plan.groups) == [2] * (n // 2 - 1) + [3]
    assert total_repeats(plans) == 0


@pytest.mark.parametrize("size", [3, 4])
@pytest.mark.parametrize("n", SIZES)
def test_bigger_groups_have_no_repeats_while_there_is_room(n: int, size: int) -> None:
    """Trios and quads: no repeat in any round while there are plenty of new faces left.

    "Plenty": each person has met at most half of the others before the round, and there are at
    least as many groups as people in the largest group (otherwise a second round cannot avoid
    putting two people from one earlier group together again).
    """
    sizes = group_sizes(n, size)
    rounds = min(6, n - 1)
    plans = schedule(people(n), size, rounds, seed="night")
    for plan in plans:
        assert_well_formed(plan, people(n))
    largest = max(sizes)
    room = (n - 1) // (2 * (largest - 1)) if len(sizes) >= largest else 1
    assert total_repeats(plans[: max(1, min(rounds, room))]) == 0
    met: set[Pair] = set()
    for plan in plans:
        assert repeats(plan.groups, met) >= lower_bound(people(n), size, met)
        met |= plan.pairs()


def test_known_designs_are_found() -> None:
    """9 people in trios can have 4 rounds without a repeat (and then everyone has met)."""
    plans = schedule(people(9), 3, 4, seed=1)
    assert total_repeats(plans) == 0
    assert len(set().union(*(plan.pairs() for plan in plans))) == 36


def test_beats_random_shuffling() -> None:
    """Fewer repeated pairs than a fresh random shuffle each round, size by size and overall."""
    ours_total = random_total = 0
    for n in SIZES:
        for size in (2, 3, 4):
            rounds = min(6, n - 1)
            ours = total_repeats(schedule(people(n), size, rounds, seed=f"{n}-{size}"))
            theirs = sum(
                total_repeats(random_shuffle(people(n), size, rounds, seed)) for seed in range(3)
            )
            assert 3 * ours <= theirs, (n, size, ours, theirs)
            ours_total += 3 * ours
            random_total += theirs
    assert ours_total < random_total


def test_same_seed_same_groups_and_other_seeds_differ() -> None:
    names = people(12)
    first = schedule(names, 3, 3, seed="abc")
    assert schedule(names, 3, 3, seed="abc") == first
    assert schedule(names, 3, 3, seed="abd") != first


def test_history_from_earlier_items_counts() -> None:
    """A later group item continues the meeting's circle when it uses the meeting's seed."""
    names = people(8)
    earlier = schedule(names, 2, 3, seed="m1")
    met = set().union(*(plan.pairs() for plan in earlier))
    later = schedule(names, 2, 4, seed="m1", met=met)
    assert not any(plan.pairs() & met for plan in later)
    assert total_repeats(later) == 0
    # Another seed cannot follow the circle, but the history still counts.
    other = schedule(people(12), 3, 2, seed="x", met=met)
    assert not any(plan.pairs() & met for plan in other)


def test_avoid_pairs_are_always_honoured() -> None:
    names = people(12)
    rng = random.Random(7)
    avoid = {pair(*rng.sample(names, 2)) for _ in range(10)}
    for size in (2, 3, 4):
        plans = schedule(names, size, 6, avoid=avoid, seed="x")
        for plan in plans:
            assert_well_formed(plan, names)
            assert not plan.pairs() & avoid
            assert plan.waiting == ()


def test_avoid_pairs_are_honoured_by_pairs_in_a_full_round_robin() -> None:
    names = people(10)
    avoid = {pair("p00", "p01"), pair("p02", "p03")}
    plans = schedule(names, 2, 7, avoid=avoid, seed=3)
    assert not set().union(*(plan.pairs() for plan in plans)) & avoid
    assert total_repeats(plans) == 0


def test_when_no_grouping_can_honour_avoid_someone_waits() -> None:
    # Two people who must not meet: no group at all is better than putting them together.
    plan = plan_round(["a", "b"], 2, avoid=[("b", "a")])
    assert plan.groups == () and sorted(plan.waiting) == ["a", "b"]
    # Three, where c avoids both others: a and b pair up, c waits.
    plan = plan_round(["a", "b", "c"], 2, avoid=[("a", "c"), ("b", "c")])
    assert [sorted(group) for group in plan.groups] == [["a", "b"]]
    assert plan.waiting == ("c",)


def test_late_joiner_goes_to_the_smallest_group_with_fewest_repeats() -> None:
    plan = RoundPlan(2, (("a", "b", "c"), ("d", "e"), ("f", "g")))
    met = [pair("x", "d")]
    joined = place_late(plan, "x", met)
    assert joined.groups == (("a", "b", "c"), ("d", "e"), ("f", "g", "x"))
    assert_well_formed(joined, [*"abcdefg", "x"])
    # Already placed: nothing changes.
    assert place_late(joined, "x", met) == joined


def test_late_joiner_skips_groups_they_must_avoid() -> None:
    plan = RoundPlan(1, (("a", "b"), ("c", "d"), ("e", "f", "g")))
    avoid = [pair("z", "a"), pair("z", "d")]
    joined = place_late(plan, "z", avoid=avoid)
    assert joined.groups[2] == ("e", "f", "g", "z")
    assert not joined.pairs() & {pair(*p) for p in avoid}


def test_late_joiner_pairs_with_someone_waiting() -> None:
    alone = plan_round(["a"], 3)
    joined = place_late(alone, "b")
    assert joined == RoundPlan(1, (("a", "b"),))
    assert place_late(alone, "b", avoid=[("a", "b")]).waiting == ("a", "b")


def test_leaving_never_leaves_anyone_alone() -> None:
    plan = RoundPlan(3, (("a", "b"), ("c", "d"), ("e", "f"), ("g", "h", "i")))
    after = leave(plan, "a", met=[pair("b", "c")])
    # b joins a smallest group (so sizes stay within one), the one without a repeat.
    assert after.groups == (("c", "d"), ("e", "f", "b"), ("g", "h", "i"))
    assert_well_formed(after, [*"bcdefghi"])
    assert after.group_of("a") is None
    # The last pair breaks up: the one left waits in the main room.
    last = leave(RoundPlan(1, (("a", "b"),)), "b")
    assert last == RoundPlan(1, (), ("a",))
    # Someone waiting leaves: they are simply gone.
    assert leave(last, "a") == RoundPlan(1, ())
    # The one left alone pairs up with someone waiting, unless they must not meet.
    kept_apart = RoundPlan(1, (("a", "b"),), ("c",))
    assert leave(kept_apart, "b") == RoundPlan(1, (("c", "a"),))
    assert leave(kept_apart, "b", avoid=[("c", "a")]) == RoundPlan(1, (), ("c", "a"))


def test_late_joiners_and_leavers_over_a_meeting() -> None:
    rng = random.Random(5)
    present = people(9)
    met: set[Pair] = set()
    avoid = {pair("p01", "p02")}
    for number in range(1, 5):
        plan = plan_round(present, 3, met, avoid, seed="m", number=number)
        for step in range(4):
            if step % 2:
                plan = leave(plan, rng.choice(present), met, avoid)
            else:
                plan = place_late(plan, f"late{number}{step}", met, avoid)
            in_plan = [p for g in plan.groups for p in g] + list(plan.waiting)
            assert all(len(g) >= 2 for g in plan.groups)
            assert len(in_plan) == len(set(in_plan))
            assert not plan.pairs() & avoid
        present = [p for g in plan.groups for p in g]
        met |= plan.pairs()


def test_snapshot_and_restore() -> None:
    plan = plan_round(people(7), 2, seed="s", number=2)
    plan = leave(plan, "p03")
    restored = RoundPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert restored == plan
    assert restored.to_dict()["number"] == 2
    waiting = RoundPlan(1, (), ("a",))
    assert RoundPlan.from_dict(waiting.to_dict()) == waiting


def test_quality_table_compares_with_random() -> None:
    lines = table(seeds=2).splitlines()
    assert lines[0].split()[:3] == ["people", "size", "groups"]
    assert len(lines) == 2 + len(SIZES) * 3
    last = lines[-1].replace(",", "").split()
    ours, theirs = float(last[4]), float(last[6])
    assert ours < theirs / 2
