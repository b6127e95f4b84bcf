"""What people may ask a meeting to do: one handler per action, in two tables by role.

``Meeting.act`` looks the action up in EVERYONE (anyone in the room) or FACILITATORS (checked
against the person's role first) and calls the handler, which validates its arguments. The
handlers see the meeting through ``MeetingApi``, so this module never imports ``meeting.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .meeting_api import MeetingApi
from .people import (
    EXTEND_CHOICES,
    FACILITATOR,
    IN_LOBBY,
    IN_ROOM,
    MAX_CHAT_HISTORY,
    MAX_NOTE,
    PARTICIPANT,
    REMOVED,
    MeetingError,
    Notice,
    Person,
    clean_name,
    clean_text,
)
from .rotation import DONE, PASSED, SKIPPED, Rotation
from .round_actions import ROUND_EVERYONE, ROUND_FACILITATORS, ROUND_PRIVATE

Handler = Callable[[MeetingApi, Person, Mapping[str, Any], float], list[Notice]]


# Actions anyone in the room may take.


def _chat(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    text = clean_text(args.get("text"))
    m.chat_seq += 1
    # In a round, chat stays in the sender's group (members and visitors only).
    group = m.breakouts.chat_group(who.id)
    message = {
        "seq": m.chat_seq,
        "t": now,
        "person": who.id,
        "name": who.name,
        "text": text,
        "group": group,
    }
    m.chat.append(message)
    del m.chat[:-MAX_CHAT_HISTORY]
    m.log.add(now, "chat", person=who.id)
    if group is None:
        return [Notice("chat", message)]
    return [Notice("chat", message, to=p) for p in m.breakouts.audience(group)]


def _hand(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    raised = args.get("raised")
    if not isinstance(raised, bool):
        raise MeetingError("bad-request", "Say whether the hand is raised (true or false).")
    if raised and who.hand is None:
        who.hand = now
    elif not raised:
        who.hand = None
    return []


def _pass(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    if not m.turns.can_pass(who.id):
        raise MeetingError("not-your-turn", "You can pass when it is your turn to speak.")
    m.turns.advance(PASSED, now)
    return []


def _opt_out(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    sit_out = args.get("sit_out")
    if not isinstance(sit_out, bool):
        raise MeetingError("bad-request", "Say whether to sit out icebreakers (true or false).")
    who.opted_out = sit_out
    if sit_out:
        m.turns.drop(who.id, now)
        m.breakouts.drop(who.id, now)
    else:
        m.turns.join(who, now)
        m.breakouts.join(who, now)
    return []


def _rename(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    who.name = clean_name(args.get("name"))
    return []


def _media_state(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    camera, mic = args.get("camera"), args.get("mic")
    if not isinstance(camera, bool) or not isinstance(mic, bool):
        raise MeetingError("bad-request", "Say whether camera and mic are on (true or false).")
    who.camera = camera
    who.mic = mic and not who.muted
    return []


def _note(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    about, text = args.get("about"), args.get("text")
    if not isinstance(about, str) or (about != "general" and about not in m.people):
        raise MeetingError("bad-request", "Notes are about someone in the meeting, or general.")
    if not isinstance(text, str) or len(text) > MAX_NOTE:
        raise MeetingError("bad-request", f"A note can be up to {MAX_NOTE} characters.")
    mine = m.notes.setdefault(who.id, {})
    if text.strip():
        mine[about] = text
    else:
        mine.pop(about, None)
    return []


def _delete_notes(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.delete_notes(who.id)
    return []


def _unmute_self(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    # Facilitator mutes are lifted by a facilitator only; asking happens by raising a hand.
    if who.muted:
        raise MeetingError(
            "muted-by-facilitator", "A facilitator muted you; raise your hand to ask."
        )
    return []


# Facilitator actions.


def _target(m: MeetingApi, args: Mapping[str, Any]) -> Person:
    person = m.people.get(str(args.get("person", "")))
    if person is None or person.state == REMOVED:
        raise MeetingError("no-such-person", "That person is not in this meeting.")
    return person


def _seconds(args: Mapping[str, Any]) -> int:
    seconds = args.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds not in EXTEND_CHOICES:
        raise MeetingError("bad-request", "Extend by 30 seconds to one hour.")
    return seconds


def _start(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.start(now)
    return []


def _pause(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.pause(now, m.log)
    m.breakouts.pause(now)
    return []


def _resume(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.resume(now, m.log)
    m.breakouts.resume(now)
    return []


def _next_item(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.go_to_item(m.clock.next_index(), now)
    return []


def _previous_item(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.go_to_item(m.clock.previous_index(), now)
    return []


def _go_to_item(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    index = args.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise MeetingError("bad-request", "Say which item (a number).")
    m.go_to_item(index, now)
    return []


def _extend_item(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.extend_item(_seconds(args), now, m.log)
    return []


def _extend_call(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.clock.extend_call(_seconds(args), now, m.log)
    return []


def _extend_speaker(
    m: MeetingApi, who: Person, args: Mapping[str, Any], now: float
) -> list[Notice]:
    seconds = args.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 5 <= seconds <= 600:
        raise MeetingError("bad-request", "Give the speaker 5 seconds to 10 minutes more.")
    if m.clock.speaker is None:
        raise MeetingError("no-speaker", "Nobody has the floor.")
    m.clock.extend_speaker(seconds)
    return []


def _rotation(m: MeetingApi) -> Rotation:
    rotation = m.turns.current
    if rotation is None:
        raise MeetingError("no-icebreaker", "There is no icebreaker in this item.")
    return rotation


def _end_turn(outcome: str) -> Handler:
    """Next speaker (the turn is done) or skip speaker (it is skipped)."""

    def handler(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
        if _rotation(m).current is None:
            raise MeetingError("no-speaker", "Everyone has had a turn.")
        m.turns.advance(outcome, now)
        return []

    return handler


def _previous_speaker(
    m: MeetingApi, who: Person, args: Mapping[str, Any], now: float
) -> list[Notice]:
    _rotation(m)
    m.turns.back(now)
    return []


def _reshuffle(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    _rotation(m)
    m.turns.reshuffle()
    return []


def _setter(attribute: str, value: bool) -> Handler:
    def handler(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
        setattr(m, attribute, value)
        return []

    return handler


def _lobby_off(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    # Turning the lobby off lets in whoever is waiting, as people expect.
    m.lobby = False
    return _admit_all(m, who, args, now)


def _end_meeting(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    return m.end(now)


def _mute(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    person.muted = True
    person.mic = False
    return [Notice("muted", {"person": person.id, "by": who.name}, to=person.id)]


def _unmute(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    person.muted = False
    return [Notice("unmuted", {"person": person.id, "by": who.name}, to=person.id)]


def _remove(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    if person.id == who.id:
        raise MeetingError("bad-request", "You cannot remove yourself; leave the call instead.")
    person.state = REMOVED
    person.online = False
    person.hand = None
    person.role = PARTICIPANT
    # Out of the line only once they are out of the room, so that the next round (lined up
    # from whoever is present) cannot include them.
    m.turns.drop(person.id, now)
    m.breakouts.drop(person.id, now)
    # The participant link is shared: with the lobby on, a removed person who comes back
    # in a fresh browser still has to be let in by a facilitator.
    m.lobby = True
    return [Notice("removed", {"person": person.id}, to=person.id)]


def _make_facilitator(
    m: MeetingApi, who: Person, args: Mapping[str, Any], now: float
) -> list[Notice]:
    person = _target(m, args)
    if person.state != IN_ROOM:
        raise MeetingError("bad-request", "Let them in from the lobby first.")
    person.role = FACILITATOR
    return []


def _step_down(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    others = [p for p in m.present() if p.role == FACILITATOR and p.id != who.id]
    if not others:
        raise MeetingError("last-facilitator", "Make someone else a facilitator first.")
    who.role = PARTICIPANT
    m.breakouts.stop_visit(who.id)
    return []


def _admit(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    if person.state != IN_LOBBY:
        raise MeetingError("bad-request", "That person is not waiting in the lobby.")
    person.state = IN_ROOM
    if person.online:
        # Someone who went away from the lobby joins the speaker line when they reconnect.
        m.turns.join(person, now)
        m.breakouts.join(person, now)
    return [Notice("admitted", {"person": person.id}, to=person.id)]


def _admit_all(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    notices = []
    for person in list(m.people.values()):
        if person.state == IN_LOBBY and person.online:
            notices += _admit(m, who, {"person": person.id}, now)
    return notices


EVERYONE: dict[str, Handler] = {
    "chat": _chat,
    "hand": _hand,
    "pass": _pass,
    "opt-out": _opt_out,
    "rename": _rename,
    "unmute-self": _unmute_self,
    "media-state": _media_state,
    "note": _note,
    "delete-notes": _delete_notes,
    **ROUND_EVERYONE,
}
FACILITATORS: dict[str, Handler] = {
    "start": _start,
    "pause": _pause,
    "resume": _resume,
    "next-item": _next_item,
    "previous-item": _previous_item,
    "go-to-item": _go_to_item,
    "extend-item": _extend_item,
    "extend-call": _extend_call,
    "extend-speaker": _extend_speaker,
    "next-speaker": _end_turn(DONE),
    "skip-speaker": _end_turn(SKIPPED),
    "previous-speaker": _previous_speaker,
    "reshuffle": _reshuffle,
    "lock": _setter("locked", True),
    "unlock": _setter("locked", False),
    "lobby-on": _setter("lobby", True),
    "lobby-off": _lobby_off,
    "end": _end_meeting,
    "mute": _mute,
    "unmute": _unmute,
    "remove": _remove,
    "make-facilitator": _make_facilitator,
    "step-down": _step_down,
    "admit": _admit,
    "admit-all": _admit_all,
    **ROUND_FACILITATORS,
}
AFTER_END = {"chat", "rename", "note", "delete-notes"}
"""Actions still allowed once the meeting has ended (people say goodbye)."""
PRIVATE = frozenset({"note", "delete-notes"}) | ROUND_PRIVATE
"""Actions that change nothing anyone else sees: nobody else needs the new state."""
