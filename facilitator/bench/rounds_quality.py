"""How well the small-group scheduler mixes people: repeated pairs, scheduler vs random shuffle.

Run ``python -m facilitator.bench.rounds_quality``. For each meetup size and group size it plans
up to 6 rounds (N-1 when fewer people) and counts repeated pairs: two people sharing a group
after they already shared one in an earlier round. "random" is a fresh shuffle into the same
group sizes each round (what BigBlueButton's "randomly assign" does), averaged over several
seeds. "bound" adds up, round by round, the repeats no grouping could avoid given the
scheduler's own earlier rounds (each person's shortfall of new faces, halved).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence

from ..domain.rounds import Pair, group_sizes, lower_bound, plan_round, repeats

SIZES = (4, 5, 6, 7, 8, 9, 12, 16, 20, 25, 33, 40)
GROUP_SIZES = (2, 3, 4)
MAX_ROUNDS = 6


def scheduler_repeats(people: Sequence[str], size: int, rounds: int, seed: str) -> tuple[int, int]:
    """Repeated pairs over the scheduler's rounds, and the sum of each round's lower bound."""
    met: set[Pair] = set()
    total = bound = 0
    for number in range(1, rounds + 1):
        bound += lower_bound(people, size, met)
        plan = plan_round(people, size, met, (), seed, number)
        total += repeats(plan.groups, met)
        met |= plan.pairs()
    return total, bound


def random_repeats(people: Sequence[str], size: int, rounds: int, seed: int) -> int:
    """Repeated pairs when each round is a fresh random shuffle into the same group sizes."""
    rng = random.Random(seed)
    met: set[Pair] = set()
    total = 0
    for _ in range(rounds):
        order = list(people)
        rng.shuffle(order)
        groups, at = [], 0
        for k in group_sizes(len(order), size):
            groups.append(order[at : at + k])
            at += k
        total += repeats(groups, met)
        for group in groups:
            met |= {(a, b) if a <= b else (b, a) for a in group for b in group if a != b}
    return total


def table(seeds: int) -> str:
    """The comparison as a plain-text table, one row per (people, group size)."""
    lines = [
        f"{'people':>6}  {'size':>4}  {'groups':<12}  {'rounds':>6}  "
        f"{'scheduler':>9}  {'bound':>5}  {'random':>7}  {'ms/round':>8}"
    ]
    ours_total = random_total = 0.0
    for n in SIZES:
        people = [f"p{i:02d}" for i in range(n)]
        for size in GROUP_SIZES:
            rounds = min(MAX_ROUNDS, n - 1)
            started = time.perf_counter()
            ours, bound = scheduler_repeats(people, size, rounds, seed=f"bench-{n}-{size}")
            ms = (time.perf_counter() - started) * 1000 / rounds
            theirs = sum(random_repeats(people, size, rounds, s) for s in range(seeds)) / seeds
            ours_total += ours
            random_total += theirs
            sizes = group_sizes(n, size)
            shape = " + ".join(f"{sizes.count(k)}×{k}" for k in sorted(set(sizes), reverse=True))
            lines.append(
                f"{n:>6}  {size:>4}  {shape:<12}  {rounds:>6}  "
                f"{ours:>9}  {bound:>5}  {theirs:>7.1f}  {ms:>8.1f}"
            )
    lines.append(
        f"total repeated pairs: scheduler {ours_total:.0f}, random {random_total:.1f} "
        f"(mean of {seeds} shuffles)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=20, help="random shuffles to average")
    args = parser.parse_args(argv)
    print(table(max(1, args.seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
