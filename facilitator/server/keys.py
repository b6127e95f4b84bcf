"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from ..domain.retention import KEEP_DAYS
from ..media.sfu import Sfu
from ..store import Store
from .rooms import Rooms

HEARTBEAT_SECONDS = 8.0
"""The default WebSocket ping interval."""


def web_folder() -> Path:
    """The templates and static files shipped inside the package."""
    return Path(str(files("facilitator") / "web"))


@dataclass(frozen=True)
class Config:
    """How the server was started."""

    host: str = "127.0.0.1"
    """Address to listen on."""
    port: int = 8080
    """Port to listen on."""
    agendas_dir: Path = Path("agendas")
    """Agendas offered on the landing page."""
    decks_dir: Path = Path("icebreakers")
    """Icebreaker decks."""
    data_dir: Path = Path("data")
    """Where the SQLite database lives."""
    public_url: str | None = None
    """Base URL for links, when the server sits behind a proxy."""
    ice_addresses: tuple[str, ...] = ()
    """Host candidate addresses for media (empty: every interface but loopback)."""
    ice_servers: tuple[dict[str, Any], ...] = ()
    """STUN/TURN servers, as RTCIceServer dictionaries (``urls``, ``username``, ``credential``)."""
    stats: bool = False
    """Serve ``GET /api/stats`` (for the load test; off by default)."""
    transcode: bool = False
    """Benchmark baseline: decode and re-encode media instead of forwarding it."""
    tls_cert: Path | None = None
    """HTTPS certificate chain."""
    tls_key: Path | None = None
    """HTTPS private key."""
    heartbeat: float = HEARTBEAT_SECONDS
    """WebSocket ping interval (s); a peer that vanished is noticed within about 1.5 of these."""
    create_key: str | None = None
    """A secret hosts must give to create meetings (None: anyone may create)."""
    max_connections_per_address: int = 128
    """Open connections allowed from one client address (an IPv6 /64 counts as one)."""
    meetings_per_hour: int = 60
    """New meetings one client address may create in an hour."""
    keep_days: float = KEEP_DAYS
    """Days a meeting is kept after it ended; then it is deleted with everything in it."""
    metrics_token: str | None = None
    """Serve ``GET /metrics`` to requests bearing this token (None: no /metrics)."""
    drain_seconds: float = 10.0
    """After SIGTERM, stop within this long: refuse new work, say bye, save, exit."""
    worker: int | None = None
    """This process's index under ``--workers`` (None: the only process, no front)."""
    workers: int = 1
    """How many worker processes share the meetings."""
    database: str | None = None
    """``--database``: a SQLite path or ``sqlite:///path``, or ``postgresql://...`` (None:
    ``facilitator.sqlite3`` under ``data_dir``)."""
    node_url: str | None = None
    """``--node-url``: this node's own address when several share a database (then it runs
    only the meetings it holds a lease on)."""
    web_dir: Path = field(default_factory=lambda: web_folder())
    """Templates and static files."""

    def base_url(self) -> str:
        """The base URL links are built from."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            # Listening everywhere: print a link someone else can open.
            host = first_shareable(local_addresses()) or "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{host}:{self.port}"


def local_addresses() -> list[str]:
    """This machine's IP addresses, as its host name resolves (no traffic is sent)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def first_shareable(addresses: Iterable[str]) -> str | None:
    """The first address another machine could reach (not loopback, link-local or unspecified)."""
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            return str(address)
    return None


CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
ROOMS = web.AppKey("rooms", Rooms)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
SFU = web.AppKey("sfu", Sfu)
