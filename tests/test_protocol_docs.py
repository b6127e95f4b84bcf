"""docs/protocol.md describes every message type, action, close code and error code in the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from facilitator.domain.meeting import EVERYONE, FACILITATORS
from facilitator.server.protocol import CLIENT_TYPES, ERROR_CODES, SERVER_TYPES, Close

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text("utf-8")
CODED_ERRORS = {"MeetingError", "ClockError", "RotationError", "MediaError", "ProtocolError"}


def section(heading: str) -> str:
    """The text under a ``## heading`` up to the next one."""
    return DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def first_cells(text: str) -> list[str]:
    """The first cell of every table row in ``text`` (header and rule rows left out)."""
    rows = re.findall(r"^\| ([^|]+?) +\|", text, re.M)
    return [r for r in rows if not set(r) <= set("-") and r not in ("code", "action")]


def raised_codes() -> dict[str, str]:
    """Every error code the product raises or sends, with where: the first argument of a coded
    error or of ``protocol.error``, when it is a string literal."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "facilitator").rglob("*.py")):
        if "bench" in path.relative_to(ROOT).parts:
            continue  # the load test's own errors never reach a client
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            logged = isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "log"
            coded = name in CODED_ERRORS or (
                name == "error" and "server" in path.parts and not logged  # log.error is no code
            )
            if coded and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


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
    cells = re.findall(r"^\| (`[^|]+?)\|", table, re.M)
    documented = {name for cell in cells for name in re.findall(r"`([a-z-]+)`", cell)}
    assert documented == set(EVERYONE) | set(FACILITATORS)


def test_close_codes_are_the_documented_ones() -> None:
    documented = {int(c.strip("` ")) for c in first_cells(section("Close codes"))}
    assert documented == {int(c) for c in Close}


def test_error_codes_are_the_documented_ones() -> None:
    cells = first_cells(section("Error codes"))
    documented = {code for cell in cells for code in re.findall(r"`([a-z-]+)`", cell)}
    assert documented == set(ERROR_CODES)


def test_every_error_code_the_code_uses_is_listed() -> None:
    used = raised_codes()
    assert len(used) > 20, "the scan found too few error codes: did the error classes move?"
    unknown = {code: where for code, where in used.items() if code not in ERROR_CODES}
    assert not unknown, f"error codes missing from protocol.ERROR_CODES: {unknown}"
