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
    MAX_NOTES_PER_AUTHOR,
    MAX_NOTES_TOTAL,
    PARTICIPANT,
    REACTION_BURST,
    REACTION_RATE,
    REACTIONS,
    REMOVED,
    MeetingError,
    Notice,
    Person,
    clean_name,
    clean_text,
)
from .rotation import DONE, PASSED, SAT_OUT, SKIPPED, Rotation
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
        m.turns.drop(who.id, now, SAT_OUT)
        m.breakouts.drop(who.id, now)
    else:
        m.turns.join(who, now)
        m.breakouts.join(who, now)
    return []


def _rename(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    who.name = m.name_for(who.id, clean_name(args.get("name")))
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
        _check_note_room(m, mine, about, text)
        mine[about] = text
    else:
        mine.pop(about, None)
    return []


def _check_note_room(m: MeetingApi, mine: dict[str, str], about: str, text: str) -> None:
    """Notes are bounded per author and per meeting, so a stranger cannot grow it forever."""
    if about not in mine and len(mine) >= MAX_NOTES_PER_AUTHOR:
        raise MeetingError("bad-request", f"You can keep notes on up to {MAX_NOTES_PER_AUTHOR}.")
    total = sum(len(t) for notes in m.notes.values() for t in notes.values())
    if total - len(mine.get(about, "")) + len(text) > MAX_NOTES_TOTAL:
        raise MeetingError("bad-request", "This meeting holds no more notes; shorten some.")


def _delete_notes(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.delete_notes(who.id)
    return []


def _stay_in_touch(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.contacts.choose(m.people, who.id, args.get("person"), args.get("want"))
    return []


def _contact_line(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    m.contacts.set_line(who.id, args.get("text"))
    return []


def _unmute_self(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    # Facilitator mutes are lifted by a facilitator only; asking happens by raising a hand.
    if who.muted:
        raise MeetingError(
            "muted-by-facilitator", "A facilitator muted you; raise your hand to ask."
        )
    return []


def _react(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    reaction = args.get("reaction")
    if reaction not in REACTIONS:
        raise MeetingError("bad-request", "Pick one of the reactions on offer.")
    # A token bucket per person: a few at once, then about one a second.
    tokens, at = m.reaction_budget.get(who.id, (float(REACTION_BURST), now))
    tokens = min(float(REACTION_BURST), tokens + max(0.0, now - at) * REACTION_RATE)
    if tokens < 1:
        raise MeetingError("rate-limited", "One reaction at a time, please.")
    m.reaction_budget[who.id] = (tokens - 1, now)
    return [Notice("reaction", {"person": who.id, "reaction": reaction, "t": now})]


def _share_start(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    sharer = m.people.get(m.sharer or "")
    if sharer is not None and sharer.id != who.id and sharer.online and sharer.state == IN_ROOM:
        raise MeetingError("already-sharing", f"{sharer.name} is sharing their screen right now.")
    m.sharer = who.id
    m.log.add(now, "share", person=who.id)
    return []


def _share_stop(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    if m.sharer == who.id:
        m.sharer = None
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


def _mute_all(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    notices = []
    for person in m.present():
        if person.id != who.id and not person.muted:
            notices += _mute(m, who, {"person": person.id}, now)
    return notices


def _lower_hand(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    _target(m, args).hand = None
    return []


def _lower_all_hands(
    m: MeetingApi, who: Person, args: Mapping[str, Any], now: float
) -> list[Notice]:
    for person in m.people.values():
        person.hand = None
    return []


def _stop_share(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    if m.sharer is not None and m.sharer == _target(m, args).id:
        m.sharer = None
    return []


def _not_the_creator(person: Person, what: str) -> None:
    if person.creator:
        raise MeetingError("not-allowed", f"Nobody can {what} the person who created the meeting.")


def _remove(m: MeetingApi, who: Person, args: Mapping[str, Any], now: float) -> list[Notice]:
    person = _target(m, args)
    if person.id == who.id:
        raise MeetingError("bad-request", "You cannot remove yourself; leave the call instead.")
    _not_the_creator(person, "remove")
    if m.sharer == person.id:
        m.sharer = None
    person.state = REMOVED
    person.online = False
    person.hand = None
    person.role = PARTICIPANT
    person.creator = False
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


def _make_participant(
    m: MeetingApi, who: Person, args: Mapping[str, Any], now: float
) -> list[Notice]:
    person = _target(m, args)
    if person.id == who.id:
        return _step_down(m, who, args, now)
    _not_the_creator(person, "demote")
    person.role = PARTICIPANT
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
    if person.online and m.count_in_room() >= m.max_people:
        raise MeetingError("room-full", f"This meeting is full ({m.max_people} people).")
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
            if m.count_in_room() >= m.max_people:
                break  # the rest wait: the room is full
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
    "react": _react,
    "share-start": _share_start,
    "share-stop": _share_stop,
    "stay-in-touch": _stay_in_touch,
    "contact-line": _contact_line,
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
    "make-participant": _make_participant,
    "mute-all": _mute_all,
    "lower-hand": _lower_hand,
    "lower-all-hands": _lower_all_hands,
    "stop-share": _stop_share,
    "step-down": _step_down,
    "admit": _admit,
    "admit-all": _admit_all,
    **ROUND_FACILITATORS,
}
AFTER_END = {"chat", "rename", "note", "delete-notes", "stay-in-touch", "contact-line"}
"""Actions still allowed once the meeting has ended (people say goodbye, and decide whom to
stay in touch with until the meeting expires)."""
PRIVATE = frozenset({"note", "delete-notes", "stay-in-touch", "contact-line"}) | ROUND_PRIVATE
"""Actions that change nothing anyone else sees: nobody else needs the new state."""
ROLE_ACTIONS = frozenset({"make-facilitator", "make-participant", "step-down"})
"""Actions that may change someone's role (the transport then replaces their token)."""
RELAY_ONLY = frozenset({"react"})
"""Actions whose notices are the whole effect: relayed to the room, with no new state."""
