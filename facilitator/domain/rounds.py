"""Rounds in small groups: who talks with whom in each round, so everyone meets someone new.

The scheduler plans one round at a time from the people present, the pairs who have already met
in this meeting and the pairs who asked not to be put together (always honoured, never shown).
It is deterministic for a seed: pass one seed for the whole meeting (its id, say), so the rounds
of every group item continue the same circle.

How it works, and what "close to the best" means:

- Pairs use the circle method (one person fixed, the others rotate), starting from a seeded
  shuffle: N people get N-1 rounds in which nobody meets anyone twice. Each round takes the
  circle round with the fewest repeats, so a history made by this circle is always continued
  perfectly; when people joined or left, the search below is tried as well and the better wins.
- Every other case, and pairs whose circle no longer fits the history, use a search: a
  randomized greedy placement (hardest people first), then local improvement (swap two people,
  or move one from a larger group to a smaller one, while the repeat count drops, with a few
  random kicks), over several restarts within a fixed amount of work.
- The search stops as soon as it reaches a lower bound: each person needs at least
  ``smallest group - 1`` partners and has only so many people left they have not met, so the
  shortfall, summed over everyone and halved, is a number of repeats no grouping can beat.
  "Close" as tested: trios and quads get no repeat while each person has met at most half of
  the others (and there are at least as many groups as people in a group, without which a
  second round cannot avoid reuniting two people); beyond that, the repeats per round are
  compared with this bound and with random shuffling in
  ``python -m facilitator.bench.rounds_quality``.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MIN_SIZE = 2
MAX_SIZE = 6
AVOID_WEIGHT = 1_000_000
"""Cost of putting two people together who asked not to be: far above any number of repeats."""
SEARCH_BUDGET = 40_000
"""Swap evaluations the search may spend on one round (a few tens of milliseconds)."""
RESTARTS = 8
"""Fresh greedy starts of the search."""
KICKS = 6
"""Random swaps tried from each start once improvement stops."""

Pair = tuple[str, str]
"""Two people's ids, in sorted order."""


def pair(a: str, b: str) -> Pair:
    """The pair of ``a`` and ``b``, the same whichever comes first."""
    return (a, b) if a <= b else (b, a)


def pairs_of(groups: Iterable[Sequence[str]]) -> set[Pair]:
    """Every pair of people who share a group."""
    found: set[Pair] = set()
    for group in groups:
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                found.add(pair(a, b))
    return found


def repeats(groups: Iterable[Sequence[str]], met: Collection[Pair]) -> int:
    """How many pairs in these groups have already met."""
    known = _pairs(met)
    return sum(1 for p in pairs_of(groups) if p in known)


def group_sizes(people: int, size: int) -> list[int]:
    """Group sizes for a round: the count of groups nearest ``people / size``, sizes within one.

    Halves round up; nobody is ever alone (7 people in pairs: 3, 2, 2), and fewer than two
    people make no group at all.
    """
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"group size must be from {MIN_SIZE} to {MAX_SIZE}")
    if people < MIN_SIZE:
        return []
    count = min(max(1, (2 * people + size) // (2 * size)), people // MIN_SIZE)
    base, extra = divmod(people, count)
    return [base + 1] * extra + [base] * (count - extra)


@dataclass(frozen=True)
class RoundPlan:
    """One round of an item in small groups: who is in which group, and who waits."""

    number: int
    """The round, counting from 1."""
    groups: tuple[tuple[str, ...], ...]
    """Person ids in each group."""
    waiting: tuple[str, ...] = ()
    """People in no group, who stay in the main room (one person alone, or no group fits)."""

    def pairs(self) -> set[Pair]:
        """Every pair who share a group this round."""
        return pairs_of(self.groups)

    def group_of(self, person: str) -> int | None:
        """The index of ``person``'s group, or None when they are in none."""
        for index, group in enumerate(self.groups):
            if person in group:
                return index
        return None

    def to_dict(self) -> dict[str, object]:
        """Return the plan as plain JSON-ready data."""
        return {
            "number": self.number,
            "groups": [list(group) for group in self.groups],
            "waiting": list(self.waiting),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RoundPlan:
        """Rebuild a plan stored by ``to_dict``."""
        groups = data.get("groups", [])
        waiting = data.get("waiting", [])
        assert isinstance(groups, list) and isinstance(waiting, list)
        return cls(
            number=int(data["number"]),  # type: ignore[call-overload]
            groups=tuple(tuple(str(p) for p in group) for group in groups),
            waiting=tuple(str(p) for p in waiting),
        )


def plan_round(
    people: Sequence[str],
    size: int,
    met: Collection[Pair] = (),
    avoid: Collection[Pair] = (),
    seed: int | str = 0,
    number: int = 1,
) -> RoundPlan:
    """Groups for one round with as few pairs who already met as the search can find.

    ``people`` are the ids present, in join order; ``met`` the pairs who met in earlier rounds;
    ``avoid`` the pairs who must never share a group. If no grouping can keep an ``avoid`` pair
    apart, the person in the most such pairs waits in the main room instead.
    """
    order = list(dict.fromkeys(people))
    waiting: list[str] = []
    known, apart = _pairs(met), _pairs(avoid)
    while True:
        groups = _best_groups(order, size, known, apart, seed)
        clashes = [p for p in pairs_of(groups) if p in apart]
        if not clashes:
            break
        # Rare: the avoid pairs leave no way to group everyone. One person sits this round out.
        counts = {person: sum(person in p for p in clashes) for person in order}
        worst = max(reversed(order), key=lambda person: counts[person])
        order.remove(worst)
        waiting.append(worst)
    placed = {p for group in groups for p in group}
    waiting.extend(p for p in order if p not in placed)
    return RoundPlan(number, tuple(tuple(g) for g in groups), tuple(waiting))


def place_late(
    plan: RoundPlan, person: str, met: Collection[Pair] = (), avoid: Collection[Pair] = ()
) -> RoundPlan:
    """Put someone who arrives during a round into the smallest group, the one with fewest repeats.

    Groups with someone they must not meet are skipped (the next size up is used if every
    smallest group has one). With no group yet, they pair up with a person who is waiting.
    """
    if plan.group_of(person) is not None:
        return plan
    waiting = tuple(p for p in plan.waiting if p != person)
    if not plan.groups:
        return _pair_waiting(RoundPlan(plan.number, (), (*waiting, person)), person, avoid)
    index = _home_for(plan.groups, person, _pairs(met), _pairs(avoid))
    if index is None:
        return RoundPlan(plan.number, plan.groups, (*waiting, person))
    groups = list(plan.groups)
    groups[index] = (*groups[index], person)
    return RoundPlan(plan.number, tuple(groups), waiting)


def leave(
    plan: RoundPlan, person: str, met: Collection[Pair] = (), avoid: Collection[Pair] = ()
) -> RoundPlan:
    """Take someone out of the round; whoever is left alone joins another group.

    The one left alone goes where a late joiner would (see ``place_late``): into another group,
    or with no other group, into a pair with someone waiting or else to the main room.
    """
    groups = [tuple(p for p in group if p != person) for group in plan.groups]
    waiting = tuple(p for p in plan.waiting if p != person)
    alone = [group[0] for group in groups if len(group) == 1]
    groups = [group for group in groups if len(group) > 1]
    result = RoundPlan(plan.number, tuple(groups), waiting)
    for lonely in alone:
        result = place_late(result, lonely, met, avoid)
    return result


def schedule(
    people: Sequence[str],
    size: int,
    rounds: int,
    avoid: Collection[Pair] = (),
    seed: int | str = 0,
    met: Collection[Pair] = (),
) -> list[RoundPlan]:
    """Plan ``rounds`` rounds in a row for the same people, each learning from the ones before."""
    known = set(_pairs(met))
    plans = []
    for number in range(1, rounds + 1):
        plan = plan_round(people, size, known, avoid, seed, number)
        known |= plan.pairs()
        plans.append(plan)
    return plans


def lower_bound(people: Sequence[str], size: int, met: Collection[Pair] = ()) -> int:
    """Repeats no grouping of one round can avoid: each person's shortfall of new faces, halved."""
    order = list(dict.fromkeys(people))
    sizes = group_sizes(len(order), size)
    if not sizes:
        return 0
    need = min(sizes) - 1
    present = set(order)
    seen: dict[str, int] = dict.fromkeys(order, 0)
    for a, b in _pairs(met):
        if a in present and b in present:
            seen[a] += 1
            seen[b] += 1
    short = sum(max(0, need - (len(order) - 1 - seen[p])) for p in order)
    return (short + 1) // 2


def _pairs(pairs: Collection[Pair]) -> frozenset[Pair]:
    """The pairs in sorted order, whichever way round they were given."""
    return frozenset(pair(a, b) for a, b in pairs)


def _pair_waiting(plan: RoundPlan, person: str, avoid: Collection[Pair]) -> RoundPlan:
    """With no group yet, the newcomer and someone waiting (not on their avoid list) pair up."""
    apart = _pairs(avoid)
    for other in plan.waiting:
        if other != person and pair(person, other) not in apart:
            rest = tuple(p for p in plan.waiting if p not in (person, other))
            return RoundPlan(plan.number, ((other, person),), rest)
    return plan


def _home_for(
    groups: Sequence[Sequence[str]], person: str, met: frozenset[Pair], apart: frozenset[Pair]
) -> int | None:
    """The smallest group without an avoid pair for ``person``, fewest repeats first."""
    options = [
        (len(group), sum(pair(person, p) in met for p in group), index)
        for index, group in enumerate(groups)
        if not any(pair(person, p) in apart for p in group)
    ]
    return min(options)[2] if options else None


def _best_groups(
    order: list[str], size: int, met: frozenset[Pair], apart: frozenset[Pair], seed: int | str
) -> list[list[str]]:
    sizes = group_sizes(len(order), size)
    if not sizes:
        return []
    problem = _Problem(order, sizes, met, apart, seed)
    best: _Grouping | None = None
    if size == MIN_SIZE:
        best = problem.best_circle_round()
    if best is None or best.cost > problem.bound:
        found = problem.search()
        if best is None or found.cost < best.cost:
            best = found
    return [[order[i] for i in group] for group in best.groups]


@dataclass
class _Grouping:
    groups: list[list[int]]
    cost: int


@dataclass
class _Problem:
    """One round's search, with people as indexes 0..n-1 and a weight for each pair."""

    order: list[str]
    sizes: list[int]
    met: frozenset[Pair]
    apart: frozenset[Pair]
    seed: int | str
    weight: list[list[int]] = field(init=False)
    bound: int = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.order)
        self.weight = [[0] * n for _ in range(n)]
        index = {p: i for i, p in enumerate(self.order)}
        for pairs, cost in ((self.met, 1), (self.apart, AVOID_WEIGHT)):
            for a, b in pairs:
                if a in index and b in index and a != b:
                    i, j = index[a], index[b]
                    self.weight[i][j] = self.weight[j][i] = max(self.weight[i][j], cost)
        self.bound = self._bound()
        self.rng = random.Random(str(self.seed))

    def _bound(self) -> int:
        n, need = len(self.order), min(self.sizes) - 1
        short = sum(max(0, need - (n - 1 - sum(w > 0 for w in row))) for row in self.weight)
        return (short + 1) // 2

    def cost(self, groups: list[list[int]]) -> int:
        total = 0
        for group in groups:
            for i, a in enumerate(group):
                row = self.weight[a]
                for b in group[i + 1 :]:
                    total += row[b]
        return total

    def best_circle_round(self) -> _Grouping:
        """The circle-method round (pairs, one trio when odd) with the fewest repeats."""
        ring: list[int] = list(range(len(self.order)))
        random.Random(str(self.seed)).shuffle(ring)
        if len(ring) % 2:
            ring.append(-1)  # the bye: whoever draws it joins another pair
        m = len(ring)
        fixed, rest = ring[0], ring[1:]
        best: _Grouping | None = None
        for turn in range(m - 1):
            line = [fixed, *rest[turn:], *rest[:turn]]
            groups = [[line[i], line[m - 1 - i]] for i in range(m // 2)]
            spare = [g for g in groups if -1 in g]
            if spare:
                groups.remove(spare[0])
                extra = spare[0][0] if spare[0][1] == -1 else spare[0][1]
                target = min(groups, key=lambda g: sum(self.weight[extra][p] for p in g))
                target.append(extra)
            candidate = _Grouping(groups, self.cost(groups))
            if best is None or candidate.cost < best.cost:
                best = candidate
            if best.cost == 0:
                break
        assert best is not None
        return best

    def search(self) -> _Grouping:
        """Randomized greedy + local improvement with kicks, over restarts within the budget."""
        best: _Grouping | None = None
        budget = [SEARCH_BUDGET]
        for _ in range(RESTARTS):
            groups = self.greedy()
            state = _State(self, groups)
            for kick in range(KICKS + 1):
                if kick:
                    state.kick(self.rng)
                state.descend(self.rng, budget)
                if best is None or state.cost < best.cost:
                    best = _Grouping(state.groups(), state.cost)
                if best.cost <= self.bound or budget[0] <= 0:
                    return best
        assert best is not None
        return best

    def greedy(self) -> list[list[int]]:
        """Place the hardest people first, each where they add the least cost."""
        n = len(self.order)
        degree = [sum(row) for row in self.weight]
        noise = [self.rng.random() * 2 for _ in range(n)]
        people = sorted(range(n), key=lambda i: -(degree[i] + noise[i]))
        groups: list[list[int]] = [[] for _ in self.sizes]
        for person in people:
            row = self.weight[person]
            options = [
                (sum(row[p] for p in group), self.rng.random(), g)
                for g, group in enumerate(groups)
                if len(group) < self.sizes[g]
            ]
            groups[min(options)[2]].append(person)
        return groups


class _State:
    """A grouping under local search: who is where, and each person's cost towards each group."""

    def __init__(self, problem: _Problem, groups: list[list[int]]) -> None:
        self.weight = problem.weight
        n = len(problem.order)
        self.where = [0] * n
        self.members = [list(group) for group in groups]
        for g, group in enumerate(groups):
            for p in group:
                self.where[p] = g
        self.toward = [
            [sum(self.weight[p][q] for q in group) for group in groups] for p in range(n)
        ]
        self.cost = sum(self.toward[p][self.where[p]] for p in range(n)) // 2

    def groups(self) -> list[list[int]]:
        return [list(group) for group in self.members]

    def swap(self, p: int, q: int) -> None:
        a, b = self.where[p], self.where[q]
        wp, wq = self.weight[p], self.weight[q]
        for x, row in enumerate(self.toward):
            row[a] += wq[x] - wp[x]
            row[b] += wp[x] - wq[x]
        self.members[a][self.members[a].index(p)] = q
        self.members[b][self.members[b].index(q)] = p
        self.where[p], self.where[q] = b, a

    def move(self, p: int, b: int) -> None:
        a = self.where[p]
        wp = self.weight[p]
        for x, row in enumerate(self.toward):
            row[a] -= wp[x]
            row[b] += wp[x]
        self.members[a].remove(p)
        self.members[b].append(p)
        self.where[p] = b

    def descend(self, rng: random.Random, budget: list[int]) -> None:
        """Apply improving swaps and moves until none is left (or the budget is spent)."""
        n = len(self.where)
        improved = True
        while improved and budget[0] > 0 and self.cost > 0:
            improved = False
            people = [p for p in range(n) if self.toward[p][self.where[p]] > 0]
            rng.shuffle(people)
            for p in people:
                a = self.where[p]
                here = self.toward[p][a]
                if here == 0:
                    continue
                tp = self.toward[p]
                wp = self.weight[p]
                budget[0] -= n
                for b, group in enumerate(self.members):
                    if b == a:
                        continue
                    if len(self.members[a]) == len(group) + 1 and tp[b] < here:
                        self.cost += tp[b] - here
                        self.move(p, b)
                        improved = True
                        break
                    done = False
                    for q in group:
                        tq = self.toward[q]
                        delta = tp[b] - here + tq[a] - tq[b] - 2 * wp[q]
                        if delta < 0:
                            self.cost += delta
                            self.swap(p, q)
                            improved = True
                            done = True
                            break
                    if done:
                        break

    def kick(self, rng: random.Random) -> None:
        """Swap someone in a repeated pair with someone random elsewhere, to leave a local best."""
        n = len(self.where)
        stuck = [p for p in range(n) if self.toward[p][self.where[p]] > 0]
        if not stuck or len(self.members) < 2:
            return
        p = rng.choice(stuck)
        q = rng.choice([x for x in range(n) if self.where[x] != self.where[p]])
        a, b = self.where[p], self.where[q]
        tp, tq = self.toward[p], self.toward[q]
        self.cost += tp[b] - tp[a] + tq[a] - tq[b] - 2 * self.weight[p][q]
        self.swap(p, q)
