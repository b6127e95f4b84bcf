"""Icebreaker decks: file validation, and the content rules every shipped deck must keep."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facilitator.domain.decks import Deck, parse_deck
from facilitator.domain.yamlfile import FileError
from facilitator.library import load_deck, yaml_files

REPO_ROOT = Path(__file__).resolve().parent.parent
DECK_DIR = REPO_ROOT / "icebreakers"
SENSITIVE_WORDS = """
    religion religious god church pray prayer politics political vote election party
    health sick illness disease hospital doctor medicine diet weight death die died
    money salary debt income rich poor price cost paid married single divorce dating
    boyfriend girlfriend husband wife partner sex sexual drunk alcohol beer wine drug
    drugs gun weapon kill
"""
SENSITIVE = SENSITIVE_WORDS.split()
SENSITIVE_RE = re.compile(r"\b(?:" + "|".join(SENSITIVE) + r")\b", re.IGNORECASE)
MIN_PROMPTS = {"name-game": 10, "funny-questions": 30, "dumb-mistakes": 30, "quick-history": 30}
GOOD = "title: Game\nhow_it_works: Take turns.\nprompts:\n  - One?\n  - Two?\n"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


def shipped_decks() -> list[Deck]:
    decks = []
    for path in yaml_files(DECK_DIR):
        deck, warnings = load_deck(path)
        assert warnings == [], warnings
        decks.append(deck)
    return decks


def deck_error(text: str, deck_id: str = "game") -> list[str]:
    with pytest.raises(FileError) as info:
        parse_deck(text, "deck.yaml", deck_id)
    lines = str(info.value).split("\n")
    assert len(lines) == len(info.value.problems)
    return lines


def test_the_four_decks_are_shipped(repo_root: Path) -> None:
    assert sorted(p.stem for p in yaml_files(repo_root / "icebreakers")) == sorted(MIN_PROMPTS)


def test_deck_ids_are_file_names() -> None:
    for path, deck in zip(yaml_files(DECK_DIR), shipped_decks(), strict=True):
        assert deck.id == path.stem
        assert path.suffix == ".yaml"


@pytest.mark.parametrize(("deck_id", "minimum"), sorted(MIN_PROMPTS.items()))
def test_decks_have_enough_prompts(deck_id: str, minimum: int) -> None:
    deck, _ = load_deck(DECK_DIR / f"{deck_id}.yaml")
    assert len(deck.prompts) >= minimum
    assert len(set(p.casefold() for p in deck.prompts)) == len(deck.prompts)


def test_sensitive_word_pattern_is_whole_word_and_case_insensitive() -> None:
    assert SENSITIVE_RE.search("Who would you VOTE for?")
    assert SENSITIVE_RE.search("a party.")
    assert not SENSITIVE_RE.search("a goddess of godly gods")
    assert not SENSITIVE_RE.search("the costume was priceless")
    assert not SENSITIVE_RE.search("studied singles")


def test_no_sensitive_words_in_shipped_decks() -> None:
    hits = []
    for deck in shipped_decks():
        texts = {"title": deck.title, "how_it_works": deck.how_it_works}
        texts.update({f"prompts[{i}]": p for i, p in enumerate(deck.prompts)})
        texts.update({f"tags[{i}]": t for i, t in enumerate(deck.tags)})
        for where, text in texts.items():
            hits += [f"{deck.id} {where}: {w}" for w in SENSITIVE_RE.findall(text)]
    assert hits == []


def test_no_sensitive_words_in_raw_deck_files() -> None:
    # Comments and anything the loader might drop are covered too.
    for path in yaml_files(DECK_DIR):
        assert SENSITIVE_RE.findall(path.read_text(encoding="utf-8")) == [], path.name


def test_parse_good_deck() -> None:
    text = (
        "title: Game\nhow_it_works: >-\n  Take\n  turns.\ntags: [a, b]\n"
        "prompts:\n  - '  One   more? '\n  - Two?\n"
    )
    deck, warnings = parse_deck(text, "deck.yaml", "game")
    assert warnings == []
    assert deck == Deck("game", "Game", "Take turns.", ("One more?", "Two?"), ("a", "b"))
    assert Deck.from_dict(deck.to_dict()) == deck


def test_missing_fields() -> None:
    assert deck_error("title: Game\n") == [
        "deck.yaml:1:1: how_it_works: missing required field 'how_it_works'",
        "deck.yaml:1:1: prompts: missing required field 'prompts'",
    ]


def test_unknown_field_suggests() -> None:
    (line,) = deck_error(GOOD + "tag: [x]\n")
    assert line.startswith("deck.yaml:6:1: tag: unknown field; did you mean 'tags'?")


def test_repeated_prompt_points_at_the_repeat() -> None:
    (line,) = deck_error(GOOD + "  - two?\n")
    assert line == "deck.yaml:6:5: prompts[2]: repeats prompts[1]"


def test_prompt_must_be_text() -> None:
    (line,) = deck_error(GOOD + "  - [a, b]\n")
    assert line == "deck.yaml:6:5: prompts[2]: must be a single value, not a list or mapping"


def test_overlong_prompt() -> None:
    (line,) = deck_error(GOOD + "  - " + "x" * 301 + "\n")
    assert line == "deck.yaml:6:5: prompts[2]: is 301 characters; at most 300"


def test_empty_prompt_list() -> None:
    (line,) = deck_error("title: Game\nhow_it_works: x\nprompts: []\n")
    assert line == "deck.yaml:3:10: prompts: must not be an empty list"


def test_bad_deck_id_names_the_document() -> None:
    (line,) = deck_error(GOOD, deck_id="My Deck")
    assert line == 'deck.yaml:1:1: document: "My Deck" is not a valid deck id (use a-z, 0-9 and -)'


def test_title_must_fit_on_one_line() -> None:
    (line,) = deck_error("title: |\n  a\n  b\nhow_it_works: x\nprompts: [a]\n")
    assert line == "deck.yaml:1:8: title: must fit on one line"


def test_load_deck_takes_id_from_file_name(tmp_path: Path) -> None:
    path = tmp_path / "my-game.yaml"
    path.write_text(GOOD, encoding="utf-8")
    deck, _ = load_deck(path)
    assert deck.id == "my-game"
    assert deck.prompts == ("One?", "Two?")
