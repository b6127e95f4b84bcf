"""Rounds in small groups, live: who is in which group right now, the round's countdown, and
everything that changes it (late joiners, departures, a facilitator's visit or move).

When the clock enters an item with ``groups:``, everyone present who does not sit out is dealt
into groups by the scheduler (``rounds.py``); at each round's deadline the next round is dealt,
and after the last everyone is back in the main room. Pairs who met in a group are remembered
for the whole meeting, so every round mixes people anew (the main room does not count). Who
asked not to meet whom (``avoid``) is handed to the scheduler and to nobody else.

Changes that happen outside an action (a late joiner, the deadline) leave their notices in
``outbox``, which the meeting hands on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .agenda import Agenda, Groups
from .clock import PAUSED, RUNNING, Clock, Countdown
from .decks import Deck
from .live_round import Group, GroupRecord, LiveRound
from .people import FACILITATOR, MeetingError, Notice, Person, present_people
from .rotation import PromptPool
from .rounds import Pair, pair, place_late, plan_round

MAIN_ROOM = ""
"""The media space of everyone who is in no group."""
ROUND_WARNING = 30
"""Seconds before a round's end when its groups get ``round-warning`` (once per round)."""
LATE_PLACE = 60
"""A late joiner goes into a group at once only with more than this many seconds left."""
MAX_BROADCAST = 200
"""Characters in a facilitator's message to every group."""
TIMER_LABEL = "Round time left"


@dataclass
class Breakouts:
    """The meeting's rounds in small groups: the round in play, who met whom, who avoids whom."""

    agenda: Agenda
    decks: Mapping[str, Deck]
    clock: Clock
    people: Mapping[str, Person]
    """Everyone who came (the meeting's own mapping)."""
    prompts: Callable[[], PromptPool]
    """The meeting's prompt pool (shared with the icebreakers, so no prompt repeats)."""
    seed: str = ""
    """Seeds the scheduler (the meeting id), so the rounds of every item continue one circle."""
    live: LiveRound | None = None
    """The round in play, or None."""
    done: dict[int, int] = field(default_factory=dict)
    """Item index -> rounds held so far."""
    seq: int = 0
    """Rounds dealt in the meeting."""
    met: set[Pair] = field(default_factory=set)
    """Pairs who have been in a group together in this meeting."""
    avoid: dict[str, list[str]] = field(default_factory=dict)
    """Person id -> people they asked not to be grouped with. Private to that person."""
    records: list[GroupRecord] = field(default_factory=list)
    """Every group of the meeting and who was ever in it."""
    main_call: list[str] = field(default_factory=list)
    """People who were in the call with everyone (outside a round), for "People you met"."""
    outbox: list[Notice] = field(default_factory=list)
    """Notices from changes no action asked for, for the meeting to hand on."""

    # Reading

    def settings(self, index: int | None = None) -> Groups | None:
        """The ``groups:`` settings of an item (the current one by default)."""
        item = self.agenda.items[self.clock.index if index is None else index]
        return item.groups

    def group_of(self, person_id: str) -> Group | None:
        """The group someone is in this round, as a member or a visitor."""
        live = self.live
        if live is None:
            return None
        visiting = live.visits.get(person_id)
        return live.group(visiting) if visiting else live.group_of(person_id)

    def chat_group(self, person_id: str) -> str | None:
        """Where someone's chat goes: their group's id, or None for the main room."""
        group = self.group_of(person_id)
        return group.id if group else None

    def audience(self, group_id: str) -> list[str]:
        """Who is in a group right now: its members and visitors."""
        live = self.live
        if live is None:
            return []
        group = live.group(group_id)
        visitors = [f for f, g in live.visits.items() if g == group_id]
        return [*group.members, *visitors]

    def may_read(self, person_id: str, group_id: str) -> bool:
        """True when someone was ever in that group (a member or a visitor)."""
        return any(
            r.id == group_id and (person_id in r.members or person_id in r.visitors)
            for r in self.records
        )

    def spaces(self) -> dict[str, str]:
        """Who may see and hear whom: person id -> group id, or MAIN_ROOM for the main room.

        Outside rounds everyone is in the main room (an empty mapping says so).
        """
        live = self.live
        if live is None:
            return {}
        spaces = dict.fromkeys((p.id for p in present_people(self.people)), MAIN_ROOM)
        for group in live.groups:
            for person_id in group.members:
                spaces[person_id] = group.id
        spaces.update(live.visits)
        return spaces

    def avoiding(self, person_id: str) -> list[str]:
        """The people this person asked not to be grouped with (only for their own view)."""
        return list(self.avoid.get(person_id, []))

    def met_by(self, person_id: str) -> list[str]:
        """Everyone this person was in a group with, and everyone in the main call with them."""
        found = [b if a == person_id else a for a, b in sorted(self.met) if person_id in (a, b)]
        if person_id in self.main_call:
            found += [p for p in self.main_call if p != person_id]
        return list(dict.fromkeys(found))

    def remembered(self) -> set[str]:
        """Everyone the rounds remember something of: pairs who met, who avoids whom, every
        group's members and visitors (the main call's list aside: it is everyone who came)."""
        found = {person for met in self.met for person in met}
        for person_id, others in self.avoid.items():
            found.add(person_id)
            found.update(others)
        for record in self.records:
            found.update(record.members, record.visitors)
        live = self.live
        if live is not None:
            for group in live.groups:
                found.update(group.members)
            found.update(live.waiting, live.visits, live.left_from)
        return found

    def forget(self, person_id: str) -> None:
        """Someone the meeting forgets (they left no trace in any round) is out of the main
        call's list too."""
        if person_id in self.main_call:
            self.main_call.remove(person_id)

    def view(self, viewer_id: str, host: bool, now: float) -> dict[str, Any] | None:
        """The groups as one person may see them; None outside group items.

        Members see their own group only; facilitators also see every group and who waits.
        """
        settings = self.settings()
        if settings is None:
            return None
        index = self.clock.index
        live = self.live if self.live is not None and self.live.item == index else None
        mine = self.group_of(viewer_id) if live else None
        view: dict[str, Any] = {
            "item": index,
            "size": settings.size,
            "rounds": settings.rounds,
            "round": live.number if live else self.done.get(index, 0),
            "running": live is not None,
            "finished": live is None and self.done.get(index, 0) >= settings.rounds,
            "timer": live.timer.to_dict() if live else None,
            "timer_label": TIMER_LABEL,
            "warn_at": ROUND_WARNING,
            "yours": self._group_view(mine) if mine else None,
            "visiting": live.visits.get(viewer_id) if live else None,
            "waiting": live is not None and mine is None,
        }
        if host:
            view["all"] = [self._group_view(g) for g in live.groups] if live else []
            view["main_room"] = self._main_room() if live else []
        return view

    def _group_view(self, group: Group) -> dict[str, Any]:
        assert self.live is not None
        item = self.agenda.items[self.live.item]
        deck = self.decks.get(item.icebreaker or "")
        return {
            "id": group.id,
            "number": int(group.id.rsplit("-", 1)[1]),
            "members": list(group.members),
            "visitors": [f for f, g in self.live.visits.items() if g == group.id],
            "prompt": group.prompt,
            "deck_title": deck.title if deck else None,
        }

    def _main_room(self) -> list[str]:
        spaces = self.spaces()
        return [pid for pid, space in spaces.items() if space == MAIN_ROOM]

    # The clock moves

    def enter(self, now: float) -> None:
        """The clock entered its current item: deal the next round if it has groups left."""
        settings = self.settings()
        index = self.clock.index
        if settings is None or self.clock.status not in (RUNNING, PAUSED):
            self._note_main_call()
            return
        if self.done.get(index, 0) < settings.rounds:
            self._deal(now)

    def leave(self, now: float) -> None:
        """The clock leaves the item: a round in play ends and everyone is in the main room."""
        if self.live is not None:
            self._finish(now, deal_next=False)

    def pause(self, now: float) -> None:
        """The meeting paused: so does the round's countdown."""
        if self.live is not None:
            self.live.timer.stop(now)

    def resume(self, now: float) -> None:
        """The meeting resumed: so does the round's countdown."""
        if self.live is not None:
            self.live.timer.run(now)

    def tick(self, now: float) -> None:
        """The 30-seconds warning (once per round) and the end of the round at its deadline."""
        live = self.live
        if live is None or live.timer.deadline is None:
            return
        left = live.timer.left(now)
        if left <= 0:
            self._finish(now, deal_next=True)
        elif not live.warned and left <= ROUND_WARNING < live.timer.given:
            live.warned = True
            value = {"round": live.number, "left": round(left), "rounds": self._rounds()}
            self.outbox.append(Notice("round-warning", value))

    # People come and go

    def join(self, person: Person, now: float) -> None:
        """Someone is in the room (or takes part again): a group now, or the next round."""
        live = self.live
        if live is None:
            self._note_main_call(person.id)
            return
        if person.opted_out or person.id in live.waiting or live.group_of(person.id):
            return
        live.visits.pop(person.id, None)  # taking part again ends a visit
        back = live.left_from.pop(person.id, None)
        home = next((g for g in live.groups if g.id == back), None)
        if home is not None:
            self._add(home, person.id)
            self._tell(person.id, "back")
            return
        if live.timer.left(now) <= LATE_PLACE:
            live.waiting.append(person.id)
            self._tell(person.id, "wait")
            return
        self._place(person.id, "late")

    def drop(self, person_id: str, now: float, offline: bool = False) -> None:
        """Someone left (or sits out): out of their group; whoever is left alone moves on."""
        live = self.live
        if live is None:
            return
        live.visits.pop(person_id, None)
        if person_id in live.waiting:
            live.waiting.remove(person_id)
        group = live.group_of(person_id)
        if group is None:
            return
        if offline:
            live.left_from[person_id] = group.id
        self._take_out(group, person_id)

    # Requests

    def visit(self, facilitator: Person, group_id: object) -> None:
        """A facilitator visits a group (sees and hears it, and is seen and heard by it)."""
        live = self._live()
        if live.group_of(facilitator.id) is not None:
            raise MeetingError(
                "in-a-group", "You are in a group yourself; sit out of groups to visit them."
            )
        group = live.group(group_id)
        live.visits[facilitator.id] = group.id
        record = self._record(group.id)
        if facilitator.id not in record.visitors:
            record.visitors.append(facilitator.id)

    def stop_visit(self, person_id: str) -> None:
        """Someone is no longer a facilitator: a visit of theirs ends."""
        if self.live is not None:
            self.live.visits.pop(person_id, None)

    def end_visit(self, facilitator: Person) -> None:
        """A facilitator leaves the group they visit, back to the main room."""
        live = self._live()
        if live.visits.pop(facilitator.id, None) is None:
            raise MeetingError("not-in-group", "You are not visiting a group.")

    def move(self, person: Person, group_id: object) -> None:
        """A facilitator moves someone into another group of this round."""
        live = self._live()
        target = live.group(group_id)
        if person.opted_out or person.id in live.visits:
            raise MeetingError("bad-request", "They are not taking part in the groups.")
        current = live.group_of(person.id)
        if current is target:
            return
        if current is not None:
            self._take_out(current, person.id)
        elif person.id in live.waiting:
            live.waiting.remove(person.id)
        self._add(target, person.id)
        self._tell(person.id, "moved")

    def extend(self, seconds: int) -> None:
        """Give the round more time (the 30-seconds warning can come again)."""
        live = self._live()
        live.timer.add(seconds)
        live.warned = False

    def end_round(self, now: float) -> None:
        """End the round now: the next one is dealt, or everyone is back in the main room."""
        self._live()
        self._finish(now, deal_next=True)

    def next_card(self, person_id: str) -> None:
        """A new prompt card for the group someone is in."""
        group = self.group_of(person_id)
        if group is None:
            raise MeetingError("not-in-group", "You are not in a group.")
        deck_id = self._deck_id()
        if deck_id is None:
            raise MeetingError("no-icebreaker", "There are no cards in this item.")
        group.prompt = self._draw(deck_id)

    def help_notices(self, person: Person) -> list[Notice]:
        """Tell every facilitator present that someone in a group asks for help."""
        live = self.live
        group = live.group_of(person.id) if live else None
        if group is None:
            raise MeetingError("not-in-group", "You are not in a group.")
        value = {"person": person.id, "name": person.name, "group": group.id}
        return [
            Notice("help", value, to=p.id)
            for p in present_people(self.people)
            if p.role == FACILITATOR
        ]

    def set_avoid(self, person_id: str, other: str, value: bool) -> None:
        """Keep (or stop keeping) two people apart in future rounds; only the asker knows."""
        mine = self.avoid.setdefault(person_id, [])
        if value and other not in mine:
            mine.append(other)
        elif not value and other in mine:
            mine.remove(other)
        if not mine:
            del self.avoid[person_id]

    def close(self, now: float) -> None:
        """The meeting ends: a round in play ends too."""
        if self.live is not None:
            self._finish(now, deal_next=False)

    # Internals

    def _live(self) -> LiveRound:
        if self.live is None:
            raise MeetingError("no-groups", "No round in small groups is running.")
        return self.live

    def _rounds(self) -> int:
        settings = self.settings(self.live.item if self.live else None)
        return settings.rounds if settings else 0

    def _deck_id(self) -> str | None:
        if self.live is None:
            return None
        return self.agenda.items[self.live.item].icebreaker

    def _draw(self, deck_id: str) -> str:
        return self.prompts().draw(deck_id, self.decks[deck_id].prompts)

    def _avoid_pairs(self) -> set[Pair]:
        return {pair(a, b) for a, others in self.avoid.items() for b in others if a != b}

    def _note_main_call(self, *people: str) -> None:
        ids = people or tuple(p.id for p in present_people(self.people))
        self.main_call.extend(p for p in ids if p not in self.main_call)

    def _deal(self, now: float) -> None:
        """Deal everyone present who takes part into the next round's groups."""
        settings = self.settings()
        assert settings is not None
        index = self.clock.index
        self._note_main_call()
        self.seq += 1
        number = self.done.get(index, 0) + 1
        present = [p.id for p in present_people(self.people) if not p.opted_out]
        plan = plan_round(
            present, settings.size, self.met, self._avoid_pairs(), self.seed, self.seq
        )
        timer = Countdown(float(settings.each))
        if self.clock.status == RUNNING:
            timer.run(now)
        deck_id = self.agenda.items[index].icebreaker
        groups = [
            Group(f"{self.seq}-{n}", list(members), self._draw(deck_id) if deck_id else None)
            for n, members in enumerate(plan.groups, start=1)
        ]
        self.live = LiveRound(index, number, self.seq, groups, list(plan.waiting), timer)
        self.met |= plan.pairs()
        for group in groups:
            self.records.append(GroupRecord(group.id, index, number, list(group.members)))
        for person_id in present:
            self._tell(person_id, "dealt")

    def _finish(self, now: float, deal_next: bool) -> None:
        """End the round in play; deal the next one if there is one and ``deal_next``."""
        live = self.live
        assert live is not None
        self.done[live.item] = max(self.done.get(live.item, 0), live.number)
        self.live = None
        settings = self.settings(live.item)
        if deal_next and settings is not None and live.number < settings.rounds:
            self._deal(now)
            return
        self._note_main_call()
        value = {"round": live.number, "rounds": self._rounds_of(live.item), "group": None}
        for person in present_people(self.people):
            self.outbox.append(Notice("grouped", {**value, "reason": "back"}, to=person.id))

    def _rounds_of(self, index: int) -> int:
        settings = self.settings(index)
        return settings.rounds if settings else 0

    def _record(self, group_id: str) -> GroupRecord:
        return next(r for r in self.records if r.id == group_id)

    def _add(self, group: Group, person_id: str) -> None:
        for other in group.members:
            self.met.add(pair(person_id, other))
        group.members.append(person_id)
        record = self._record(group.id)
        if person_id not in record.members:
            record.members.append(person_id)

    def _place(self, person_id: str, reason: str) -> None:
        """Put someone into the smallest fitting group (or pair them with someone waiting)."""
        live = self.live
        assert live is not None
        before = len(live.groups)
        plan = place_late(live.plan(), person_id, self.met, self._avoid_pairs())
        live.waiting = list(plan.waiting)
        for group, members in zip(live.groups, plan.groups, strict=False):
            for newcomer in members[len(group.members) :]:
                self._add(group, newcomer)
        for members in plan.groups[before:]:
            # Nobody had a group: two people waiting make a new one.
            deck_id = self._deck_id()
            self.seq += 1
            group = Group(f"{self.seq}-1", [], self._draw(deck_id) if deck_id else None)
            live.groups.append(group)
            self.records.append(GroupRecord(group.id, live.item, live.number))
            for member in members:
                self._add(group, member)
                if member != person_id:
                    self._tell(member, reason)
        self._tell(person_id, reason if live.group_of(person_id) else "wait")

    def _take_out(self, group: Group, person_id: str) -> None:
        """Take someone out of their group; someone left alone joins another group."""
        live = self.live
        assert live is not None
        group.members.remove(person_id)
        if len(group.members) == 1:
            lonely = group.members[0]
            live.groups.remove(group)
            for visitor in [f for f, g in live.visits.items() if g == group.id]:
                del live.visits[visitor]
            self._place(lonely, "alone")
        elif not group.members:
            live.groups.remove(group)

    def _tell(self, person_id: str, reason: str) -> None:
        """Tell one person where they are now (their group, or the main room)."""
        live = self.live
        assert live is not None
        group = live.group_of(person_id)
        value = {
            "round": live.number,
            "rounds": self._rounds_of(live.item),
            "group": group.id if group else None,
            "members": list(group.members) if group else [],
            "reason": reason,
        }
        self.outbox.append(Notice("grouped", value, to=person_id))

    # Snapshots

    def to_dict(self) -> dict[str, Any]:
        """Return the rounds as JSON-ready data (the avoid lists stay server-side)."""
        return {
            "live": self.live.to_dict() if self.live else None,
            "done": {str(k): v for k, v in self.done.items()},
            "seq": self.seq,
            "met": sorted([list(p) for p in self.met]),
            "avoid": {k: list(v) for k, v in self.avoid.items()},
            "records": [r.to_dict() for r in self.records],
            "main_call": list(self.main_call),
        }

    def restore(self, data: Mapping[str, Any] | None) -> None:
        """Take back the state stored by ``to_dict`` (nothing, for older snapshots)."""
        if not data:
            return
        live = data.get("live")
        self.live = LiveRound.from_dict(live) if live else None
        self.done = {int(k): int(v) for k, v in data.get("done", {}).items()}
        self.seq = int(data.get("seq", 0))
        self.met = {pair(str(a), str(b)) for a, b in data.get("met", [])}
        self.avoid = {str(k): [str(p) for p in v] for k, v in data.get("avoid", {}).items()}
        self.records = [GroupRecord.from_dict(r) for r in data.get("records", [])]
        self.main_call = [str(p) for p in data.get("main_call", [])]
