"""docs/protocol.md describes every message type and action the code knows."""

from __future__ import annotations

import re
from pathlib import Path

from facilitator.domain.meeting import EVERYONE, FACILITATORS
from facilitator.server.protocol import CLIENT_TYPES, SERVER_TYPES

DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text("utf-8")


def test_every_message_type_has_a_section_with_an_example() -> None:
    sections = dict(re.findall(r"^### `([a-z-]+)`\n(.*?)(?=^##)", DOC + "\n##", re.M | re.S))
    for kind in sorted(CLIENT_TYPES | SERVER_TYPES):
        assert kind in sections, f"docs/protocol.md has no section for {kind!r}"
        assert f'"type": "{kind}"' in sections[kind], f"the {kind!r} section has no example"


def test_every_action_is_documented() -> None:
    for action in sorted(EVERYONE) + sorted(FACILITATORS):
        assert re.search(rf"`{re.escape(action)}`", DOC), f"action {action!r} is not documented"


def test_documented_actions_exist() -> None:
    table = DOC.split("### `action`", 1)[1].split("### `ping`", 1)[0]
    first_cells = re.findall(r"^\| (`[^|]+?)\|", table, re.M)
    documented = {name for cell in first_cells for name in re.findall(r"`([a-z-]+)`", cell)}
    assert documented == set(EVERYONE) | set(FACILITATORS)
