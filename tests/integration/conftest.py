"""Fixtures: real server processes, meetings on them, and WebSocket peers.

Starting a server takes about a second, so most tests share one and get a fresh meeting on it
(``server``); tests that kill, restart or start it with other flags have their own
(``own_server``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from .harness import SHARED_FLAGS, Peer, ServerProcess, SharedMeeting, running_server


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the whole run, with no meeting of its own."""
    folder = tmp_path_factory.mktemp("shared-server")
    yield from running_server(folder, agenda="", extra=SHARED_FLAGS)


@pytest.fixture
def server(shared_server: ServerProcess) -> SharedMeeting:
    """A fresh network-night meeting on the shared server."""
    return SharedMeeting.create(shared_server)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own with the network-night meeting, on a free port."""
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
