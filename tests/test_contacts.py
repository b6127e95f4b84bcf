"""Staying in touch, in the domain: only mutual choices, only after the end, only to the pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facilitator.domain.contacts import MAX_CONTACT_LINE, people_met
from facilitator.domain.meeting import Meeting, MeetingError
from facilitator.domain.recap import Private, build_recap, to_markdown
from facilitator.library import load_library

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000.0


@pytest.fixture
def meeting() -> Meeting:
    lib = load_library(ROOT / "agendas", ROOT / "icebreakers")
    agenda = lib.agendas["network-night"]
    decks = {d: lib.decks[d] for d in {i.icebreaker for i in agenda.items if i.icebreaker}}
    m = Meeting(id="m1", agenda=agenda, decks=decks, created_at=T0)
    m.arrive("f", "Sam", "facilitator", T0)
    m.arrive("a", "Ana", "participant", T0)
    m.arrive("b", "Ben", "participant", T0)
    m.arrive("c", "Cy", "participant", T0)
    m.act("f", "start", {}, T0)
    return m


def choose(m: Meeting, who: str, other: str, want: bool = True, t: float = T0 + 1) -> None:
    m.act(who, "stay-in-touch", {"person": other, "want": want}, t)


def test_only_mutual_choices_match_and_only_after_the_end(meeting: Meeting) -> None:
    choose(meeting, "a", "b")
    choose(meeting, "b", "a")
    choose(meeting, "c", "a")  # one-sided: Cy chose Ana, Ana did not choose Cy
    meeting.act("a", "contact-line", {"text": "ana@example.org"}, T0 + 2)
    meeting.act("b", "contact-line", {"text": "https://ben.example.org/me"}, T0 + 2)
    meeting.act("c", "contact-line", {"text": "@cy"}, T0 + 2)
    assert meeting.matches_of("a") == [] and meeting.matches_of("b") == []  # not ended yet
    meeting.act("f", "end", {}, T0 + 60)
    [ana_match] = meeting.matches_of("a")
    assert (ana_match.person, ana_match.name, ana_match.line) == (
        "b",
        "Ben",
        "https://ben.example.org/me",
    )
    assert [m.line for m in meeting.matches_of("b")] == ["ana@example.org"]
    assert meeting.matches_of("c") == [] and meeting.matches_of("f") == []
    # Each reads back their own choices and line only.
    assert meeting.touch_of("c") == {"chosen": ["a"], "line": "@cy"}
    assert meeting.touch_of("a") == {"chosen": ["b"], "line": "ana@example.org"}
    assert meeting.touch_of("f") == {"chosen": [], "line": ""}


def test_withdrawing_removes_the_match_for_both_and_choices_stay_open_after_the_end(
    meeting: Meeting,
) -> None:
    choose(meeting, "a", "b")
    meeting.act("f", "end", {}, T0 + 60)
    assert meeting.matches_of("a") == []
    choose(meeting, "b", "a", t=T0 + 3600)  # decided later, on the recap page
    assert [m.person for m in meeting.matches_of("a")] == ["b"]
    choose(meeting, "a", "b", want=False, t=T0 + 7200)
    assert meeting.matches_of("a") == [] and meeting.matches_of("b") == []


def test_nothing_of_a_choice_reaches_the_room_view_or_the_shared_recap(meeting: Meeting) -> None:
    meeting.act("a", "contact-line", {"text": "secret-line-of-ana"}, T0 + 1)
    choose(meeting, "a", "c")
    before = {p: meeting.view(p, T0 + 2) for p in ("f", "b", "c")}
    assert all("secret-line" not in json.dumps(v) for v in before.values())
    assert all('"touch"' not in json.dumps(v) for v in before.values())
    meeting.act("f", "end", {}, T0 + 60)
    shared = json.dumps(build_recap(meeting, T0 + 61).to_dict())
    assert "secret-line" not in shared and "touch" not in shared
    # Cy's Markdown, with her own private part, shows no match (she did not choose Ana).
    recap = build_recap(meeting, T0 + 61)
    private = Private(matches=meeting.matches_of("c"))
    assert "stay in touch" not in to_markdown(recap, {}, {}, private)


def test_refusals_say_nothing_about_the_other_person(meeting: Meeting) -> None:
    meeting.arrive("l", "Lee", "participant", T0)
    meeting.people["l"].state = "lobby"
    choose(meeting, "b", "a")
    messages = set()
    for other in ("zz", "l", "c", "general"):  # unknown, only in the lobby, myself, not a person
        with pytest.raises(MeetingError) as refused:
            choose(meeting, "c", other)
        messages.add((refused.value.code, str(refused.value)))
    assert messages == {("bad-request", "You can choose among the people in this meeting.")}
    choose(meeting, "c", "a")  # Ana was chosen by Ben: choosing her too looks just the same
    with pytest.raises(MeetingError):
        meeting.act("a", "stay-in-touch", {"person": "b", "want": "yes"}, T0)
    with pytest.raises(MeetingError, match=str(MAX_CONTACT_LINE)):
        meeting.act("a", "contact-line", {"text": "x" * (MAX_CONTACT_LINE + 1)}, T0)
    meeting.act("a", "contact-line", {"text": "  two\nlines\u202e  "}, T0)
    assert meeting.touch_of("a")["line"] == "two lines"
    assert [p.id for p in people_met(meeting.people, "a")] == ["f", "b", "c"]
    assert people_met(meeting.people, "l") == []
    with pytest.raises(MeetingError):
        meeting.act("l", "stay-in-touch", {"person": "a", "want": True}, T0)


def test_delete_my_notes_removes_choices_and_contact_line_and_snapshots_keep_them(
    meeting: Meeting,
) -> None:
    choose(meeting, "a", "b")
    choose(meeting, "b", "a")
    meeting.act("b", "contact-line", {"text": "ben-line"}, T0)
    meeting.act("f", "end", {}, T0 + 60)
    copy = Meeting.from_dict(json.loads(json.dumps(meeting.to_dict())))
    assert [m.line for m in copy.matches_of("a")] == ["ben-line"]
    meeting.act("b", "delete-notes", {}, T0 + 61)
    assert meeting.matches_of("a") == [] and meeting.touch_of("b") == {"chosen": [], "line": ""}
    assert "ben-line" not in json.dumps(meeting.to_dict())
    assert meeting.touch_of("a") == {"chosen": ["b"], "line": ""}  # Ana's own choice stays
    old = meeting.to_dict()
    del old["contacts"]  # a meeting saved before this feature
    assert Meeting.from_dict(old).touch_of("a") == {"chosen": [], "line": ""}


def test_matches_go_into_the_markdown_of_the_pair(meeting: Meeting) -> None:
    choose(meeting, "a", "b")
    choose(meeting, "b", "a")
    meeting.act("b", "contact-line", {"text": "@ben_writes"}, T0)
    meeting.act("f", "end", {}, T0 + 60)
    recap = build_recap(meeting, T0 + 61)
    text = to_markdown(recap, {}, {}, Private(matches=meeting.matches_of("a")))
    assert "## Staying in touch" in text
    assert "You and Ben both want to stay in touch: @ben\\_writes" in text
