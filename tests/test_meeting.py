"""The meeting aggregate: people, roles, lobby, lock, icebreakers, chat and permissions."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Protocol

import pytest

from facilitator.domain.agenda import HARD_STOP_GRACE, Agenda, Item
from facilitator.domain.clock import ENDED, RUNNING, Clock
from facilitator.domain.decks import Deck
from facilitator.domain.meeting import (
    AFTER_END,
    EVERYONE,
    FACILITATORS,
    IN_LOBBY,
    IN_ROOM,
    REMOVED,
    Meeting,
    MeetingError,
    Notice,
)
from facilitator.domain.people import MAX_CHAT_HISTORY
from facilitator.library import Library, load_library


class FakeClock(Protocol):
    """The ``fake_clock`` fixture from conftest (typed here, so no import from conftest)."""

    t: float

    def advance(self, seconds: float) -> float: ...


ALL_ARGS: dict[str, Any] = {"person": "p2", "seconds": 60, "index": 1, "text": "hi", "raised": True}


@pytest.fixture(scope="module")
def library() -> Library:
    root = Path(__file__).resolve().parent.parent
    library = load_library(root / "agendas", root / "icebreakers")
    assert library.errors == []
    return library


@pytest.fixture
def agenda(library: Library) -> Agenda:
    agenda = library.agendas["network-night"]
    assert agenda.items[0].icebreaker is None
    assert agenda.items[1].icebreaker == "name-game"
    return agenda


def new_meeting(agenda: Agenda, decks: dict[str, Deck], t: FakeClock, **kw: Any) -> Meeting:
    m = Meeting("m1", agenda, dict(decks), created_at=t.t, **kw)
    m.arrive("f", "Fay", "facilitator", t.advance(1))
    for pid, name in (("p1", "Bob"), ("p2", "alice"), ("p3", "Carl")):
        m.arrive(pid, name, "participant", t.advance(1))
    return m


@pytest.fixture
def m(agenda: Agenda, library: Library, fake_clock: FakeClock) -> Meeting:
    return new_meeting(agenda, library.decks, fake_clock)


def act(m: Meeting, who: str, action: str, t: FakeClock, **args: Any) -> list[Notice]:
    return m.act(who, action, args, t.advance(1))


def refused(m: Meeting, who: str, action: str, t: FakeClock, **args: Any) -> str:
    before = json.dumps(m.to_dict())
    with pytest.raises(MeetingError) as info:
        m.act(who, action, args, t.t)
    assert json.dumps(m.to_dict()) == before, f"{action} changed the meeting"
    return info.value.code


def in_icebreaker(m: Meeting, t: FakeClock) -> None:
    act(m, "f", "start", t)
    act(m, "f", "next-item", t)
    assert m.rotation is not None


def turns(m: Meeting) -> list[dict[str, Any]]:
    return [dict(e.data) for e in m.log.of_kind("turn")]


def speaker_left(clock: Clock, now: float) -> float | None:
    """Seconds left for the current speaker, or None when nobody has the floor."""
    return clock.speaker.left(now) if clock.speaker else None


def test_participant_cannot_use_facilitator_actions(m: Meeting, fake_clock: FakeClock) -> None:
    for action in FACILITATORS:
        assert refused(m, "p1", action, fake_clock, **ALL_ARGS) == "not-allowed", action
    in_icebreaker(m, fake_clock)
    for action in FACILITATORS:
        assert refused(m, "p1", action, fake_clock, **ALL_ARGS) == "not-allowed", action


def test_strangers_and_unknown_actions(m: Meeting, fake_clock: FakeClock) -> None:
    assert refused(m, "nobody", "chat", fake_clock, text="hi") == "not-allowed"
    assert refused(m, "f", "explode", fake_clock) == "unknown-action"
    assert not set(EVERYONE) & set(FACILITATORS)


def test_start_and_icebreaker_rotation(m: Meeting, fake_clock: FakeClock) -> None:
    act(m, "f", "start", fake_clock)
    assert (m.clock.status, m.rotation) == (RUNNING, None)
    act(m, "f", "next-item", fake_clock)
    assert m.rotation is not None
    assert m.rotation.deck_id == "name-game"
    assert m.rotation.current == "f"
    assert m.rotation.queue == ["p1", "p2", "p3"]
    assert m.rotation.prompt in m.decks["name-game"].prompts
    assert speaker_left(m.clock, fake_clock.t) == 30
    assert speaker_left(m.clock, fake_clock.advance(10)) == 20
    view = m.view("p1", fake_clock.t)["icebreaker"]
    assert (view["speaker"], view["up_next"], view["per_speaker"]) == ("f", "p1", 30)
    assert view["prompt"] == m.rotation.prompt


def test_pass_by_speaker_and_by_someone_else(m: Meeting, fake_clock: FakeClock) -> None:
    in_icebreaker(m, fake_clock)
    assert refused(m, "p2", "pass", fake_clock) == "not-your-turn"
    act(m, "f", "pass", fake_clock)
    assert m.rotation is not None
    assert m.rotation.current == "p1"
    assert m.rotation.queue == ["p2", "p3", "f"]
    assert turns(m)[-1]["outcome"] == "passed"
    assert speaker_left(m.clock, fake_clock.t) == 30


def test_next_speaker_logs_the_turn(m: Meeting, fake_clock: FakeClock) -> None:
    in_icebreaker(m, fake_clock)
    assert m.rotation is not None
    prompt = m.rotation.prompt
    fake_clock.advance(40)
    act(m, "f", "next-speaker", fake_clock)
    turn = turns(m)[-1]
    assert {k: turn[k] for k in ("person", "name", "prompt", "planned", "outcome", "round")} == {
        "person": "f",
        "name": "Fay",
        "prompt": prompt,
        "planned": 30.0,
        "outcome": "done",
        "round": 1,
    }
    assert turn["actual"] == pytest.approx(41)
    assert m.rotation.current == "p1"
    act(m, "f", "extend-speaker", fake_clock, seconds=15)
    assert speaker_left(m.clock, fake_clock.t) == 30 + 15 - 1
    act(m, "f", "skip-speaker", fake_clock)
    assert turns(m)[-1]["outcome"] == "skipped"
    assert turns(m)[-1]["planned"] == 45.0
    act(m, "f", "previous-speaker", fake_clock)
    assert m.rotation.current == "p1"
    assert refused(m, "f", "extend-speaker", fake_clock, seconds=1) == "bad-request"


def test_lock(m: Meeting, fake_clock: FakeClock) -> None:
    act(m, "f", "lock", fake_clock)
    with pytest.raises(MeetingError) as info:
        m.arrive("p9", "Newbie", "participant", fake_clock.t)
    assert info.value.code == "room-locked"
    assert "p9" not in m.people
    m.depart("p1", fake_clock.advance(1))
    assert m.arrive("p1", "Bob again", "participant", fake_clock.advance(1)).online
    assert m.people["p1"].name == "Bob again"
    assert m.arrive("f2", "Co-host", "facilitator", fake_clock.t).state == IN_ROOM
    act(m, "f", "unlock", fake_clock)
    assert m.arrive("p9", "Newbie", "participant", fake_clock.t).state == IN_ROOM


def test_full_room(agenda: Agenda, library: Library, fake_clock: FakeClock) -> None:
    m = new_meeting(agenda, library.decks, fake_clock, max_people=4)
    with pytest.raises(MeetingError) as info:
        m.arrive("p9", "Fifth", "participant", fake_clock.t)
    assert info.value.code == "room-full"
    m.depart("p3", fake_clock.t)
    assert m.arrive("p9", "Fifth", "participant", fake_clock.t).state == IN_ROOM
    assert m.arrive("p3", "Carl", "participant", fake_clock.t).online


def test_lobby_and_admit(m: Meeting, fake_clock: FakeClock) -> None:
    act(m, "f", "lobby-on", fake_clock)
    for pid in ("l1", "l2", "l3"):
        assert m.arrive(pid, pid.upper(), "participant", fake_clock.advance(1)).state == IN_LOBBY
    assert refused(m, "l1", "chat", fake_clock, text="let me in") == "in-lobby"
    participant_ids = [p["id"] for p in m.view("p1", fake_clock.t)["people"]]
    facilitator_ids = [p["id"] for p in m.view("f", fake_clock.t)["people"]]
    assert participant_ids == ["f", "p1", "p2", "p3"]
    assert facilitator_ids == ["f", "p1", "p2", "p3", "l1", "l2", "l3"]
    notices = act(m, "f", "admit", fake_clock, person="l1")
    assert notices == [Notice("admitted", {"person": "l1"}, to="l1")]
    assert m.people["l1"].state == IN_ROOM
    assert refused(m, "f", "admit", fake_clock, person="l1") == "bad-request"
    m.depart("l3", fake_clock.t)
    notices = act(m, "f", "admit-all", fake_clock)
    assert [n.to for n in notices] == ["l2"]
    assert m.people["l3"].state == IN_LOBBY
    act(m, "l1", "chat", fake_clock, text="thanks")


def test_admitting_an_offline_person_keeps_them_out_of_the_line(
    m: Meeting, fake_clock: FakeClock
) -> None:
    act(m, "f", "lobby-on", fake_clock)
    m.arrive("l1", "Late", "participant", fake_clock.t)
    in_icebreaker(m, fake_clock)
    m.depart("l1", fake_clock.t)
    act(m, "f", "admit", fake_clock, person="l1")
    assert m.rotation is not None
    assert "l1" not in m.rotation.queue
    m.arrive("l1", "Late", "participant", fake_clock.t)
    assert m.rotation.queue[-1] == "l1"


def test_remove(m: Meeting, fake_clock: FakeClock) -> None:
    in_icebreaker(m, fake_clock)
    act(m, "f", "next-speaker", fake_clock)
    assert m.rotation is not None and m.rotation.current == "p1"
    notices = act(m, "f", "remove", fake_clock, person="p1")
    assert notices == [Notice("removed", {"person": "p1"}, to="p1")]
    assert m.people["p1"].state == REMOVED
    assert m.lobby is True
    assert m.rotation.current == "p2"
    assert turns(m)[-1]["outcome"] == "left"
    with pytest.raises(MeetingError) as info:
        m.arrive("p1", "Bob", "participant", fake_clock.t)
    assert info.value.code == "removed"
    with pytest.raises(MeetingError) as info:
        m.arrive("p1", "Bob", "facilitator", fake_clock.t)
    assert info.value.code == "removed"
    assert refused(m, "p1", "chat", fake_clock, text="hi") == "not-allowed"
    assert refused(m, "f", "remove", fake_clock, person="f") == "bad-request"
    assert refused(m, "f", "mute", fake_clock, person="p1") == "no-such-person"
    assert m.arrive("p8", "New", "participant", fake_clock.t).state == IN_LOBBY


def test_removed_speaker_is_not_lined_up_for_the_next_round(
    library: Library, fake_clock: FakeClock
) -> None:
    item = Item("Names", 600, icebreaker="name-game", per_speaker=30, rounds=2)
    m = new_meeting(Agenda("Two rounds", (item,), 600), library.decks, fake_clock)
    act(m, "f", "start", fake_clock)
    assert m.rotation is not None
    for _ in range(3):
        act(m, "f", "next-speaker", fake_clock)
    assert (m.rotation.round, m.rotation.current, m.rotation.queue) == (1, "p3", [])
    act(m, "f", "remove", fake_clock, person="p3")
    assert m.rotation.round == 2
    assert "p3" not in [m.rotation.current, *m.rotation.queue]


def test_mute_and_unmute(m: Meeting, fake_clock: FakeClock) -> None:
    notices = act(m, "f", "mute", fake_clock, person="p2")
    assert notices == [Notice("muted", {"person": "p2", "by": "Fay"}, to="p2")]
    assert m.people["p2"].muted
    assert refused(m, "p2", "unmute-self", fake_clock) == "muted-by-facilitator"
    assert act(m, "p3", "unmute-self", fake_clock) == []
    assert act(m, "f", "unmute", fake_clock, person="p2")[0].to == "p2"
    assert not m.people["p2"].muted


def test_make_facilitator_and_step_down(m: Meeting, fake_clock: FakeClock) -> None:
    assert refused(m, "f", "step-down", fake_clock) == "last-facilitator"
    act(m, "f", "make-facilitator", fake_clock, person="p1")
    assert m.is_facilitator("p1")
    act(m, "p1", "lock", fake_clock)
    assert m.locked
    act(m, "f", "step-down", fake_clock)
    assert not m.is_facilitator("f")
    assert refused(m, "f", "unlock", fake_clock) == "not-allowed"
    assert refused(m, "p1", "step-down", fake_clock) == "last-facilitator"
    controls = [dict(e.data) for e in m.log.of_kind("control")]
    assert {"action": "lock", "by": "p1"} in controls


def test_chat_cleans_and_caps(m: Meeting, fake_clock: FakeClock) -> None:
    (notice,) = act(m, "p1", "chat", fake_clock, text="  hi\x00 there\u202e\n ok\t!  ")
    assert notice.kind == "chat"
    assert notice.to is None
    assert notice.data["text"] == "hi there\n ok\t!"
    assert (notice.data["seq"], notice.data["person"], notice.data["name"]) == (1, "p1", "Bob")
    for bad in ("", "  \x07 ", "x" * 1001, 42, None):
        assert refused(m, "p1", "chat", fake_clock, text=bad) == "bad-message"
    assert act(m, "p1", "chat", fake_clock, text="y" * 1000)[0].data["seq"] == 2
    for n in range(MAX_CHAT_HISTORY + 5):
        act(m, "p2", "chat", fake_clock, text=f"msg {n}")
    assert len(m.chat) == MAX_CHAT_HISTORY
    assert m.chat[-1]["text"] == f"msg {MAX_CHAT_HISTORY + 4}"
    assert m.chat[0]["seq"] == m.chat_seq - MAX_CHAT_HISTORY + 1


def test_hands_are_ordered_by_when_they_went_up(m: Meeting, fake_clock: FakeClock) -> None:
    act(m, "p3", "hand", fake_clock, raised=True)
    act(m, "p1", "hand", fake_clock, raised=True)
    first = m.people["p3"].hand
    act(m, "p3", "hand", fake_clock, raised=True)
    assert m.people["p3"].hand == first
    raised = sorted((p for p in m.people.values() if p.hand), key=lambda p: p.hand or 0)
    assert [p.id for p in raised] == ["p3", "p1"]
    act(m, "p3", "hand", fake_clock, raised=False)
    assert m.people["p3"].hand is None
    assert refused(m, "p3", "hand", fake_clock, raised="yes") == "bad-request"


def test_opt_out_and_back_in(m: Meeting, fake_clock: FakeClock) -> None:
    in_icebreaker(m, fake_clock)
    assert m.rotation is not None
    act(m, "p2", "opt-out", fake_clock, sit_out=True)
    assert m.rotation.queue == ["p1", "p3"]
    act(m, "f", "opt-out", fake_clock, sit_out=True)
    assert m.rotation.current == "p1"
    assert turns(m)[-1]["outcome"] == "sat-out"  # opted out during their own turn (issue 13)
    act(m, "p2", "opt-out", fake_clock, sit_out=False)
    assert m.rotation.queue == ["p3", "p2"]
    assert refused(m, "p2", "opt-out", fake_clock, sit_out="no") == "bad-request"


def test_depart_of_current_speaker_advances(m: Meeting, fake_clock: FakeClock) -> None:
    in_icebreaker(m, fake_clock)
    assert m.rotation is not None
    act(m, "f", "next-speaker", fake_clock)
    m.depart("p1", fake_clock.advance(3))
    assert m.rotation.current == "p2"
    assert turns(m)[-1]["person"] == "p1"
    assert turns(m)[-1]["outcome"] == "left"
    assert speaker_left(m.clock, fake_clock.t) == 30
    m.arrive("p1", "Bob", "participant", fake_clock.t)
    assert m.rotation.queue == ["p3", "p1"]


def test_tick_warns_once_and_hard_stop_ends(
    agenda: Agenda, library: Library, fake_clock: FakeClock
) -> None:
    hard = dataclasses.replace(agenda, hard_stop=True)
    m = new_meeting(hard, library.decks, fake_clock)
    act(m, "f", "start", fake_clock)
    start = fake_clock.t
    assert m.tick(fake_clock.t) == []
    fake_clock.t = start + hard.time_limit - 300
    (warning,) = m.tick(fake_clock.t)
    assert (warning.kind, warning.data["threshold"], warning.to) == ("warning", 300, None)
    assert m.tick(fake_clock.advance(1)) == []
    fake_clock.t = start + hard.time_limit + HARD_STOP_GRACE - 1
    assert [n.data["threshold"] for n in m.tick(fake_clock.t)] == [60]
    assert m.clock.status == RUNNING
    notices = m.tick(fake_clock.advance(1))
    assert [n.kind for n in notices] == ["ended"]
    assert m.clock.status == ENDED
    assert m.tick(fake_clock.advance(100)) == []


def test_after_the_end_only_chat_and_rename(m: Meeting, fake_clock: FakeClock) -> None:
    in_icebreaker(m, fake_clock)
    act(m, "p1", "hand", fake_clock, raised=True)
    assert [n.kind for n in act(m, "f", "end", fake_clock)] == ["ended"]
    assert m.rotation is None
    assert m.people["p1"].hand is None
    assert turns(m)[-1]["outcome"] == "done"
    for action in set(EVERYONE) | set(FACILITATORS):
        if action not in AFTER_END:
            who = "f" if action in FACILITATORS else "p1"
            assert refused(m, who, action, fake_clock, **ALL_ARGS) == "meeting-ended", action
    act(m, "p1", "chat", fake_clock, text="bye")
    act(m, "p1", "rename", fake_clock, name="Robert")
    assert m.people["p1"].name == "Robert"
    # People who were in can come back to say goodbye; nobody new gets in.
    assert m.arrive("p1", "Bob", "participant", fake_clock.t).name == "Bob"
    with pytest.raises(MeetingError) as info:
        m.arrive("new", "Newcomer", "participant", fake_clock.t)
    assert info.value.code == "meeting-ended"


def test_view_hides_notes_from_participants(m: Meeting, fake_clock: FakeClock) -> None:
    host = m.view("f", fake_clock.t)
    guest = m.view("p1", fake_clock.t)
    assert host["agenda"][0]["notes"] == m.agenda.items[0].notes != ""
    assert all("notes" not in row for row in guest["agenda"])
    assert "notes" not in json.dumps(guest)
    assert guest["you"]["id"] == "p1"
    assert guest["meeting"]["status"] == "waiting"
    assert guest["icebreaker"] is None
    assert [row["deck_title"] for row in guest["agenda"][:2]] == [None, "Name game"]
    assert [row["deck"] for row in guest["agenda"][:2]] == [None, "name-game"]
    assert all("icebreaker" not in row for row in guest["agenda"])


def test_the_shared_view_is_the_same_for_everyone_of_a_role(
    m: Meeting, fake_clock: FakeClock
) -> None:
    act(m, "f", "start", fake_clock)
    act(m, "p2", "hand", fake_clock, raised=True)
    now = fake_clock.t
    own_keys = {"you", "groups", "avoiding"}
    for viewer, host in (("f", True), ("p1", False), ("p2", False), ("p3", False)):
        view = m.view(viewer, now)
        assert {k: v for k, v in view.items() if k not in own_keys} == m.shared_view(host, now)
        assert {k: view[k] for k in own_keys} == m.own_view(viewer, host, now)
        assert view["you"]["id"] == viewer
    assert "lobby_waiting" in m.shared_view(True, now)["meeting"]
    assert "lobby_waiting" not in m.shared_view(False, now)["meeting"]
    assert "notes" not in json.dumps(m.shared_view(False, now))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Ann\x00\x1b[31m  Lee\u200b ", "Ann[31m Lee"),
        ("Zoë 🙂", "Zoë 🙂"),
        ("x" * 40, "x" * 40),
        ("a\nb\tc", "a b c"),
    ],
)
def test_names_are_cleaned(m: Meeting, fake_clock: FakeClock, raw: str, clean: str) -> None:
    assert m.arrive("n1", raw, "participant", fake_clock.t).name == clean


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x07", "x" * 41, None, 7])
def test_bad_names(m: Meeting, fake_clock: FakeClock, raw: object) -> None:
    with pytest.raises(MeetingError) as info:
        m.arrive("n1", raw, "participant", fake_clock.t)
    assert info.value.code == "bad-name"
    assert "n1" not in m.people
    assert refused(m, "p1", "rename", fake_clock, name=raw) == "bad-name"


def test_round_trip_preserves_everything(m: Meeting, fake_clock: FakeClock) -> None:
    act(m, "f", "lobby-on", fake_clock)
    m.arrive("l1", "Lobbyist", "participant", fake_clock.t)
    in_icebreaker(m, fake_clock)
    act(m, "f", "pass", fake_clock)
    act(m, "p2", "hand", fake_clock, raised=True)
    act(m, "f", "mute", fake_clock, person="p3")
    act(m, "p1", "chat", fake_clock, text="hello")
    act(m, "f", "extend-call", fake_clock, seconds=120)
    act(m, "f", "pause", fake_clock)
    saved = json.dumps(m.to_dict())
    back = Meeting.from_dict(json.loads(saved))
    assert json.dumps(back.to_dict()) == saved
    back.restored()
    assert not any(p.online for p in back.people.values())
    assert back.present() == []
    assert back.people["p2"].hand is not None
    assert back.rotation is not None and back.rotation.current == "p1"
    # The restored meeting carries on exactly like the original.
    for meeting in (m, back):
        meeting.restored()
        for pid in ("f", "p1", "p2", "p3"):
            meeting.arrive(pid, pid, "participant", fake_clock.t + 100)
        meeting.act("f", "resume", {}, fake_clock.t + 101)
        meeting.act("f", "next-speaker", {}, fake_clock.t + 102)
    assert json.dumps(back.to_dict()) == json.dumps(m.to_dict())


def test_late_joiner_and_item_controls(m: Meeting, fake_clock: FakeClock) -> None:
    assert refused(m, "f", "next-item", fake_clock) == "not-running"
    in_icebreaker(m, fake_clock)
    assert m.rotation is not None
    m.arrive("p9", "Late", "participant", fake_clock.t)
    assert m.rotation.queue[-1] == "p9"
    act(m, "f", "reshuffle", fake_clock)
    assert m.rotation.current == "f"
    assert sorted(m.rotation.queue) == ["p1", "p2", "p3", "p9"]
    for bad in (29, 3601, "60", True, None):
        assert refused(m, "f", "extend-item", fake_clock, seconds=bad) == "bad-request"
    act(m, "f", "extend-item", fake_clock, seconds=30)
    assert m.clock.item_left(fake_clock.t) == 300 + 30 - 2
    assert refused(m, "f", "go-to-item", fake_clock, index=99) == "no-such-item"
    assert refused(m, "f", "go-to-item", fake_clock, index="1") == "bad-request"
    act(m, "f", "go-to-item", fake_clock, index=0)
    assert (m.clock.index, m.clock.speaker) == (0, None)
    assert m.view("p1", fake_clock.t)["icebreaker"] is None
    assert refused(m, "f", "previous-item", fake_clock) == "first-item"
    assert refused(m, "f", "next-speaker", fake_clock) == "no-icebreaker"
    act(m, "f", "go-to-item", fake_clock, index=len(m.agenda.items) - 1)
    assert refused(m, "f", "next-item", fake_clock) == "last-item"
