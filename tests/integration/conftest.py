"""Fixtures: a real server process and WebSocket peers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from .harness import Peer, ServerProcess, running_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server with the network-night meeting, on a free port."""
    yield from running_server(tmp_path)


@pytest.fixture
async def peers() -> AsyncIterator[Callable[[str, str], Peer]]:
    """Make peers; all are closed at the end of the test."""
    made: list[Peer] = []

    def make(link: str, name: str) -> Peer:
        peer = Peer(link, name)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        await peer.close()
