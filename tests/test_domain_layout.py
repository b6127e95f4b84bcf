"""The domain's shape: no import cycles (TYPE_CHECKING imports count), no private reach-ins,
and every refusal that carries a code shares one base class."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from facilitator.domain.clock import ClockError
from facilitator.domain.people import MeetingError
from facilitator.domain.rotation import RotationError
from facilitator.errors import CodedError
from facilitator.media.sfu import MediaError
from facilitator.server.protocol import ProtocolError

DOMAIN = Path(__file__).resolve().parents[1] / "facilitator" / "domain"


def domain_imports() -> dict[str, set[str]]:
    """Each domain module and the domain modules it imports, anywhere in the file."""
    graph: dict[str, set[str]] = {}
    for path in sorted(DOMAIN.glob("*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    imported.add(node.module.split(".")[0])
                else:
                    imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "facilitator.domain."
            ):
                imported.add(str(node.module).split(".")[2])
        graph[path.stem] = imported
    return graph


def test_domain_modules_import_each_other_without_cycles() -> None:
    graph = domain_imports()
    assert "meeting" not in graph["actions"] and "actions" in graph["meeting"]
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in path, f"import cycle: {' -> '.join([*path, module])}"
        if module in done:
            return
        for other in sorted(graph.get(module, ())):
            visit(other, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_no_private_attribute_of_another_object_is_used() -> None:
    for path in sorted(DOMAIN.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                owner = node.value
                allowed = isinstance(owner, ast.Name) and owner.id in ("self", "cls", "meeting")
                # ``meeting`` is the instance a Meeting classmethod is building.
                assert allowed, f"{path.name}:{node.lineno} uses .{node.attr}"


@pytest.mark.parametrize(
    "error", [MeetingError, ClockError, RotationError, MediaError, ProtocolError]
)
def test_coded_errors_share_one_base(error: type[CodedError]) -> None:
    exc = error("some-code", "Something friendly.")
    assert isinstance(exc, CodedError)
    assert (exc.code, str(exc)) == ("some-code", "Something friendly.")
