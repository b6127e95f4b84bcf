"""Media tests run only inside a private network namespace that has nothing but loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from facilitator.bench.samples import SampleMedia, make_samples
from facilitator.media.aiortc_seams import restrict_host_addresses

from ..integration.harness import SHARED_FLAGS, ServerProcess, SharedMeeting, running_server

MEDIA_FLAGS = ["--ice-address", "127.0.0.1", "--stats"]


def loopback_only() -> bool:
    """True when this process sees no network interface but ``lo``."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


@pytest.fixture(autouse=True)
def isolated_network() -> Iterator[None]:
    """Refuse to run WebRTC where it could reach this machine's other addresses."""
    if not loopback_only():
        pytest.skip("needs a private network namespace: run `make test` (unshare -n)")
    restrict_host_addresses(["127.0.0.1"])
    yield
    restrict_host_addresses(None)


@pytest.fixture(scope="session")
def samples() -> SampleMedia:
    """Small pre-encoded VP8 and Opus, made once per run."""
    return make_samples(width=320, height=240, frames=30, kbps=300)


@pytest.fixture(scope="session")
def shared_media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the media tests that need no server of their own (127.0.0.1 only)."""
    if not loopback_only():
        pytest.skip("needs a private network namespace: run `make test` (unshare -n)")
    folder = tmp_path_factory.mktemp("shared-media-server")
    yield from running_server(folder, agenda="", extra=[*MEDIA_FLAGS, *SHARED_FLAGS])


@pytest.fixture
def media_server(shared_media_server: ServerProcess) -> SharedMeeting:
    """A fresh network-night meeting on the shared media server."""
    return SharedMeeting.create(shared_media_server)


@pytest.fixture
def own_media_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A media server of this test's own (for tests that count its tasks and descriptors)."""
    yield from running_server(tmp_path, extra=MEDIA_FLAGS)
