"""The `facilitator check` command: timelines for good files, one line per problem otherwise."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from facilitator.cli import build_parser, main
from facilitator.server.run import worker_count

REPO_ROOT = Path(__file__).resolve().parent.parent
PROBLEM = re.compile(r"^\S.*:\d+:\d+: [^ :]+: .+$")


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


def test_check_samples(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "agendas", "icebreakers"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "agendas/network-night.yaml: Network night" in out
    assert "total 45m of the 45m limit (fits)" in out
    assert "total 30m of the 30m limit (fits)" in out
    assert "total 20m of the 20m limit (fits)" in out
    assert re.search(r"^\s+3:00  Name game\s+5m  name-game\s+30s$", out, re.M)
    assert re.search(r"^\s+0:00  Welcome and how it works\s+3m$", out, re.M)
    assert re.search(r"^\s+41:00  What did we learn about each other\?\s+4m$", out, re.M)
    assert 'icebreakers/name-game.yaml: deck "Name game" (name-game)' in out
    assert "Traceback" not in out


def test_check_one_agenda_uses_default_decks(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "agendas/quick-check-in.yaml"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "agendas/quick-check-in.yaml: Quick check-in"
    assert re.search(r"^\s+1:00  Funny question round\s+8m  funny-questions\s+45s$", out, re.M)


def test_bad_agenda(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nitems:\n  - title: a\n    duration: 5 minutes\n", encoding="utf-8")
    assert main(["check", str(bad), "--icebreakers", str(tmp_path / "none")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f'{bad}:4:15: items[0].duration: "5 minutes" is not a duration (use 90s, 5m, 1h30m or 1:30)'
    ]


def test_bad_files_do_not_stop_the_good_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-bad.yaml").write_bytes(b"title: caf\xe9\n")
    (tmp_path / "b-bomb.yaml").write_text("a: &a [1]\nb: *a\n", encoding="utf-8")
    (tmp_path / "c-good.yaml").write_text(
        "title: Good\ntime_limit: 10m\nitems:\n  - title: One\n    duration: 4m\n"
        "  - title: Two\n    duration: 1:30\n",
        encoding="utf-8",
    )
    assert main(["check", str(tmp_path), "--icebreakers", str(tmp_path / "none")]) == 1
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 2
    assert all(PROBLEM.match(line) for line in lines)
    assert lines[0] == f"{tmp_path / 'a-bad.yaml'}:1:1: document: file is not UTF-8 text"
    assert lines[1].startswith(f"{tmp_path / 'b-bomb.yaml'}:2:4: document: aliases")
    assert "Traceback" not in err
    assert re.search(r"^\s+4:00  Two\s+1m30s$", out, re.M)
    assert "total 5m30s of the 10m limit (fits)" in out


def test_over_limit_and_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(
        "title: Long\ntime_limit: 5m\nitems:\n  - title: One\n    duration: 6m\n", encoding="utf-8"
    )
    assert main(["check", str(path), "--icebreakers", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "total 6m of the 5m limit (runs 1m over)" in out
    assert err.startswith(f"warning: {path}:2:13: time_limit: items add up to 6m")


def test_deck_given_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = tmp_path / "my-deck.yaml"
    deck.write_text("title: Mine\nhow_it_works: Go.\nprompts: [a, b]\n", encoding="utf-8")
    agenda = tmp_path / "uses.yaml"
    agenda.write_text(
        "title: Uses\nitems:\n  - title: Ice\n    duration: 10m\n    icebreaker: my-deck\n",
        encoding="utf-8",
    )
    assert main(["check", str(deck), str(agenda), "--icebreakers", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out
    assert f'{deck}: deck "Mine" (my-deck), 2 prompts' in out
    assert re.search(r"^\s+0:00  Ice\s+10m  my-deck\s+1m$", out, re.M)


def test_unknown_deck_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agenda = tmp_path / "uses.yaml"
    agenda.write_text(
        "title: Uses\nitems:\n  - title: Ice\n    duration: 10m\n    icebreaker: nope\n",
        encoding="utf-8",
    )
    missing = tmp_path / "missing.yaml"
    assert main(["check", str(agenda), str(missing), "--icebreakers", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        err[0]
        == f'{agenda}:5:17: items[0].icebreaker: no deck named "nope" (known decks: none found)'
    )
    assert err[1].startswith(f"{missing}:1:1: document: cannot read file")


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert "usage: facilitator" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["check"], ["frobnicate"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "usage: facilitator" in capsys.readouterr().err


def test_two_files_with_the_same_name_are_reported(tmp_path: Path) -> None:
    from facilitator.library import load_library

    decks = tmp_path / "icebreakers"
    agendas = tmp_path / "agendas"
    decks.mkdir()
    agendas.mkdir()
    deck = 'title: T\nhow_it_works: "Say it."\nprompts: ["One?"]\n'
    (decks / "same.yaml").write_text(deck)
    (decks / "same.yml").write_text(deck)
    agenda = "title: A\nitems:\n  - title: Hi\n    duration: 5m\n"
    (agendas / "call.yaml").write_text(agenda)
    (agendas / "call.yml").write_text(agenda)
    library = load_library(agendas, decks)
    assert list(library.decks) == ["same"] and list(library.agendas) == ["call"]
    assert len(library.errors) == 2
    assert "another file already defines deck 'same'" in library.errors[0]
    assert "another file already defines agenda 'call'" in library.errors[1]


def test_serve_refuses_metrics_without_a_token_and_bad_worker_counts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACILITATOR_METRICS_TOKEN", raising=False)
    data = ["--data", str(tmp_path / "data")]
    assert main(["serve", "--metrics", *data]) == 1
    assert "--metrics needs --metrics-token" in capsys.readouterr().err
    assert main(["serve", "--workers", "many", *data]) == 1
    assert "--workers must be a number" in capsys.readouterr().err
    assert main(["serve", "--drain-seconds", "0", *data]) == 1
    assert "--drain-seconds must be more than 0" in capsys.readouterr().err
    assert worker_count("auto") == len(os.sched_getaffinity(0))
    assert worker_count("3") == 3
    assert worker_count("0") is None


def test_serve_uses_every_core_by_default() -> None:
    args = build_parser().parse_args(["serve"])
    assert worker_count(args.workers) == len(os.sched_getaffinity(0))
    assert build_parser().parse_args(["serve", "--workers", "1"]).workers == "1"
