"""Shared test helpers: a fake clock (the domain takes explicit ``now`` times), PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .postgres import PostgresServer, postgres_server


class FakeClock:
    """Wall-clock time under the test's control: read ``.t``, move it with ``.advance``."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def advance(self, seconds: float) -> float:
        """Move time forward and return the new time."""
        self.t += seconds
        return self.t


@pytest.fixture
def fake_clock() -> FakeClock:
    """A fake wall clock starting at a realistic epoch time."""
    return FakeClock()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole run (skips when PostgreSQL is not installed)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh database of each engine (``--database``)."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'data' / 'facilitator.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()
