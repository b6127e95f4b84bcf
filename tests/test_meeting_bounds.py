"""Bounded meetings: the lobby, the people a meeting remembers, notes, and who marks whom."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from facilitator.domain.agenda import Agenda
from facilitator.domain.meeting import IN_LOBBY, IN_ROOM, Meeting, MeetingError
from facilitator.domain.people import (
    CO_HOST_SLOTS,
    MAX_NOTE,
    MAX_NOTES_PER_AUTHOR,
    MAX_NOTES_TOTAL,
    MIN_LOBBY,
    PEOPLE_PER_SEAT,
)
from facilitator.domain.recap import build_recap
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


def host_and_five_guests(library: Library, agenda: Agenda) -> Meeting:
    """A 16-seat meeting with a lobby: its host and five guests admitted (g0-g4)."""
    m = meeting(library, agenda, max_people=16, lobby=True)
    m.arrive("host", "Host", "facilitator", 1.0)
    for i in range(5):
        m.arrive(f"g{i}", f"Guest {i}", "participant", 1.0)
        m.act("host", "admit", {"person": f"g{i}"}, 1.0)
    return m


def test_lobby_knocks_take_no_seat_and_have_their_own_bound(
    library: Library, agenda: Agenda
) -> None:
    m = host_and_five_guests(library, agenda)
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
    assert m.people_limit() == PEOPLE_PER_SEAT * 10  # small rooms still remember 40
    n = 0
    while True:
        try:
            m.arrive(f"p{n}", f"P{n}", "participant", 1.0)
        except MeetingError as exc:
            assert exc.code == "room-full" and "remember" in str(exc)
            break
        m.act(f"p{n}", "chat", {"text": "hello"}, 1.0)  # took part: remembered for the recap
        m.depart(f"p{n}", 1.0)  # they leave: the seat is free, the memory is not
        n += 1
    # The last places are kept for facilitators; people it already knows come back.
    assert len(m.people) == m.people_limit() - CO_HOST_SLOTS
    assert m.arrive("p0", "P0", "participant", 3.0).online
    for i in range(CO_HOST_SLOTS):
        assert m.arrive(f"co{i}", f"Co {i}", "facilitator", 3.0).state == IN_ROOM
        m.act(f"co{i}", "lower-all-hands", {}, 3.0)  # a facilitator action: a trace
        m.depart(f"co{i}", 3.0)
    # The bound holds for facilitators too: the key cannot grow a meeting without limit.
    assert code(m.arrive, "co-more", "Co more", "facilitator", 4.0) == "room-full"
    assert len(m.people) == m.people_limit()


def test_the_key_seats_a_few_facilitators_beyond_a_full_room(
    library: Library, agenda: Agenda
) -> None:
    m = meeting(library, agenda, max_people=4)
    m.arrive("host", "Host", "facilitator", 1.0)
    for i in range(3):
        m.arrive(f"p{i}", f"P{i}", "participant", 1.0)
    assert code(m.arrive, "late", "Late", "participant", 1.0) == "room-full"
    # The creator's other browsers (or co-hosts with the link) still get a seat, a few of them.
    for i in range(1, CO_HOST_SLOTS):
        assert m.arrive(f"key{i}", f"Key {i}", "facilitator", 2.0).state == IN_ROOM
    assert code(m.arrive, "key-more", "Key more", "facilitator", 2.0) == "room-full"
    # One who leaves frees a slot for the next.
    m.depart("key1", 3.0)
    assert m.arrive("key-next", "Key next", "facilitator", 3.0).state == IN_ROOM


def test_the_facilitator_link_without_cookies_cannot_grow_a_meeting(
    library: Library, agenda: Agenda
) -> None:
    # A stranger who created a meeting loads its facilitator link again and again, each time
    # as a new browser: every load is a new person with the key.
    m = meeting(library, agenda, max_people=16)
    refused = 0
    for i in range(1000):
        try:
            m.arrive(f"k{i}", f"K{i}", "facilitator", float(i))
        except MeetingError as exc:
            assert exc.code == "room-full"
            refused += 1
            continue
        if i % 2:
            m.act(f"k{i}", "chat", {"text": "still here"}, float(i))  # some leave a trace
        m.depart(f"k{i}", float(i))
        assert len(m.people) <= m.people_limit()
    assert refused > 0 and len(m.people) == m.people_limit()


def test_knockers_who_left_are_forgotten_before_invited_people_are_refused(
    library: Library, agenda: Agenda
) -> None:
    m = host_and_five_guests(library, agenda)
    m.act("g0", "chat", {"text": "hi"}, 1.5)
    m.act("g1", "note", {"about": "general", "text": "mine"}, 1.5)
    m.add_talk_time("g2", 2.0)
    m.act("host", "remove", {"person": "g3"}, 1.5)
    for i in range(5):
        m.depart(f"g{i}", 2.0)
    # A stranger knocks with a fresh browser, goes, and comes back: a thousand times.
    for i in range(1000):
        assert m.arrive(f"s{i}", f"Stranger {i}", "participant", 3.0).state == IN_LOBBY
        m.depart(f"s{i}", 3.0)
        assert len(m.people) <= m.people_limit() - CO_HOST_SLOTS
    assert {f"s{i}" for i in range(1000)} & set(m.take_forgotten())
    ivy = m.arrive("ivy", "Ivy", "participant", 4.0)
    assert ivy.state == IN_LOBBY
    m.act("host", "admit", {"person": "ivy"}, 4.0)
    assert ivy.state == IN_ROOM
    # Whoever took part is remembered (for the recap), the removed too (they stay out), and
    # the silent guest too: the knockers went first.
    assert {"g0", "g1", "g2", "g3", "g4"} <= set(m.people)
    assert code(m.arrive, "g3", "Guest 3", "participant", 5.0) == "removed"
    assert {p["name"] for p in m.view("host", 5.0)["people"]} == {"Host", "Ivy"}


def test_people_who_left_without_a_trace_make_room_in_an_open_meeting(
    library: Library, agenda: Agenda
) -> None:
    m = meeting(library, agenda, max_people=16)
    m.arrive("host", "Host", "facilitator", 1.0)
    m.arrive("ana", "Ana", "participant", 1.0)
    m.act("ana", "stay-in-touch", {"person": "host", "want": True}, 1.0)
    m.depart("ana", 1.0)
    for i in range(500):  # strangers come straight in, say nothing and go
        m.arrive(f"s{i}", f"S{i}", "participant", 2.0)
        m.depart(f"s{i}", 2.0)
    assert len(m.people) == m.people_limit() - CO_HOST_SLOTS
    assert "ana" in m.people and "s0" not in m.people and "s499" in m.people
    assert "s0" not in m.breakouts.main_call
    forgotten = m.take_forgotten()
    assert len(forgotten) == 500 - (m.people_limit() - CO_HOST_SLOTS - 2)
    assert m.take_forgotten() == []
    # A forgotten stranger's browser that comes back is a newcomer; the recap still works.
    assert m.arrive("s0", "S0", "participant", 3.0).state == IN_ROOM
    assert "Ana" in {a.name for a in build_recap(m, 3.0).attendees}


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
