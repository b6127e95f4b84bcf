"""Display names: readable, visible, and unlike anyone else's or any role."""

from __future__ import annotations

import unicodedata
from typing import Literal

import pytest

from facilitator.domain.agenda import parse_agenda
from facilitator.domain.meeting import Meeting
from facilitator.domain.people import (
    MAX_MARKS,
    MAX_NAME,
    MeetingError,
    clean_name,
    skeleton,
    unique_name,
)


def refused(name: object) -> str:
    with pytest.raises(MeetingError) as info:
        clean_name(name)
    assert info.value.code == "bad-name"
    return str(info.value)


@pytest.mark.parametrize(
    "name",
    [
        "\u3164",  # Hangul filler
        "\u3164\u3164 \u3164",
        "\u2800",  # blank Braille pattern
        "\u115f\u1160",
        "\u0301" * 40,  # only combining marks
        "   ",
        "\u200b\u200d\u2060",  # only zero-width characters
        "\u202e\u202d",  # only bidi controls
        "",
    ],
)
def test_names_with_nothing_visible_are_refused(name: str) -> None:
    assert "name" in refused(name)


@pytest.mark.parametrize(
    "name",
    [
        "Ana (host)",
        "Ana (Host)",
        "Ben [facilitator]",
        "(HOST) Cy",
        "Dee (h\u043est)",
        "Ed ( host )",
    ],
)
def test_names_cannot_claim_a_role(name: str) -> None:
    assert "role" in refused(name)


def test_a_host_in_a_name_without_brackets_is_fine() -> None:
    assert clean_name("Hostess Ana") == "Hostess Ana"


def test_format_characters_and_bidi_controls_are_removed() -> None:
    assert clean_name("Ana\u200d") == "Ana"
    assert clean_name("\u200bAna\u200b") == "Ana"
    assert clean_name("\u202eAna\u202c") == "Ana"
    # Joiners inside emoji sequences stay, so the emoji is drawn as one.
    assert clean_name("\U0001f469\u200d\U0001f4bb Dev") == "\U0001f469\u200d\U0001f4bb Dev"


def test_names_are_nfkc_normalised() -> None:
    assert clean_name("\uff21\uff4e\uff41") == "Ana"  # full-width letters
    assert clean_name("e\u0301") == "\u00e9"


def test_combining_marks_are_limited_per_character() -> None:
    name = clean_name("Zalgo" + "\u0336" * 40)
    marks = [ch for ch in name if unicodedata.category(ch).startswith("M")]
    assert len(marks) == MAX_MARKS
    assert name.startswith("Zalgo")


def test_lone_surrogates_and_controls_never_stay() -> None:
    assert clean_name("An\ud800a") == "Ana"
    assert clean_name("Ann\nLee\t") == "Ann Lee"


def test_long_names_are_refused_before_any_work() -> None:
    assert str(MAX_NAME) in refused("x" * (MAX_NAME + 1))
    assert str(MAX_NAME) in refused("x" * 60_000)
    refused(None)
    refused(["Ana"])


@pytest.mark.parametrize(
    "look_alike",
    ["Ana", "ana", "ANA", "\u0410na", "An\u0430", "\u0391na", "Ana\u200d", "A\u0301na"],
)
def test_look_alikes_share_a_skeleton(look_alike: str) -> None:
    assert skeleton(clean_name(look_alike)) == skeleton("Ana")


def test_different_names_have_different_skeletons() -> None:
    assert skeleton("Ana") != skeleton("Ann")
    assert skeleton("Ben") != skeleton("Bea")


def test_a_look_alike_gets_a_number() -> None:
    assert unique_name("Ana", ["Ben"]) == "Ana"
    assert unique_name("\u0410na", ["Ana", "Ben"]) == "\u0410na (2)"
    assert unique_name("ANA", ["Ana", "Ana (2)"]) == "ANA (3)"
    long = "x" * MAX_NAME
    renamed = unique_name(long, [long])
    assert renamed.endswith(" (2)") and len(renamed) == MAX_NAME


def test_a_join_works_out_the_newcomers_skeleton_not_everyones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agenda, _ = parse_agenda("title: T\nitems:\n  - title: Talk\n    duration: 1h\n", "t.yaml", {})
    assert agenda is not None
    meeting = Meeting("m1", agenda, {}, created_at=0.0, max_people=100)
    for i in range(300):  # a crowd that came and went: all remembered
        meeting.arrive(f"p{i}", f"Crowd {i}", "participant", 1.0)
        meeting.depart(f"p{i}", 1.0)
    decompositions: list[str] = []
    normalize = unicodedata.normalize

    def counted(form: Literal["NFC", "NFD", "NFKC", "NFKD"], text: str) -> str:
        if form == "NFKD":
            decompositions.append(text)
        return normalize(form, text)

    monkeypatch.setattr(unicodedata, "normalize", counted)
    newcomer = meeting.arrive("new", "Crowd 7", "participant", 2.0)
    assert newcomer.name == "Crowd 7 (2)"  # still unlike everyone's
    assert len(decompositions) < 10  # not one per person remembered (300)
