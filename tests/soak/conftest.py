"""Soak tests run by `make soak` only (long; they need the loopback-only namespace)."""

from ..media.conftest import isolated_network, own_media_server, samples

__all__ = ["isolated_network", "own_media_server", "samples"]
