"""Reading agenda and deck files from disk into domain objects, with friendly errors."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from .domain.agenda import Agenda, parse_agenda
from .domain.decks import Deck, parse_deck
from .domain.yamlfile import MAX_FILE_BYTES, FileError, Problem


def read_text(path: Path) -> str:
    """Read a user-written file as UTF-8, refusing huge or undecodable files with a FileError."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileError(
                [
                    Problem(
                        name,
                        1,
                        1,
                        "document",
                        "file is larger than 1 MB; agenda and deck files are small",
                    )
                ]
            )
        data = path.read_bytes()
    except OSError as exc:
        raise FileError(
            [Problem(name, 1, 1, "document", f"cannot read file: {exc.strerror or exc}")]
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError([Problem(name, line, 1, "document", "file is not UTF-8 text")]) from None


def load_deck(path: Path) -> tuple[Deck, list[str]]:
    """Load one deck file; its id is the file name without ``.yaml``."""
    return parse_deck(read_text(path), str(path), path.stem)


def load_agenda(path: Path, decks: dict[str, Deck]) -> tuple[Agenda, list[str]]:
    """Load one agenda file, checking its icebreaker items against ``decks``."""
    return parse_agenda(read_text(path), str(path), decks)


def yaml_files(directory: Path) -> list[Path]:
    """The ``*.yaml`` and ``*.yml`` files of a folder, sorted; none if it does not exist."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def sample_folder(kind: str) -> Path:
    """The ``agendas`` or ``icebreakers`` samples that ship inside the package."""
    # Installed packages are plain folders (wheels are unpacked), so this is a real path.
    return Path(str(files(f"facilitator.samples.{kind}")))


def default_folder(kind: str) -> Path:
    """``./agendas`` (or ``./icebreakers``) when the current folder has one, else the samples."""
    local = Path(kind)
    return local if local.is_dir() else sample_folder(kind)


@dataclass
class Library:
    """Every deck and agenda found on disk, plus what was wrong with the rest."""

    decks: dict[str, Deck] = field(default_factory=dict)
    """Valid decks by id."""
    agendas: dict[str, Agenda] = field(default_factory=dict)
    """Valid agendas by name (file name without ``.yaml``)."""
    errors: list[str] = field(default_factory=list)
    """One line per problem in a file that was left out."""
    warnings: list[str] = field(default_factory=list)
    """Warnings about files that were loaded anyway."""


def load_library(agendas_dir: Path, decks_dir: Path) -> Library:
    """Load every deck, then every agenda (which may use those decks)."""
    library = Library()
    for path in yaml_files(decks_dir):
        try:
            deck, warnings = load_deck(path)
        except FileError as exc:
            library.errors.extend(str(p) for p in exc.problems)
            continue
        if deck.id in library.decks:
            library.errors.append(
                f"{path}:1:1: document: another file already defines deck {deck.id!r}"
            )
            continue
        library.decks[deck.id] = deck
        library.warnings.extend(warnings)
    for path in yaml_files(agendas_dir):
        try:
            agenda, warnings = load_agenda(path, library.decks)
        except FileError as exc:
            library.errors.extend(str(p) for p in exc.problems)
            continue
        if path.stem in library.agendas:
            library.errors.append(
                f"{path}:1:1: document: another file already defines agenda {path.stem!r}"
            )
            continue
        library.agendas[path.stem] = agenda
        library.warnings.extend(warnings)
    return library


def _signature(*directories: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, modification time and size of every YAML file: changes when any file does."""
    rows = []
    for directory in directories:
        for path in yaml_files(directory):
            try:
                info = path.stat()
            except OSError:
                continue
            rows.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(rows)


class LibraryCache:
    """The library, reloaded only when a file changed (looked at no more than once a second).

    Loading every file costs tens of milliseconds; pages and the API ask on every request.
    ``version`` goes up on each reload, so callers can cache what they derive from it.
    """

    def __init__(
        self,
        agendas_dir: Path,
        decks_dir: Path,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 1.0,
    ) -> None:
        self.agendas_dir = agendas_dir
        self.decks_dir = decks_dir
        self.clock = clock
        self.interval = interval
        self.version = 0
        self.checked = -math.inf
        self.signature: tuple[tuple[str, int, int], ...] | None = None
        self.library = Library()

    def get(self) -> Library:
        """The current library."""
        now = self.clock()
        if now - self.checked < self.interval:
            return self.library
        self.checked = now
        signature = _signature(self.decks_dir, self.agendas_dir)
        if signature != self.signature:
            self.library = load_library(self.agendas_dir, self.decks_dir)
            self.signature = signature
            self.version += 1
        return self.library


def check_agenda_text(
    text: str, filename: str, decks: dict[str, Deck]
) -> tuple[Agenda | None, list[str], list[str]]:
    """Parse agenda YAML into (agenda or None, warnings, errors); plain values, for a worker."""
    try:
        agenda, warnings = parse_agenda(text, filename, decks)
    except FileError as exc:
        return None, [], [str(p) for p in exc.problems]
    return agenda, warnings, []
