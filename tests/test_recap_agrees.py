"""A recap people can trust: every turn's outcome, one rounding rule, the limit the room showed,
the date, who was there and when."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from facilitator.domain.durations import format_difference, format_span, span_difference
from facilitator.domain.meeting import Meeting
from facilitator.domain.recap import OUTCOME_LABELS, Private, build_recap, to_markdown, when
from facilitator.domain.retention import DAY, expires_at
from facilitator.library import load_library

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_764_590_400.0  # Monday 1 December 2025, 12:00 UTC


@pytest.fixture
def meeting() -> Meeting:
    lib = load_library(ROOT / "agendas", ROOT / "icebreakers")
    agenda = lib.agendas["network-night"]
    decks = {d: lib.decks[d] for d in {i.icebreaker for i in agenda.items if i.icebreaker}}
    m = Meeting(id="m1", agenda=agenda, decks=decks, created_at=T0)
    for pid, name, role in (("f", "Sam", "facilitator"), ("a", "Ana", "participant")):
        m.arrive(pid, name, role, T0)
    m.arrive("b", "Ben", "participant", T0)
    m.arrive("c", "Cy", "participant", T0)
    return m


def test_format_span_drops_the_fraction_everywhere() -> None:
    assert format_span(201.3) == "3:21"
    assert format_span(201.99) == "3:21"
    assert format_span(180) == "3:00"
    assert format_span(0.4) == "0:00"
    assert format_span(3723.9) == "1:02:03"
    assert span_difference(201.3, 180) == 21
    assert span_difference(100.7, 180) == -80  # 1:40 shown against 3:00: 1:20 under
    assert format_difference(21) == "+0:21"
    assert format_difference(-80) == "-1:20"
    assert format_difference(0) == "0:00"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_room_rounds_durations_as_the_recap_does(tmp_path: Path) -> None:
    # format.js is an ES module; a copy named .mjs loads in plain node.
    shutil.copy(ROOT / "facilitator" / "web" / "static" / "format.js", tmp_path / "format.mjs")
    values = [0, 0.4, 59.99, 60, 201.3, 201.99, 3599.5, 3600, 3723.9, 36000.2]
    script = (
        "import { mss } from './format.mjs';"
        f"console.log(JSON.stringify({json.dumps(values)}.map(mss)));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert json.loads(out) == [format_span(v) for v in values]


def run_items(meeting: Meeting) -> float:
    """Welcome runs 201.3 s (3 min planned), then the call ends 21.4 s past its time limit."""
    meeting.act("f", "start", {}, T0)
    meeting.act("f", "next-item", {}, T0 + 201.3)
    end = T0 + meeting.agenda.time_limit + 21.4
    meeting.act("f", "end", {}, end)
    return end


def test_page_data_json_and_markdown_agree_to_the_second(meeting: Meeting) -> None:
    end = run_items(meeting)
    recap = build_recap(meeting, end)
    data = json.loads(json.dumps(recap.to_dict()))
    welcome = data["items"][0]
    assert welcome["actual"] == 201.3
    assert welcome["text"] == {"planned": "3:00", "actual": "3:21", "difference": "+0:21"}
    assert welcome["difference"] == 21
    text = to_markdown(recap, {}, {})
    assert "| Welcome and how it works | 3:00 | 3:21 | +0:21 |" in text
    # Overrun against the time limit, as the room's countdown showed it (+00:21 over).
    assert recap.time_given == meeting.agenda.time_limit
    assert recap.over_limit == 21 and data["over_limit"] == 21
    assert data["text"]["over_limit"] == "+0:21"
    limit = format_span(meeting.agenda.time_limit)
    assert (
        f"Time limit {limit}, took {format_span(meeting.agenda.time_limit + 21)} (+0:21 over)."
        in text
    )
    assert f"Time limit {limit}, took " in text and "(+0:21 over)" in text
    total = data["text"]
    assert f"| **Total** | {total['planned_total']} | {total['actual_total']} |" in text


def test_every_outcome_is_recorded_and_shown_the_same_way(meeting: Meeting) -> None:
    meeting.act("f", "start", {}, T0)
    meeting.act("f", "next-item", {}, T0 + 10)  # name game
    assert meeting.rotation is not None
    seen: list[str] = []
    steps = 0
    t = T0 + 20
    while meeting.rotation.current is not None and steps < 12:
        speaker = meeting.rotation.current
        outcome = ["done", "passed", "skipped", "sat-out", "left"][steps % 5]
        if outcome == "done":
            meeting.act("f", "next-speaker", {}, t)
        elif outcome == "passed":
            meeting.act(speaker, "pass", {}, t)
        elif outcome == "skipped":
            meeting.act("f", "skip-speaker", {}, t)
        elif outcome == "sat-out":
            meeting.act(speaker, "opt-out", {"sit_out": True}, t)
        else:
            meeting.depart(speaker, t)
        seen.append(outcome)
        steps += 1
        t += 5
    meeting.act("f", "end", {}, t)
    recap = build_recap(meeting, t)
    outcomes = [turn.outcome for turn in recap.turns]
    assert {"done", "passed", "skipped", "sat-out", "left"} <= set(outcomes)
    data = recap.to_dict()
    text = to_markdown(recap, {}, {})
    for turn, row in zip(recap.turns, data["turns"], strict=True):
        assert row["outcome"] == turn.outcome and row["label"] == OUTCOME_LABELS[turn.outcome]
        suffix = f" ({turn.label})" if turn.label else ""
        line = (
            f"- **{turn.name}** ({turn.item}, {format_span(turn.actual)} of "
            f"{format_span(turn.planned)}){suffix}:"
        )
        assert line in text
    assert "(sat out)" in text and "(left)" in text and "(skipped)" in text
    assert "(passed)" in text


def test_the_recap_has_the_date_who_was_there_and_when(meeting: Meeting) -> None:
    meeting.act("f", "start", {}, T0)
    meeting.depart("a", T0 + 100)
    meeting.arrive("a", "Ana", "participant", T0 + 200)
    meeting.act("a", "chat", {"text": "see https://example.org/x"}, T0 + 210)
    meeting.arrive("l", "Lee", "participant", T0)
    meeting.people["l"].state = "lobby"  # never let in: not an attendee
    meeting.act("f", "end", {}, T0 + 300)
    recap = build_recap(meeting, T0 + 301)
    spans = {a.name: a.spans for a in recap.attendees}
    assert spans["Ana"] == [(T0, T0 + 100), (T0 + 200, T0 + 300)]
    assert spans["Sam"] == [(T0, T0 + 300)]
    assert "Lee" not in spans
    text = to_markdown(recap, {}, {}, Private(chat=meeting.chat))
    assert when(T0) == "Monday 1 December 2025, 12:00 UTC"
    assert "Monday 1 December 2025, 12:00 UTC" in text
    assert "- Ana: 12:00–12:01, 12:03–12:05" in text
    assert "## Chat" in text and "12:03 **Ana**: see https://example.org/x" in text
    assert "## Chat" not in to_markdown(recap, {}, {})
    data = recap.to_dict()
    assert [a["name"] for a in data["attendees"]] == ["Sam", "Ana", "Ben", "Cy"]
    assert "example.org" not in json.dumps(data)  # the chat is never in the shared part


def test_meetings_expire_keep_days_after_they_end() -> None:
    assert expires_at(T0, T0 + 5 * DAY, None, 30) == T0 + 30 * DAY
    # Never ended: kept after its last use or its scheduled time, whichever is later.
    assert expires_at(None, T0, None, 30) == T0 + 30 * DAY
    assert expires_at(None, T0, T0 + 40 * DAY, 30) == T0 + 70 * DAY
    assert expires_at(T0, T0, None, 0.5) == T0 + 12 * 3600
    # A start far ahead (stored before the server checked it) still lets the meeting go.
    assert expires_at(None, T0, 1e300, 30) == T0 + 396 * DAY
    assert expires_at(None, T0, float("inf"), 30) == T0 + 30 * DAY
