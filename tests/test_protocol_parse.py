"""Client messages are refused by shape before they are parsed: nesting and container counts."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator

import pytest

from facilitator.server import protocol


def refusal(text: str) -> tuple[str, str]:
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.parse(text)
    return info.value.code, str(info.value)


def ping(t: str) -> str:
    return '{"type": "ping", "id": 3, "value": {"t": ' + t + "}}"


def test_deep_or_container_heavy_messages_are_bad_messages() -> None:
    # Both parse as JSON (and were answered with a pong before): the shape refuses them.
    assert refusal(ping("[" * 40 + "]" * 40)) == (
        "bad-message",
        "That message is nested too deeply.",
    )
    assert refusal(ping("[" + "[]," * 300 + "1]")) == (
        "bad-message",
        "That message has too many parts.",
    )
    assert refusal("[" * 1000 + "]" * 1000)[0] == "bad-message"
    assert refusal("[" * 60_000)[0] == "bad-message"


def test_messages_of_the_protocol_and_brackets_in_text_are_fine() -> None:
    visible = {"type": "visible", "value": {"people": [f"p_{i}" for i in range(100)]}}
    assert protocol.parse(json.dumps(visible)).value == visible["value"]
    text = '[{"quoted \\" ]] \\\\' + "[{" * 3000
    chat = {"type": "action", "id": 1, "value": {"action": "chat", "text": text}}
    assert protocol.parse(json.dumps(chat)).value["text"] == text
    assert protocol.parse(ping("[" * 12 + "]" * 12)).type == "ping"
    # A quote with escapes and no end is malformed JSON, and found so quickly.
    assert refusal('"' + '\\"' * 30_000)[0] == "bad-json"


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """Counts the garbage collector's runs while the test runs (generation of each)."""
    runs: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            runs.append(info["generation"])

    gc.collect()
    gc.callbacks.append(seen)
    try:
        yield runs
    finally:
        gc.callbacks.remove(seen)


def test_refusing_nested_frames_builds_nothing_for_the_collector(collections: list[int]) -> None:
    # Parsing such a frame built ~1,000 lists first: each frame ran the collector at least
    # once, moving them up to the oldest generation and then sweeping the whole heap.
    assert gc.get_threshold()[0] < 1000
    frame = "[" * 1000 + "]" * 1000
    for _ in range(200):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse(frame)
    assert len(collections) <= 5
