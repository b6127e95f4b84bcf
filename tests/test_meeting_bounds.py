"""Bounded meetings: the lobby, the people a meeting remembers, notes, and who marks whom."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from facilitator.domain.agenda import Agenda
from facilitator.domain.meeting import IN_LOBBY, IN_ROOM, Meeting, MeetingError
from facilitator.domain.people import (
    MAX_NOTE,
    MAX_NOTES_PER_AUTHOR,
    MAX_NOTES_TOTAL,
    MIN_LOBBY,
    PEOPLE_PER_SEAT,
)
from facilitator.library import Library, load_library

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(ROOT / "agendas", ROOT / "icebreakers")


@pytest.fixture
def agenda(library: Library) -> Agenda:
    return library.agendas["quick-check-in"]


def meeting(library: Library, agenda: Agenda, **kw: Any) -> Meeting:
    return Meeting("m1", agenda, dict(library.decks), created_at=0.0, **kw)


def code(fn: object, *args: object) -> str:
    with pytest.raises(MeetingError) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.code


def test_lobby_knocks_take_no_seat_and_have_their_own_bound(
    library: Library, agenda: Agenda
) -> None:
    m = meeting(library, agenda, max_people=16, lobby=True)
    m.arrive("host", "Host", "facilitator", 1.0)
    for i in range(5):
        m.arrive(f"g{i}", f"Guest {i}", "participant", 1.0)
        m.act("host", "admit", {"person": f"g{i}"}, 1.0)
    for i in range(11):
        assert m.arrive(f"s{i}", f"Stranger {i}", "participant", 2.0).state == IN_LOBBY
    assert m.count_in_room() == 6
    ivy = m.arrive("ivy", "Ivy", "participant", 3.0)
    m.act("host", "admit", {"person": "ivy"}, 3.0)
    assert ivy.state == IN_ROOM
    assert m.lobby_limit() == 16
    for i in range(5):
        m.arrive(f"t{i}", f"More {i}", "participant", 4.0)
    assert code(m.arrive, "late", "Late", "participant", 5.0) == "lobby-full"
    view = m.view("host", 5.0)["meeting"]
    assert view["lobby_waiting"] == 16 and view["lobby_notice"]
    assert "lobby_waiting" not in m.view("ivy", 5.0)["meeting"]


def test_a_small_lobby_still_holds_ten(library: Library, agenda: Agenda) -> None:
    m = meeting(library, agenda, max_people=2, lobby=True)
    m.arrive("host", "Host", "facilitator", 1.0)
    for i in range(MIN_LOBBY):
        m.arrive(f"s{i}", f"S{i}", "participant", 1.0)
    assert code(m.arrive, "x", "X", "participant", 1.0) == "lobby-full"
    # Admitting stops at the room's size: the rest keep waiting.
    m.act("host", "admit-all", {}, 2.0)
    assert m.count_in_room() == 2
    assert code(m.act, "host", "admit", {"person": "s5"}, 2.0) == "room-full"


def test_a_meeting_remembers_a_bounded_number_of_people(library: Library, agenda: Agenda) -> None:
    m = meeting(library, agenda, max_people=4)
    m.arrive("host", "Host", "facilitator", 1.0)
    n = 0
    assert m.people_limit() == PEOPLE_PER_SEAT * 10  # small rooms still remember 40
    while len(m.people) < m.people_limit():
        m.arrive(f"p{n}", f"P{n}", "participant", 1.0)
        m.depart(f"p{n}", 1.0)  # they leave: the seat is free, the memory is not
        n += 1
    assert code(m.arrive, "one-more", "One more", "participant", 2.0) == "room-full"
    # People it already knows come back; a facilitator (the key) always gets in.
    assert m.arrive("p0", "P0", "participant", 3.0).online
    assert m.arrive("co", "Co", "facilitator", 3.0).state == IN_ROOM


def test_notes_are_bounded_per_author_and_per_meeting(library: Library, agenda: Agenda) -> None:
    m = meeting(library, agenda, max_people=100)
    m.arrive("host", "Host", "facilitator", 1.0)
    for i in range(MAX_NOTES_PER_AUTHOR + 1):
        m.arrive(f"p{i}", f"P{i}", "participant", 1.0)
    for i in range(MAX_NOTES_PER_AUTHOR):
        m.act("host", "note", {"about": f"p{i}", "text": "ok"}, 2.0)
    last = f"p{MAX_NOTES_PER_AUTHOR}"
    assert code(m.act, "host", "note", {"about": last, "text": "one too many"}, 2.0) == (
        "bad-request"
    )
    m.act("host", "note", {"about": "p0", "text": "changing one is fine"}, 2.0)
    big = "y" * MAX_NOTE
    written = 0
    with pytest.raises(MeetingError):
        for author in [f"p{i}" for i in range(MAX_NOTES_PER_AUTHOR + 1)]:
            for about in [f"p{i}" for i in range(MAX_NOTES_PER_AUTHOR)]:
                m.act(author, "note", {"about": about, "text": big}, 3.0)
                written += 1
    total = sum(len(t) for notes in m.notes.values() for t in notes.values())
    assert total <= MAX_NOTES_TOTAL
    assert written == MAX_NOTES_TOTAL // MAX_NOTE - 1  # the host's short notes take some room


def test_the_creator_mark_follows_the_key_not_the_name(library: Library, agenda: Agenda) -> None:
    m = meeting(library, agenda)
    m.arrive("host", "Sam", "facilitator", 1.0)
    m.arrive("p1", "Sam", "participant", 1.0)
    m.act("host", "make-facilitator", {"person": "p1"}, 2.0)
    people = {p["id"]: p for p in m.view("host", 2.0)["people"]}
    assert people["host"]["creator"] is True and people["host"]["name"] == "Sam"
    assert people["p1"]["creator"] is False and people["p1"]["name"] == "Sam (2)"
    assert people["p1"]["role"] == "facilitator"
    # Renaming to a look-alike of someone present is numbered too.
    m.act("p1", "rename", {"name": "S\u0430m"}, 3.0)
    assert m.people["p1"].name == "S\u0430m (2)"
    m.act("host", "remove", {"person": "p1"}, 4.0)
    restored = Meeting.from_dict(m.to_dict())
    assert restored.people["host"].creator and not restored.people["p1"].creator
