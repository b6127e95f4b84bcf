"""Shared test helpers: a fake clock, since the domain takes explicit ``now`` times."""

from __future__ import annotations

import pytest


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
