"""The recap of a call, computed from its clock, event log and talk time.

Planned vs actual per item, every icebreaker turn, who never got a turn, who was there and
when, and who talked how much. Private notes, stay-in-touch matches and the chat are not part
of it: each viewer adds their own (``Private``). Every duration is written with
``durations.format_span``, so the page, the JSON and the Markdown agree to the second.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .clock import ENDED, WAITING
from .contacts import Match, attended
from .durations import format_difference, format_span, span_difference
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
    """``done``, ``passed``, ``skipped``, ``left`` or ``sat-out``."""

    @property
    def label(self) -> str:
        """How the outcome reads, the same on the page and in the Markdown ("" when done)."""
        return OUTCOME_LABELS.get(self.outcome, self.outcome)


OUTCOME_LABELS = {
    "done": "",
    "passed": "passed",
    "skipped": "skipped",
    "left": "left",
    "sat-out": "sat out",
}
"""The words for each way a turn can end; a turn that was done needs none."""


@dataclass(frozen=True)
class Attendee:
    """Someone who was in the call, and when (``spans``: from, to; ``to`` None: still there)."""

    person: str
    name: str
    spans: list[tuple[float, float | None]]


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
    attendees: list[Attendee] = field(default_factory=list)
    """Everyone who took part, with when they were there."""
    time_given: float = 0.0
    """The time limit with every extension: what the room's countdown counted down from."""
    time_used: float = 0.0
    """Seconds the room's countdown ran (pauses excluded)."""
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
        """Seconds the items ran over (negative: under) their plan."""
        return self.actual_total - self.planned_total

    @property
    def over_limit(self) -> int:
        """Whole seconds the call ran over (negative: under) its time limit, as the room showed."""
        return span_difference(self.time_used, self.time_given)

    def to_dict(self) -> dict[str, Any]:
        """The shared part of the recap as JSON-ready data."""
        data = asdict(self)
        data["planned_total"] = self.planned_total
        data["actual_total"] = round(self.actual_total, 1)
        data["overrun"] = round(self.overrun, 1)
        data["over_limit"] = self.over_limit
        for row, item in zip(data["items"], self.items, strict=True):
            row["overrun"] = round(item.overrun, 1)
            row["difference"] = span_difference(item.actual, item.planned)
            row["text"] = {
                "planned": format_span(item.planned),
                "actual": format_span(item.actual),
                "difference": format_difference(row["difference"]),
            }
        for row, turn in zip(data["turns"], self.turns, strict=True):
            row["label"] = turn.label
            row["text"] = {"planned": format_span(turn.planned), "actual": format_span(turn.actual)}
        for row, talk in zip(data["talk"], self.talk, strict=True):
            row["text"] = format_span(talk.seconds)
        data["text"] = {
            "planned_total": format_span(self.planned_total),
            "actual_total": format_span(self.actual_total),
            "difference": format_difference(span_difference(self.actual_total, self.planned_total)),
            "time_given": format_span(self.time_given),
            "time_used": format_span(self.time_used),
            "over_limit": format_difference(self.over_limit),
        }
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
    took_part = [p for p in meeting.people.values() if attended(p)]
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
        attendees=attendance(meeting, [p.id for p in took_part]),
        time_given=clock.meeting.given,
        time_used=clock.meeting.spent(now) if clock.status != WAITING else 0.0,
        rounds=_rounds(meeting, names),
    )


def attendance(meeting: Meeting, ids: Sequence[str]) -> list[Attendee]:
    """When each of ``ids`` was there, from the join and leave events (closed at the end)."""
    spans: dict[str, list[tuple[float, float | None]]] = {pid: [] for pid in ids}
    open_at: dict[str, float] = {}
    for event in meeting.log.events:
        pid = str(event.data.get("person", ""))
        if pid not in spans:
            continue
        if event.kind == "join" and pid not in open_at:
            open_at[pid] = event.t
        elif event.kind == "leave" and pid in open_at:
            spans[pid].append((open_at.pop(pid), event.t))
    end = meeting.clock.ended_at
    for pid, start in open_at.items():
        spans[pid].append((start, end if end is not None and end >= start else None))
    return [Attendee(pid, meeting.people[pid].name, spans[pid]) for pid in ids]


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


@dataclass(frozen=True)
class Private:
    """What one viewer adds to the shared recap: only ever their own."""

    notes: dict[str, str] = field(default_factory=dict)
    """About whom (person id or "general") -> text."""
    names: dict[str, str] = field(default_factory=dict)
    """Person id -> name, for the notes' headings."""
    chat: Sequence[dict[str, Any]] = ()
    """The chat as it happened (only for people who were there)."""
    matches: Sequence[Match] = ()
    """People who chose the viewer as the viewer chose them (after the meeting ended)."""


def when(t: float) -> str:
    """A date and time with its zone, as the Markdown and the page (without JavaScript) show it."""
    return time.strftime("%A %-d %B %Y, %H:%M UTC", time.gmtime(t))


def hhmm(t: float | None) -> str:
    """A 24-hour time of day in UTC (the page shows the reader's own zone with JavaScript)."""
    return time.strftime("%H:%M", time.gmtime(t)) if t is not None else "now"


def to_markdown(
    recap: Recap,
    notes: dict[str, str],
    names: dict[str, str],
    private: Private | None = None,
) -> str:
    """The recap as Markdown, with the viewer's own notes (``notes``: about whom -> text) and,
    in ``private``, the chat and their stay-in-touch matches."""
    span = format_span
    lines = [f"# {recap.title}: recap", ""]
    if recap.started_at is not None:
        lines += [f"{when(recap.started_at)}", ""]
        lines += [
            f"Time limit {span(recap.time_given)}, took {span(recap.time_used)} "
            f"({_limit_words(recap.over_limit)}).",
            "",
        ]
    lines += ["## Agenda", "", "| Item | Planned | Actual | Over |", "|---|---|---|---|"]
    for item in recap.items:
        over = format_difference(span_difference(item.actual, item.planned))
        lines.append(
            f"| {_cell(item.title)} | {span(item.planned)} | {span(item.actual)} | {over} |"
        )
    total = format_difference(span_difference(recap.actual_total, recap.planned_total))
    lines.append(
        f"| **Total** | {span(recap.planned_total)} | {span(recap.actual_total)} | {total} |"
    )
    if recap.attendees:
        lines += ["", "## Who was there", ""]
        lines += [f"- {_inline(a.name)}: {spans_text(a.spans)}" for a in recap.attendees]
    if recap.turns:
        lines += ["", "## Icebreakers", ""]
        for turn in recap.turns:
            label = f" ({turn.label})" if turn.label else ""
            lines.append(
                f"- **{_inline(turn.name)}** ({_inline(turn.item)}, {span(turn.actual)} of "
                f"{span(turn.planned)}){label}: {_inline(turn.prompt)}"
            )
        if recap.never_spoke:
            lines += ["", f"Did not get a turn: {', '.join(recap.never_spoke)}"]
    if recap.talk:
        lines += ["", "## Talk time", ""]
        lines += [f"- {t.name}: {span(t.seconds)} ({round(t.share * 100)}%)" for t in recap.talk]
        if recap.talk_note:
            lines += ["", recap.talk_note]
    private = private or Private()
    if private.matches:
        lines += ["", "## Staying in touch", ""]
        for match in private.matches:
            line = f": {_inline(match.line)}" if match.line else " (no contact line yet)"
            lines.append(f"- You and {_inline(match.name)} both want to stay in touch{line}")
    if private.chat:
        lines += ["", "## Chat", ""]
        for message in private.chat:
            lines.append(
                f"- {hhmm(float(message['t']))} **{_inline(str(message['name']))}**: "
                f"{_inline(str(message['text']))}"
            )
    mine = {about: text for about, text in notes.items() if text.strip()}
    if mine:
        lines += ["", "## My notes", ""]
        for about, text in mine.items():
            heading = (
                "General" if about == "general" else f"What I learned about {names.get(about, '?')}"
            )
            lines += [f"### {heading}", "", text.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def spans_text(spans: Sequence[tuple[float, float | None]]) -> str:
    """``19:02–19:45, 19:50–20:10`` (UTC) for when someone was there."""
    return ", ".join(f"{hhmm(start)}–{hhmm(end)}" for start, end in spans) or "briefly"


def _limit_words(over: int) -> str:
    if over > 0:
        return f"{format_difference(over)} over"
    if over < 0:
        return f"{format_span(-over)} under"
    return "on time"


def _inline(text: str) -> str:
    """One line of plain text, so a name or message cannot start a heading or a list."""
    return " ".join(text.split()).replace("*", "\\*").replace("_", "\\_")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
