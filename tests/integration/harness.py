"""A real facilitator server in a subprocess, meetings on it, and WebSocket peers that join them.

Peers are ``facilitator.bench.client.ProtocolClient``s: the one protocol client that tests, bots
and the load test share.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from prometheus_client.parser import text_string_to_metric_families

from facilitator.bench.client import ProtocolClient

ROOT = Path(__file__).resolve().parents[2]

Peer = ProtocolClient
"""A browser stand-in (the shared protocol client)."""


@dataclass
class ServerProcess:
    """``facilitator serve`` on 127.0.0.1 with its own data folder."""

    data: Path
    log_path: Path
    agenda: str = "agendas/network-night.yaml"
    extra: list[str] = field(default_factory=list)
    prefix: list[str] = field(default_factory=list)
    """A command the server runs under (e.g. ``nsenter`` into a mount namespace, ``prlimit``)."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables for the server, over the test's own."""
    proc: subprocess.Popen[bytes] | None = None
    base: str = ""
    participant: str = ""
    facilitator: str = ""
    port: int = 0
    creates: int = 0
    """Meetings made with SharedMeeting.create (each from its own loopback address)."""
    start_timeout: float = 20.0
    """Seconds to wait for the links (workers take longer: several processes start)."""

    def start(self, port: int = 0, timeout: float | None = None) -> None:
        """Start the server and wait for its links."""
        timeout = self.start_timeout if timeout is None else timeout
        args = [*self.prefix, sys.executable, "-m", "facilitator", "serve", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--data", str(self.data), *self.extra]
        if "--workers" not in self.extra:  # one process unless the test is about workers
            args += ["--workers", "1"]
        if self.agenda:
            args += ["--agenda", self.agenda]
        out_path = self.log_path.with_suffix(".out")
        out_path.touch()
        start = out_path.stat().st_size
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        with self.log_path.open("ab") as log, out_path.open("ab") as out:
            self.proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=log, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = out_path.read_bytes()[start:].decode("utf-8", "replace")
            listening = re.search(r"Listening on (\S+)", text)
            links = re.search(r"Participant link: (\S+)\nFacilitator link: (\S+)", text)
            if listening and (links or not self.agenda):
                self.base = listening.group(1)
                self.port = urlsplit(self.base).port or 0
                if links and not self.participant:
                    self.participant, self.facilitator = links.group(1), links.group(2)
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{text}\n{self.log()}")
            time.sleep(0.05)
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        """SIGKILL: nothing gets flushed or said."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def terminate(self, timeout: float = 10.0) -> float:
        """SIGTERM; returns how long the process took to exit."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.monotonic() - started

    def restart(self) -> None:
        """Start again on the same port and data (after kill or terminate)."""
        self.start(port=self.port)

    def log(self) -> str:
        """Everything the server logged (stderr; the printed links go to stdout)."""
        return self.log_path.read_text("utf-8", "replace")

    @property
    def meeting_id(self) -> str:
        """The start-up meeting's id."""
        return urlsplit(self.participant).path.rsplit("/", 1)[-1]


SHARED_FLAGS = ["--meetings-per-hour", "100000"]
"""A shared server creates a meeting for every test, all from 127.0.0.1."""


def running_server(tmp: Path, **kwargs: Any) -> Iterator[ServerProcess]:
    """Fixture body: a started server, stopped afterwards."""
    server = ServerProcess(data=tmp / "data", log_path=tmp / "server.log", **kwargs)
    server.log_path.touch()
    server.start()
    try:
        yield server
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""Metric samples by (sample name, labels)."""


def scrape(base: str, token: str) -> Samples:
    """GET /metrics with the token, parsed by Prometheus's own parser."""
    request = Request(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (KeyError when it is missing)."""
    return samples[(name, frozenset(labels.items()))]


MakePeer = Callable[[str, str], Peer]
"""The ``peers`` fixture: make a peer from a link and a name."""


class HasMeeting(Protocol):
    """A server with one meeting to use: its own process, or a meeting on a shared one."""

    @property
    def participant(self) -> str: ...

    @property
    def facilitator(self) -> str: ...


@dataclass
class SharedMeeting:
    """A fresh network-night meeting of its own, on a server that other tests share.

    It offers what tests read from a ``ServerProcess`` (links, base, data, the log), with the log
    cut to what the server wrote since this meeting was made.
    """

    server: ServerProcess
    participant: str
    facilitator: str
    log_start: int

    @classmethod
    def create(cls, server: ServerProcess, agenda: str = "network-night") -> SharedMeeting:
        """Create the meeting through ``POST /api/meetings``, as the landing page does."""
        start = len(server.log())
        # Each meeting is created from a loopback address of its own: new meetings are limited
        # per address, and the tests sharing a server create more than one address may.
        server.creates += 1
        source = f"127.0.{1 + server.creates // 250}.{1 + server.creates % 250}"
        parts = urlsplit(server.base)
        host = parts.hostname or ""
        conn = HTTPConnection(host, parts.port, timeout=10, source_address=(source, 0))
        try:
            body = json.dumps({"agenda": agenda})
            conn.request("POST", "/api/meetings", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 201, (response.status, response.read())
            links = json.loads(response.read())
        finally:
            conn.close()
        return cls(server, links["participant_url"], links["facilitator_url"], start)

    @property
    def base(self) -> str:
        """The server's base URL."""
        return self.server.base

    @property
    def data(self) -> Path:
        """The server's data folder."""
        return self.server.data

    @property
    def meeting_id(self) -> str:
        """This meeting's id."""
        return urlsplit(self.participant).path.rsplit("/", 1)[-1]

    def log(self) -> str:
        """What the server logged since this meeting was made."""
        return self.server.log()[self.log_start :]


async def trio(server: HasMeeting, peers: MakePeer) -> tuple[Peer, Peer, Peer]:
    """A facilitator (Sam) and two participants (Ana, Ben), all joined."""
    sam = peers(server.facilitator, "Sam")
    ana = peers(server.participant, "Ana")
    ben = peers(server.participant, "Ben")
    for peer in (sam, ana, ben):
        assert (await peer.join())["type"] == "joined"
    return sam, ana, ben
