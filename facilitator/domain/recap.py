"""The recap of a call, computed from its clock, event log and talk time.

Planned vs actual per item, every icebreaker turn, who never got a turn, and who talked how
much. Private notes are not part of it: each viewer adds their own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .clock import ENDED, WAITING
from .meeting import REMOVED, Meeting
from .runner import projected_end

DOMINANT_SHARE = 0.4
"""One voice with more than this share of the talk (in a group of three or more) gets a note."""


@dataclass(frozen=True)
class ItemRecap:
    """One agenda item, planned vs actual."""

    index: int
    title: str
    planned: int
    """Planned seconds."""
    actual: float
    """Seconds it ran."""
    started: float | None
    ended: float | None
    deck: str | None

    @property
    def overrun(self) -> float:
        """Seconds over plan (negative: under)."""
        return self.actual - self.planned


@dataclass(frozen=True)
class TurnRecap:
    """One icebreaker turn."""

    item: str
    person: str
    name: str
    prompt: str
    planned: float
    actual: float
    outcome: str
    """``done``, ``passed``, ``skipped`` or ``left``."""


@dataclass(frozen=True)
class TalkRecap:
    """Talk time of one person, from the active-speaker detection."""

    person: str
    name: str
    seconds: float
    share: float
    """Of all talk time, 0 to 1."""


@dataclass(frozen=True)
class RoundRecap:
    """One round in small groups and who was in each group (everyone who was ever in it)."""

    item: str
    round: int
    groups: list[list[str]]
    """Names, group by group."""


@dataclass
class Recap:
    """Everything the recap page shows except the viewer's own notes."""

    title: str
    status: str
    started_at: float | None
    ended_at: float | None
    time_limit: int
    planned_end: float | None
    """Start plus the time limit (with extensions)."""
    actual_end: float | None
    """When it ended, or where it is heading if it has not."""
    items: list[ItemRecap] = field(default_factory=list)
    turns: list[TurnRecap] = field(default_factory=list)
    never_spoke: list[str] = field(default_factory=list)
    """Names of people who were there but had no turn in any icebreaker."""
    talk: list[TalkRecap] = field(default_factory=list)
    talk_note: str = ""
    """A gentle word when one voice dominated."""
    people: list[str] = field(default_factory=list)
    """Names of everyone who took part."""
    rounds: list[RoundRecap] = field(default_factory=list)
    """Rounds in small groups, in order."""

    @property
    def planned_total(self) -> int:
        """Planned seconds of all items."""
        return sum(item.planned for item in self.items)

    @property
    def actual_total(self) -> float:
        """Seconds the items actually ran."""
        return sum(item.actual for item in self.items)

    @property
    def overrun(self) -> float:
        """Seconds the call ran over (negative: under) its plan."""
        return self.actual_total - self.planned_total

    def to_dict(self) -> dict[str, Any]:
        """The shared part of the recap as JSON-ready data."""
        data = asdict(self)
        data["planned_total"] = self.planned_total
        data["actual_total"] = round(self.actual_total, 1)
        data["overrun"] = round(self.overrun, 1)
        for row, item in zip(data["items"], self.items, strict=True):
            row["overrun"] = round(item.overrun, 1)
        return data


def build_recap(meeting: Meeting, now: float) -> Recap:
    """Compute the recap of ``meeting`` as of ``now`` (during or after the call)."""
    clock = meeting.clock
    agenda = meeting.agenda
    items = [
        ItemRecap(
            index=i,
            title=item.title,
            planned=item.duration,
            actual=round(clock.item_elapsed(i, now), 1),
            started=clock.first_start[i],
            ended=clock.last_end[i],
            deck=meeting.decks[item.icebreaker].title if item.icebreaker in meeting.decks else None,
        )
        for i, item in enumerate(agenda.items)
    ]
    names = {p.id: p.name for p in meeting.people.values()}
    turns = [
        TurnRecap(
            item=agenda.items[e.data["item"]].title,
            person=str(e.data["person"]),
            name=names.get(str(e.data["person"]), str(e.data.get("name", ""))),
            prompt=str(e.data["prompt"]),
            planned=float(e.data["planned"]),
            actual=float(e.data["actual"]),
            outcome=str(e.data["outcome"]),
        )
        # By item: a turn held when the clock left its item midway is logged when it ends.
        for e in sorted(meeting.log.of_kind("turn"), key=lambda e: int(e.data["item"]))
    ]
    took_part = [p for p in meeting.people.values() if p.state != REMOVED and p.state != "lobby"]
    had_icebreakers = any(item.icebreaker for item in agenda.items[: clock.index + 1])
    spoke = {t.person for t in turns if t.outcome == "done"}
    never = [p.name for p in took_part if had_icebreakers and p.id not in spoke and not p.opted_out]
    total_talk = sum(meeting.talk.values())
    talk = sorted(
        (
            TalkRecap(
                pid, names.get(pid, "?"), round(sec, 1), sec / total_talk if total_talk else 0
            )
            for pid, sec in meeting.talk.items()
        ),
        key=lambda t: -t.seconds,
    )
    note = ""
    if len(talk) >= 3 and talk[0].share > DOMINANT_SHARE:
        note = (
            f"{talk[0].name} did {round(talk[0].share * 100)}% of the talking. "
            "Next time, passing the floor a little sooner gives everyone room."
        )
    planned_end = clock.started_at + clock.meeting.given if clock.started_at else None
    if clock.status == ENDED:
        actual_end = clock.ended_at
    elif clock.status == WAITING:
        actual_end = None
    else:
        actual_end = projected_end(clock, now)
    return Recap(
        title=meeting.title,
        status=clock.status,
        started_at=clock.started_at,
        ended_at=clock.ended_at,
        time_limit=agenda.time_limit,
        planned_end=planned_end,
        actual_end=actual_end,
        items=items,
        turns=turns,
        never_spoke=never,
        talk=talk,
        talk_note=note,
        people=[p.name for p in took_part],
        rounds=_rounds(meeting, names),
    )


def _rounds(meeting: Meeting, names: dict[str, str]) -> list[RoundRecap]:
    """Each round in small groups with its groups, from the meeting's records."""
    rounds: dict[tuple[int, int], list[list[str]]] = {}
    for record in meeting.breakouts.records:
        names_in = [names.get(p, "?") for p in record.members]
        rounds.setdefault((record.item, record.round), []).append(names_in)
    return [
        RoundRecap(meeting.agenda.items[item].title, number, groups)
        for (item, number), groups in rounds.items()
    ]


def people_met(meeting: Meeting, person_id: str) -> list[str]:
    """The names of everyone one person met: in their groups and in the main call."""
    names = {p.id: p.name for p in meeting.people.values() if p.state != REMOVED}
    return [names[p] for p in meeting.people_met(person_id) if p in names]


def to_markdown(recap: Recap, notes: dict[str, str], names: dict[str, str]) -> str:
    """The recap as Markdown, with the viewer's own notes (``notes``: about whom -> text)."""

    def minutes(seconds: float) -> str:
        sign = "-" if seconds < 0 else ""
        seconds = abs(round(seconds))
        return f"{sign}{seconds // 60}:{seconds % 60:02d}"

    lines = [f"# {recap.title}: recap", ""]
    lines += ["## Agenda", "", "| Item | Planned | Actual | Over |", "|---|---|---|---|"]
    for item in recap.items:
        over = f"+{minutes(item.overrun)}" if item.overrun > 0 else minutes(item.overrun)
        lines.append(
            f"| {_cell(item.title)} | {minutes(item.planned)} | {minutes(item.actual)} | {over} |"
        )
    lines.append(
        f"| **Total** | {minutes(recap.planned_total)} | {minutes(recap.actual_total)} | "
        f"{'+' if recap.overrun > 0 else ''}{minutes(recap.overrun)} |"
    )
    if recap.turns:
        lines += ["", "## Icebreakers", ""]
        for turn in recap.turns:
            passed = " (passed)" if turn.outcome == "passed" else ""
            lines.append(f"- **{turn.name}** ({turn.item}){passed}: {turn.prompt}")
        if recap.never_spoke:
            lines += ["", f"Did not get a turn: {', '.join(recap.never_spoke)}"]
    if recap.talk:
        lines += ["", "## Talk time", ""]
        lines += [f"- {t.name}: {minutes(t.seconds)} ({round(t.share * 100)}%)" for t in recap.talk]
        if recap.talk_note:
            lines += ["", recap.talk_note]
    mine = {about: text for about, text in notes.items() if text.strip()}
    if mine:
        lines += ["", "## My notes", ""]
        for about, text in mine.items():
            heading = (
                "General" if about == "general" else f"What I learned about {names.get(about, '?')}"
            )
            lines += [f"### {heading}", "", text.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
