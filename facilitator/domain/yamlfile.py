"""Safe YAML reading with positions: every problem names file:line:column and the field.

Agenda and deck files are written by people, so the reader is strict and explains itself:
unknown keys, duplicate keys, tabs, aliases and wrong types each give one readable line.
Values are read from the YAML node tree as written (``1:30`` stays a string, not YAML 1.1's
sexagesimal 90), and aliases are refused before anything is built, so an alias bomb costs
nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from .durations import parse_duration

MAX_FILE_BYTES = 1_000_000
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F])
"""Direction marks, embeddings, overrides and isolates, removed from text people will read."""
MAX_DEPTH = 20
MAX_PROBLEMS = 20
"""Errors reported per file; the rest are counted in one last line."""

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a user-written file."""

    filename: str
    """The file as the user named it."""
    line: int
    """1-based line."""
    column: int
    """1-based column."""
    field: str
    """Where in the document, e.g. ``items[2].duration``; empty for the whole file."""
    message: str
    """What is wrong and, where it helps, what to write instead."""

    def __str__(self) -> str:
        where = f"{self.filename}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class FileError(Exception):
    """A file could not be accepted; ``problems`` holds one line per error."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _mark(mark: Any) -> tuple[int, int]:
    """1-based line and column of a YAML mark."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _node_position(node: Node) -> tuple[int, int]:
    return _mark(node.start_mark)


def parse_document(text: str, filename: str) -> MappingNode:
    """Parse YAML text into a mapping node, or raise FileError explaining why it cannot be."""

    def fail(line: int, column: int, message: str) -> FileError:
        return FileError([Problem(filename, line, column, "document", message)])

    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise fail(1, 1, "file is larger than 1 MB; agenda and deck files are small")
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent]:
            raise fail(
                number, line.index("\t") + 1, "tabs are not allowed for indentation; use spaces"
            )
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise fail(1, 1, "file is empty")
    # A first pass over the event stream refuses aliases and deep nesting before any node is
    # built: nothing can expand, and nothing can recurse past Python's limit.
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise fail(
                    *_mark(event.start_mark), "aliases (*name) are not allowed; write it out"
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise fail(*_mark(event.start_mark), "nested too deeply")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        reason = " ".join((exc.problem or exc.context or "not valid YAML").split())
        mark = _mark(exc.problem_mark or exc.context_mark)
        raise fail(*mark, f"not valid YAML: {reason}") from None
    except ReaderError as exc:
        # A character YAML refuses (NUL, most control characters): point at it, on one line.
        position = max(0, min(exc.position, len(text)))
        row = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        reason = str(exc).splitlines()[0]
        raise fail(row, column, f"not valid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise fail(1, 1, f"not valid YAML: {reason}") from None
    documents = [d for d in documents if d is not None]
    if not documents:
        raise fail(1, 1, "file is empty")
    if len(documents) > 1:
        raise fail(
            *_node_position(documents[1]), "only one YAML document per file (remove the extra ---)"
        )
    root = documents[0]
    if not isinstance(root, MappingNode):
        raise fail(*_node_position(root), "the top level must be a mapping of fields (key: value)")
    return root


class Reader:
    """Reads typed values out of YAML nodes, recording a Problem instead of raising."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.more = 0
        """Errors found after the first MAX_PROBLEMS (only counted)."""
        self.more_at: tuple[int, int] = (1, 1)

    @property
    def errors(self) -> int:
        """How many errors were found, recorded or only counted."""
        return len(self.problems) + self.more

    @property
    def full(self) -> bool:
        """True once MAX_PROBLEMS errors are recorded: further ones are only counted."""
        return len(self.problems) >= MAX_PROBLEMS

    def problem(self, node: Node | None, field: str, message: str) -> None:
        """Record an error at ``node`` (or the file start when there is none)."""
        line, column = _node_position(node) if node is not None else (1, 1)
        if self.full:
            if not self.more:
                self.more_at = (line, column)
            self.more += 1
            return
        self.problems.append(Problem(self.filename, line, column, field or "document", message))

    def warn(self, node: Node | None, field: str, message: str) -> None:
        """Record a warning: printed to the author, but the file is still accepted."""
        line, column = _node_position(node) if node is not None else (1, 1)
        self.warnings.append(Problem(self.filename, line, column, field or "document", message))

    def fields(
        self, node: Node, field: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Node] | None:
        """Check a mapping's keys (no unknown, no duplicate, required present) and return them."""
        if not isinstance(node, MappingNode):
            self.problem(node, field, "must be a mapping of fields (key: value)")
            return None
        found: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) and key_node.value else None
            where = f"{field}.{key}" if field and key else (key or field)
            if key is None:
                self.problem(key_node, field, "keys must be plain words")
            elif key in found:
                self.problem(key_node, where, "duplicate key (it is already set above)")
            elif key not in allowed and self.full:
                self.problem(key_node, where, "unknown field")
            elif key not in allowed:
                hint = _closest(key, allowed)
                extra = f"; did you mean {hint!r}?" if hint else ""
                known = ", ".join(allowed)
                self.problem(key_node, where, f"unknown field{extra} (known fields: {known})")
            else:
                found[key] = value_node
        for key in required:
            if key not in found:
                self.problem(node, field or key, f"missing required field {key!r}")
        return found

    def scalar(self, node: Node, field: str) -> str | None:
        """Return a scalar's text as written, or record that it must be a single value."""
        if not isinstance(node, ScalarNode):
            self.problem(node, field, "must be a single value, not a list or mapping")
            return None
        if node.tag == "tag:yaml.org,2002:null":
            self.problem(node, field, "must not be empty")
            return None
        return str(node.value)

    def text(self, node: Node, field: str, max_length: int, multiline: bool = False) -> str | None:
        """Read a non-empty string of at most ``max_length`` characters."""
        value = self.scalar(node, field)
        if value is None:
            return None
        # Bidirectional overrides could make text read differently from what it says.
        value = value.translate(BIDI_CONTROLS).strip()
        if not value:
            self.problem(node, field, "must not be empty")
            return None
        if len(value) > max_length:
            self.problem(node, field, f"is {len(value)} characters; at most {max_length}")
            return None
        if not multiline and "\n" in value:
            self.problem(node, field, "must fit on one line")
            return None
        return value

    def duration(self, node: Node, field: str) -> int | None:
        """Read a duration (90s, 5m, 1h30m, 1:30) as seconds."""
        return self._convert(node, field, parse_duration)

    def integer(self, node: Node, field: str, low: int, high: int) -> int | None:
        """Read a whole number between ``low`` and ``high``."""

        def convert(value: str) -> int:
            # ASCII digits only (int() refuses "²"), and short enough for int() to accept.
            digits = value.isascii() and value.isdigit() and len(value) <= 9
            if not digits or not low <= int(value) <= high:
                raise ValueError(f'"{value}" must be a whole number from {low} to {high}')
            return int(value)

        return self._convert(node, field, convert)

    def boolean(self, node: Node, field: str) -> bool | None:
        """Read ``true`` or ``false``."""

        def convert(value: str) -> bool:
            if value.lower() in ("true", "yes", "on"):
                return True
            if value.lower() in ("false", "no", "off"):
                return False
            raise ValueError(f'"{value}" must be true or false')

        return self._convert(node, field, convert)

    def choice(self, node: Node, field: str, options: tuple[str, ...]) -> str | None:
        """Read one of a fixed set of words."""

        def convert(value: str) -> str:
            if value not in options:
                raise ValueError(f'"{value}" must be one of: {", ".join(options)}')
            return value

        return self._convert(node, field, convert)

    def items(self, node: Node, field: str, max_items: int) -> Iterator[tuple[str, Node]]:
        """Yield ``(field[i], node)`` for each element of a list."""
        if not isinstance(node, SequenceNode):
            self.problem(node, field, "must be a list (one '- ' line per entry)")
            return
        if not node.value:
            self.problem(node, field, "must not be an empty list")
            return
        if len(node.value) > max_items:
            self.problem(node, field, f"has {len(node.value)} entries; at most {max_items}")
            return
        for index, child in enumerate(node.value):
            yield f"{field}[{index}]", child

    def _convert(self, node: Node, field: str, convert: Callable[[str], T]) -> T | None:
        value = self.scalar(node, field)
        if value is None:
            return None
        try:
            return convert(value)
        except ValueError as exc:
            self.problem(node, field, str(exc))
            return None

    def raise_if_problems(self) -> None:
        """Raise FileError with every recorded problem, if there are any."""
        if self.problems:
            problems = sorted(self.problems, key=lambda p: (p.line, p.column))
            if self.more:
                message = f"and {self.more} more problems; fix the ones above first"
                problems.append(Problem(self.filename, *self.more_at, "document", message))
            raise FileError(problems)


def _closest(word: str, options: tuple[str, ...]) -> str | None:
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return matches[0] if matches else None
