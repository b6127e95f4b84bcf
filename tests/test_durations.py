"""Durations as written in agenda files, and as countdowns show them."""

from __future__ import annotations

import pytest

from facilitator.domain.durations import (
    MAX_DURATION,
    format_clock,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1h0m5s", 3605),
        ("2m30s", 150),
        ("1:30", 90),
        ("0:45", 45),
        ("10:00", 600),
        ("  5m  ", 300),
        ("24h", MAX_DURATION),
    ],
)
def test_parse_accepts_the_documented_forms(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "5 minutes",
        "300",
        "",
        "   ",
        "1:75",
        "1:5",
        "m",
        "5M",
        "-5m",
        "1.5m",
        "30s5m",
        "1:30:00",
        "5m ago",
    ],
)
def test_parse_rejects_typos_with_the_hint(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration") as info:
        parse_duration(text)
    assert "use 90s, 5m, 1h30m or 1:30" in str(info.value)


@pytest.mark.parametrize("text", ["0s", "0m", "0:00", "0h0m0s"])
def test_parse_rejects_zero(text: str) -> None:
    with pytest.raises(ValueError, match="longer than zero"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["25h", "24h0m1s", "1441m", "1500:00"])
def test_parse_rejects_more_than_a_day(text: str) -> None:
    with pytest.raises(ValueError, match="longer than 24 hours"):
        parse_duration(text)


def test_parse_error_quotes_what_was_written() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("five")
    assert str(info.value).startswith('"five" ')


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (90, "1m30s"),
        (45 * 60, "45m"),
        (5400, "1h30m"),
        (3600, "1h"),
        (3605, "1h5s"),
        (30, "30s"),
        (0, "0s"),
        (-12, "0s"),
        (59.6, "1m"),
        (29.4, "29s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["90s", "5m", "1h30m", "2h5m7s", "0:45"])
def test_format_duration_parses_back(text: str) -> None:
    seconds = parse_duration(text)
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (300, "05:00"),
        (299.2, "05:00"),
        (299.0, "04:59"),
        (59.01, "01:00"),
        (0.4, "00:01"),
        (0.0, "00:00"),
        (3600, "1:00:00"),
        (3599.5, "1:00:00"),
        (3661, "1:01:01"),
        (36000, "10:00:00"),
        (-65, "+01:05 over"),
        (-65.9, "+01:05 over"),
        (-0.5, "+00:00 over"),
        (-1, "+00:01 over"),
        (-3725, "+1:02:05 over"),
    ],
)
def test_format_clock(seconds: float, text: str) -> None:
    assert format_clock(seconds) == text


def test_format_clock_counts_down_one_second_at_a_time() -> None:
    shown = [format_clock(3 - tenth / 10) for tenth in range(61)]
    # Each label appears in one unbroken run (never repeats later) and none is skipped.
    runs = [label for i, label in enumerate(shown) if i == 0 or shown[i - 1] != label]
    assert runs == [
        "00:03",
        "00:02",
        "00:01",
        "00:00",
        "+00:00 over",
        "+00:01 over",
        "+00:02 over",
        "+00:03 over",
    ]
    assert shown.count("00:03") == 10
