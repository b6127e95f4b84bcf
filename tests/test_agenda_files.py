"""Agenda (and shared YAML) files: strict reading with one `file:line:col: field: message` line."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from facilitator.cli import format_timeline
from facilitator.domain.agenda import (
    DEFAULT_PER_SPEAKER,
    DEFAULT_WARN_AT,
    Agenda,
    Groups,
    Item,
    parse_agenda,
)
from facilitator.domain.decks import Deck
from facilitator.domain.yamlfile import MAX_FILE_BYTES, FileError
from facilitator.library import load_agenda, load_library

REPO_ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<field>[^ :]+): (?P<msg>.+)$")
DECKS = {"name-game": Deck("name-game", "Name game", "Say your name.", ("a", "b", "c"))}
GOOD = "title: Call\nitems:\n  - title: Hello\n    duration: 10m\n"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


def write(tmp_path: Path, text: str | bytes, name: str = "agenda.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def errors(tmp_path: Path, text: str | bytes) -> list[tuple[int, int, str, str]]:
    """Load the agenda file; return its problems as (line, col, field, message), checked."""
    path = write(tmp_path, text)
    with pytest.raises(FileError) as info:
        load_agenda(path, DECKS)
    result = []
    lines = str(info.value).split("\n")
    assert len(lines) == len(info.value.problems)
    for line in lines:
        match = LINE.match(line)
        assert match, f"not a file:line:col: field: message line: {line!r}"
        assert match["file"] == str(path)
        result.append((int(match["line"]), int(match["col"]), match["field"], match["msg"]))
    return result


def only_error(tmp_path: Path, text: str | bytes) -> tuple[int, int, str, str]:
    found = errors(tmp_path, text)
    assert len(found) == 1, found
    return found[0]


def test_good_agenda_defaults(tmp_path: Path) -> None:
    agenda, warnings = load_agenda(write(tmp_path, GOOD), DECKS)
    assert warnings == []
    assert agenda.title == "Call"
    assert agenda.warn_at == DEFAULT_WARN_AT == (300, 60)
    assert agenda.hard_stop is False
    assert agenda.time_limit == 600 == agenda.planned_total
    assert agenda.items == (Item("Hello", 600),)


def test_full_agenda_fields(tmp_path: Path) -> None:
    text = (
        "title: Night\n"
        "description: >-\n  Two   lines\n  of text\n"
        "time_limit: 30m\n"
        "warn_at: [1m, 10m, 1m]\n"
        "hard_stop: true\n"
        "items:\n"
        "  - title: Names\n    duration: 1:30\n    icebreaker: name-game\n"
        "    per_speaker: 5s\n    order: alphabetical\n    rounds: 2\n    notes: Be kind.\n"
        "  - title: Talk\n    duration: 0:45\n"
    )
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert warnings == []
    assert agenda.description == "Two lines of text"
    assert agenda.time_limit == 1800
    assert agenda.warn_at == (600, 60)
    assert agenda.hard_stop is True
    names, talk = agenda.items
    assert names == Item("Names", 90, "Be kind.", "name-game", 5, "alphabetical", 2)
    assert talk.duration == 45
    assert agenda.offsets() == [0, 90]
    assert Agenda.from_dict(agenda.to_dict()) == agenda


def test_clock_form_is_not_yaml_sexagesimal(tmp_path: Path) -> None:
    text = "title: x\ntime_limit: 1:30\nitems:\n  - title: a\n    duration: 1:30\n"
    agenda, _ = load_agenda(write(tmp_path, text), DECKS)
    assert agenda.items[0].duration == 90
    assert agenda.time_limit == 90


def test_bad_duration_points_at_the_value(tmp_path: Path) -> None:
    text = "title: x\nitems:\n  - title: a\n    duration: 5 minutes\n"
    line, col, field, message = only_error(tmp_path, text)
    assert (line, col, field) == (4, 15, "items[0].duration")
    assert '"5 minutes" is not a duration' in message


def test_bare_number_duration_is_refused(tmp_path: Path) -> None:
    text = "title: x\nitems:\n  - title: a\n    duration: 5m\n  - title: b\n    duration: 300\n"
    assert only_error(tmp_path, text)[:3] == (6, 15, "items[1].duration")


def test_unknown_keys_suggest_the_right_one(tmp_path: Path) -> None:
    text = "title: x\ntime_limt: 5m\nitems:\n  - title: a\n    duratoin: 5m\n"
    found = errors(tmp_path, text)
    assert found[0][:3] == (2, 1, "time_limt")
    assert "did you mean 'time_limit'?" in found[0][3]
    fields = [f[2] for f in found]
    assert "items[0].duratoin" in fields
    assert any("did you mean 'duration'?" in f[3] for f in found)
    assert ("items[0]", "missing required field 'duration'") in [(f[2], f[3]) for f in found]


def test_unknown_key_without_close_match_lists_known_fields(tmp_path: Path) -> None:
    _, _, field, message = only_error(tmp_path, GOOD + "zzz: 1\n")
    assert field == "zzz"
    assert "did you mean" not in message
    assert "known fields: title, description" in message


def test_unknown_deck(tmp_path: Path) -> None:
    text = "title: x\nitems:\n  - title: a\n    duration: 5m\n    icebreaker: nmae-game\n"
    line, col, field, message = only_error(tmp_path, text)
    assert (line, col, field) == (5, 17, "items[0].icebreaker")
    assert 'no deck named "nmae-game"' in message
    assert "name-game" in message


def test_icebreaker_options_need_an_icebreaker(tmp_path: Path) -> None:
    text = "title: x\nitems:\n  - title: a\n    duration: 5m\n    order: shuffle\n"
    assert only_error(tmp_path, text)[2:] == ("items[0].order", "only applies to icebreaker items")


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ("order: random", "items[0].order", "must be one of: join, shuffle, alphabetical"),
        ("rounds: 11", "items[0].rounds", "whole number from 1 to 10"),
        ("rounds: ²", "items[0].rounds", "whole number from 1 to 10"),
        ("rounds: " + "9" * 5000, "items[0].rounds", "whole number from 1 to 10"),
        ("per_speaker: soon", "items[0].per_speaker", "is not a duration"),
    ],
)
def test_bad_icebreaker_options(tmp_path: Path, extra: str, field: str, fragment: str) -> None:
    text = (
        "title: x\nitems:\n  - title: a\n    duration: 5m\n    icebreaker: name-game\n"
        f"    {extra}\n"
    )
    line, col, got_field, message = only_error(tmp_path, text)
    assert (line, got_field) == (6, field)
    assert col == len("    ") + extra.index(":") + 3
    assert fragment in message


@pytest.mark.parametrize(
    ("text", "line", "col", "fragment"),
    [
        ("", 1, 1, "file is empty"),
        ("   \n\n  \n", 1, 1, "file is empty"),
        ("# only\n  # comments\n\n", 1, 1, "file is empty"),
        ("- a\n- b\n", 1, 1, "top level must be a mapping"),
        ("just words\n", 1, 1, "top level must be a mapping"),
        ("title: x\n---\ntitle: y\n", 3, 1, "only one YAML document"),
        ("title: [x\nitems: 1\n", 2, 6, "not valid YAML"),
        ("title: x\nitems:\n\t- title: a\n", 3, 1, "tabs are not allowed"),
        ("title: a\x00b\n", 1, 9, "not valid YAML: unacceptable character #x0000"),
        ("a: " + "[" * 30 + "]" * 30 + "\n", 1, 23, "nested too deeply"),
    ],
)
def test_whole_file_problems(tmp_path: Path, text: str, line: int, col: int, fragment: str) -> None:
    got_line, got_col, field, message = only_error(tmp_path, text)
    assert (got_line, got_col, field) == (line, col, "document")
    assert fragment in message


def test_tab_column_is_the_tab(tmp_path: Path) -> None:
    text = "title: x\nitems:\n  - title: a\n  \t  duration: 5m\n"
    assert only_error(tmp_path, text)[:2] == (4, 3)


def test_duplicate_key_points_at_the_second(tmp_path: Path) -> None:
    text = "title: x\nitems:\n  - title: a\n    duration: 5m\n    duration: 6m\n"
    assert only_error(tmp_path, text)[:3] == (5, 5, "items[0].duration")
    assert "duplicate key" in only_error(tmp_path, text)[3]


def test_empty_and_complex_keys_are_refused(tmp_path: Path) -> None:
    text = GOOD + '"": 1\n? [a]\n: 2\n'
    found = errors(tmp_path, text)
    assert [(f[0], f[2], f[3]) for f in found] == [
        (5, "document", "keys must be plain words"),
        (6, "document", "keys must be plain words"),
    ]


def test_empty_values_and_lists(tmp_path: Path) -> None:
    found = errors(tmp_path, "title:\nwarn_at: []\nitems:\n")
    assert [(f[0], f[2]) for f in found] == [(1, "title"), (2, "warn_at"), (3, "items")]
    assert found[0][3] == "must not be empty"
    assert found[1][3] == "must not be an empty list"
    assert "must be a list" in found[2][3]


def test_problems_are_sorted_and_all_reported(tmp_path: Path) -> None:
    text = (
        "title: x\nitems:\n  - title: a\n    duration: nope\n"
        "  - title: b\n    duration: 0s\n  - oops\n"
    )
    found = errors(tmp_path, text)
    assert [(f[0], f[2]) for f in found] == [
        (4, "items[0].duration"),
        (6, "items[1].duration"),
        (7, "items[2]"),
    ]
    assert "longer than zero" in found[1][3]


def test_file_over_one_megabyte(tmp_path: Path) -> None:
    text = GOOD + "#" * (MAX_FILE_BYTES + 1) + "\n"
    assert only_error(tmp_path, text)[2:] == (
        "document",
        "file is larger than 1 MB; agenda and deck files are small",
    )


def test_alias_bomb_fails_fast(tmp_path: Path) -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        prev = chr(ord("a") + n - 1)
        here = chr(ord("a") + n)
        levels.append(f"{here}: &{here} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(levels) + "\n"
    started = time.perf_counter()
    line, col, field, message = only_error(tmp_path, text)
    assert time.perf_counter() - started < 1.0
    assert (line, col, field) == (2, 8, "document")
    assert "aliases (*name) are not allowed" in message


def test_very_deep_nesting_is_refused_without_recursion(tmp_path: Path) -> None:
    text = "a: " + "[" * 50_000 + "]" * 50_000 + "\n"
    assert "nested too deeply" in only_error(tmp_path, text)[3]


def test_non_utf8_bytes(tmp_path: Path) -> None:
    line, col, field, message = only_error(tmp_path, b"title: ok\nitems: caf\xe9\n")
    assert (line, col, field, message) == (2, 1, "document", "file is not UTF-8 text")


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    agenda, _ = load_agenda(write(tmp_path, b"\xef\xbb\xbf" + GOOD.encode()), DECKS)
    assert agenda.title == "Call"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileError) as info:
        load_agenda(tmp_path / "nope.yaml", DECKS)
    assert str(info.value).startswith(f"{tmp_path / 'nope.yaml'}:1:1: document: cannot read file")


def test_items_over_the_time_limit_warn(tmp_path: Path) -> None:
    text = (
        "title: x\ntime_limit: 10m\nitems:\n"
        "  - title: a\n    duration: 8m\n  - title: b\n    duration: 4m\n"
    )
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert agenda.time_limit == 600
    assert warnings == [
        f"{tmp_path / 'agenda.yaml'}:2:13: time_limit: items add up to 12m, "
        "more than the 10m limit; the call will run over"
    ]


def test_icebreaker_timing_warning(tmp_path: Path) -> None:
    text = (
        "title: x\nitems:\n  - title: a\n    duration: 5m\n    icebreaker: name-game\n"
        "    per_speaker: 30s\n    rounds: 2\n"
    )
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert agenda.items[0].rounds == 2
    assert len(warnings) == 1
    match = LINE.match(warnings[0])
    assert match is not None
    assert (match["line"], match["col"], match["field"]) == ("6", "18", "items[0].per_speaker")
    assert "30s each for 8 people needs 8m" in match["msg"]


def test_icebreaker_that_fits_does_not_warn(tmp_path: Path) -> None:
    text = "title: x\nitems:\n  - title: a\n    duration: 8m\n    icebreaker: name-game\n"
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert warnings == []
    assert agenda.items[0].per_speaker == DEFAULT_PER_SPEAKER


def test_written_warn_at_not_less_than_the_call_warns(tmp_path: Path) -> None:
    text = "title: x\nwarn_at: [30s, 10m]\nitems:\n  - title: a\n    duration: 5m\n"
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert agenda.warn_at == (600, 30)
    assert len(warnings) == 1
    assert ":2:16: warn_at[1]: 10m is not less than the whole call" in warnings[0]


def test_default_warn_at_drops_thresholds_longer_than_a_short_call(tmp_path: Path) -> None:
    text = "title: x\nitems:\n  - title: a\n    duration: 3m\n"
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert warnings == []
    assert agenda.warn_at == (60,)


def test_parse_agenda_directly_uses_the_given_name() -> None:
    with pytest.raises(FileError) as info:
        parse_agenda("title: x\n", "my file.yaml", {})
    assert str(info.value) == "my file.yaml:1:1: items: missing required field 'items'"


def test_sample_files_load_cleanly(repo_root: Path) -> None:
    library = load_library(repo_root / "agendas", repo_root / "icebreakers")
    assert library.errors == []
    assert library.warnings == []
    assert sorted(library.agendas) == sorted(p.stem for p in (repo_root / "agendas").glob("*.yaml"))
    assert sorted(library.decks) == sorted(
        p.stem for p in (repo_root / "icebreakers").glob("*.yaml")
    )
    for name, agenda in library.agendas.items():
        assert agenda.planned_total <= agenda.time_limit, name
        for item in agenda.items:
            assert item.icebreaker is None or item.icebreaker in library.decks


GROUPS_ITEM = "title: x\nitems:\n  - title: Meet in small groups\n    duration: 12m\n"


def test_groups_settings(tmp_path: Path) -> None:
    text = GROUPS_ITEM + (
        "    groups:\n      size: 3\n      rounds: 3\n      each: 4m\n    icebreaker: name-game\n"
    )
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert warnings == []
    (item,) = agenda.items
    assert item.groups == Groups(size=3, rounds=3, each=240)
    assert item.icebreaker == "name-game"
    assert Agenda.from_dict(agenda.to_dict()) == agenda
    # Items stored before groups existed still load.
    stored = agenda.to_dict()
    del stored["items"][0]["groups"]  # type: ignore[index]
    assert Agenda.from_dict(stored).items[0].groups is None


def test_groups_each_defaults_to_the_duration_split_evenly(tmp_path: Path) -> None:
    text = GROUPS_ITEM + "    groups:\n      size: 2\n      rounds: 4\n"
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert warnings == []
    assert agenda.items[0].groups == Groups(size=2, rounds=4, each=180)
    assert agenda.items[0].icebreaker is None


def test_groups_rounds_longer_than_the_item_warn(tmp_path: Path) -> None:
    text = (
        "title: x\nitems:\n  - title: a\n    duration: 10m\n"
        "    groups:\n      size: 3\n      rounds: 3\n      each: 4m\n"
    )
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert agenda.items[0].groups == Groups(3, 3, 240)
    assert len(warnings) == 1
    match = LINE.match(warnings[0])
    assert match, warnings[0]
    assert (match["line"], match["col"], match["field"]) == ("8", "13", "items[0].groups.each")
    assert match["msg"] == "3 rounds of 4m need 12m, more than the item's 10m"


def test_very_short_group_rounds_warn(tmp_path: Path) -> None:
    text = GROUPS_ITEM + "    groups:\n      size: 3\n      rounds: 10\n"
    agenda, warnings = load_agenda(write(tmp_path, text), DECKS)
    assert agenda.items[0].groups == Groups(3, 10, 72)
    assert len(warnings) == 1
    assert ":7:15: items[0].groups.rounds: rounds of 1m12s leave little time to talk" in warnings[0]


@pytest.mark.parametrize(
    ("groups", "line", "col", "field", "fragment"),
    [
        ("size: 7\n      rounds: 2", 6, 13, "items[0].groups.size", "from 2 to 6"),
        ("size: 1\n      rounds: 2", 6, 13, "items[0].groups.size", "from 2 to 6"),
        ("size: 3\n      rounds: 0", 7, 15, "items[0].groups.rounds", "from 1 to 10"),
        ("size: 3\n      rounds: 11", 7, 15, "items[0].groups.rounds", "from 1 to 10"),
        ("size: 3\n      rounds: 2\n      each: 4", 8, 13, "items[0].groups.each", "duration"),
        ("size: 3", 6, 7, "items[0].groups", "missing required field 'rounds'"),
        ("rounds: 2", 6, 7, "items[0].groups", "missing required field 'size'"),
        ("size: 3\n      rounds: 2\n      sise: 2", 8, 7, "items[0].groups.sise", "did you mean"),
    ],
)
def test_bad_groups_settings(
    tmp_path: Path, groups: str, line: int, col: int, field: str, fragment: str
) -> None:
    text = GROUPS_ITEM + "    groups:\n      " + groups + "\n"
    found = only_error(tmp_path, text)
    assert found[:3] == (line, col, field), found
    assert fragment in found[3]


def test_groups_must_be_a_mapping(tmp_path: Path) -> None:
    text = GROUPS_ITEM + "    groups: 3\n"
    assert only_error(tmp_path, text)[1:] == (
        13,
        "items[0].groups",
        "must be a mapping of fields (key: value)",
    )


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("per_speaker: 1m", "does not apply to an item with small groups"),
        ("order: shuffle", "does not apply to an item with small groups"),
        ("rounds: 2", "goes under groups: in an item with small groups"),
    ],
)
@pytest.mark.parametrize("deck", ["", "    icebreaker: name-game\n"])
def test_speaker_fields_do_not_mix_with_groups(
    tmp_path: Path, extra: str, fragment: str, deck: str
) -> None:
    text = GROUPS_ITEM + deck + "    groups:\n      size: 3\n      rounds: 3\n    " + extra + "\n"
    _, _, field, message = only_error(tmp_path, text)
    assert field == f"items[0].{extra.split(':')[0]}"
    assert fragment in message


def test_check_timeline_shows_the_rounds(tmp_path: Path) -> None:
    text = GROUPS_ITEM + "    groups:\n      size: 3\n      rounds: 3\n    icebreaker: name-game\n"
    text += "  - title: Pairs\n    duration: 2m\n    groups:\n      size: 2\n      rounds: 1\n"
    agenda, _ = load_agenda(write(tmp_path, text), DECKS)
    lines = format_timeline("a.yaml", agenda).splitlines()
    assert re.fullmatch(r"\s+0:00  Meet in small groups\s+12m  name-game", lines[2])
    assert lines[3] == "           3 rounds of 4m in groups of 3"
    assert re.fullmatch(r"\s+12:00  Pairs\s+2m", lines[4])
    assert lines[5] == "           1 round of 2m in groups of 2"
    assert lines[6] == "  total 14m of the 14m limit (fits)"


def test_sample_has_rounds_in_small_groups(repo_root: Path) -> None:
    library = load_library(repo_root / "agendas", repo_root / "icebreakers")
    groups = [i.groups for i in library.agendas["network-night"].items if i.groups]
    assert groups == [Groups(size=3, rounds=2, each=180)]
