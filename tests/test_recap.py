"""The recap, computed from a meeting run with a fake clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facilitator.domain.meeting import Meeting
from facilitator.domain.recap import build_recap, to_markdown
from facilitator.library import load_library

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def meeting() -> Meeting:
    lib = load_library(ROOT / "agendas", ROOT / "icebreakers")
    agenda = lib.agendas["network-night"]
    decks = {d: lib.decks[d] for d in {i.icebreaker for i in agenda.items if i.icebreaker}}
    m = Meeting(id="m1", agenda=agenda, decks=decks, created_at=0.0)
    m.arrive("f", "Sam", "facilitator", 0.0)
    m.arrive("a", "Ana", "participant", 0.0)
    m.arrive("b", "Ben", "participant", 0.0)
    return m


def test_recap_of_a_short_run(meeting: Meeting) -> None:
    t = 1000.0
    meeting.act("f", "start", {}, t)
    t += 240  # welcome: 3 min planned, 4 taken
    meeting.act("f", "next-item", {}, t)  # name game, join order: Sam, Ana, Ben
    first = meeting.rotation.current if meeting.rotation else None
    t += 20
    meeting.act("f", "next-speaker", {}, t)
    second = meeting.rotation.current if meeting.rotation else None
    t += 10
    assert second is not None
    meeting.act(second, "pass", {}, t)
    t += 45
    meeting.act("f", "next-speaker", {}, t)
    t += 5
    meeting.act("f", "pause", {}, t)
    t += 100  # paused time does not count
    meeting.act("f", "resume", {}, t)
    t += 25
    meeting.act("f", "next-item", {}, t)
    meeting.add_talk_time("a", 300)
    meeting.add_talk_time("a", 4)
    meeting.add_talk_time("b", 2)
    meeting.add_talk_time("f", 3)
    t += 60
    meeting.act("f", "end", {}, t)
    recap = build_recap(meeting, t + 10)
    items = {i.title: i for i in recap.items}
    assert items["Welcome and how it works"].actual == 240
    assert items["Welcome and how it works"].overrun == 60
    assert items["Name game"].actual == 20 + 10 + 45 + 5 + 25  # pause excluded
    assert items["Funny questions"].actual == 60
    assert items["Dumb mistakes"].actual == 0 and items["Dumb mistakes"].started is None
    assert recap.status == "ended" and recap.actual_end == t
    assert recap.planned_end == 1000.0 + 45 * 60
    outcomes = [(turn.person, turn.outcome) for turn in recap.turns]
    assert outcomes[0] == (first, "done")
    assert outcomes[1] == (second, "passed")
    assert recap.turns[0].actual == 20 and recap.turns[0].planned == 30
    assert all(turn.prompt for turn in recap.turns)
    done = {p for p, o in outcomes if o == "done"}
    names = {"f": "Sam", "a": "Ana", "b": "Ben"}
    assert set(recap.never_spoke) == {names[p] for p in names if p not in done}
    assert recap.talk[0].name == "Ana"
    assert recap.talk[0].seconds == 4  # talk time counts only plausible steps (< 5 s each)
    assert "Ana did 44% of the talking" in recap.talk_note
    data = recap.to_dict()
    assert data["overrun"] == pytest.approx(recap.overrun)
    json.dumps(data)  # JSON-ready


def test_markdown_has_the_agenda_table_and_only_given_notes(meeting: Meeting) -> None:
    meeting.act("f", "start", {}, 0.0)
    meeting.act("a", "note", {"about": "b", "text": "Ben: blogging for 3 years"}, 1.0)
    meeting.act("a", "note", {"about": "general", "text": "Lovely group"}, 1.0)
    meeting.act("b", "note", {"about": "a", "text": "secret of Ben"}, 1.0)
    recap = build_recap(meeting, 100.0)
    names = {p.id: p.name for p in meeting.people.values()}
    text = to_markdown(recap, meeting.notes_of("a"), names)
    assert "| Item | Planned | Actual | Over |" in text
    assert "| Welcome and how it works | 3:00 | 1:40 | -1:20 |" in text
    assert "### What I learned about Ben" in text and "blogging for 3 years" in text
    assert "Lovely group" in text
    assert "secret of Ben" not in text
    assert meeting.notes_of("b") == {"a": "secret of Ben"}
    meeting.act("a", "delete-notes", {}, 2.0)
    assert meeting.notes_of("a") == {}
    snapshot = json.dumps(meeting.to_dict())
    assert "Lovely group" not in snapshot and "secret of Ben" in snapshot
