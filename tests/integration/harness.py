"""A real facilitator server in a subprocess, and real WebSocket peers that talk to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    """``facilitator serve`` on 127.0.0.1 with its own data folder."""

    data: Path
    log_path: Path
    agenda: str = "agendas/network-night.yaml"
    extra: list[str] = field(default_factory=list)
    prefix: list[str] = field(default_factory=list)
    """A command the server runs under (e.g. ``nsenter`` into a mount namespace)."""
    proc: subprocess.Popen[bytes] | None = None
    base: str = ""
    participant: str = ""
    facilitator: str = ""
    port: int = 0

    def start(self, port: int = 0, timeout: float = 20.0) -> None:
        """Start the server and wait for its links."""
        args = [*self.prefix, sys.executable, "-m", "facilitator", "serve", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--data", str(self.data), *self.extra]
        if self.agenda:
            args += ["--agenda", self.agenda]
        out_path = self.log_path.with_suffix(".out")
        out_path.touch()
        start = out_path.stat().st_size
        env = dict(os.environ, PYTHONUNBUFFERED="1")
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


class Peer:
    """A browser stand-in: its own cookies, one WebSocket, every message it receives."""

    def __init__(self, link: str, name: str) -> None:
        self.link = link
        self.name = name
        parts = urlsplit(link)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.meeting_id = parts.path.rsplit("/", 1)[-1]
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.messages: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None
        self._next_id = 0
        self._arrived = asyncio.Event()
        self.you: dict[str, Any] | None = None

    async def open_page(self) -> None:
        """Load the meeting page (this sets the session cookie)."""
        async with self.http.get(self.link) as response:
            assert response.status == 200, response.status
            await response.read()

    async def connect(self) -> None:
        """Open the WebSocket (no join yet)."""
        url = f"{self.origin}/m/{self.meeting_id}/ws"
        self.ws = await self.http.ws_connect(url, headers={"Origin": self.origin})
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def join(self, expect: str = "joined") -> dict[str, Any]:
        """Load the page, connect and join; wait for ``expect`` (or an error)."""
        if self.ws is None or self.ws.closed:
            await self.open_page()
            await self.connect()
        reply = await self.request("join", {"name": self.name}, want=(expect, "error"))
        if reply["type"] == "joined":
            self.you = reply["value"]["you"]
            await self.wait_for("state")
        return reply

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(msg.data))
                self._arrived.set()

    async def send(self, kind: str, value: Any = None, msg_id: Any = None) -> None:
        """Send one raw message."""
        assert self.ws is not None
        data: dict[str, Any] = {"type": kind}
        if value is not None:
            data["value"] = value
        if msg_id is not None:
            data["id"] = msg_id
        await self.ws.send_str(json.dumps(data))

    async def request(
        self, kind: str, value: Any = None, want: tuple[str, ...] = ("ok", "error")
    ) -> dict[str, Any]:
        """Send a message with a fresh id and wait for the reply carrying it."""
        self._next_id += 1
        msg_id = self._next_id
        await self.send(kind, value, msg_id)
        return await self.wait_for(*want, where=lambda m: m.get("id") in (msg_id, None))

    async def action(self, name: str, **args: Any) -> dict[str, Any]:
        """Ask for an action; return the ``ok`` or ``error`` reply."""
        self._next_id += 1
        msg_id = self._next_id
        await self.send("action", {"action": name, **args}, msg_id)
        return await self.wait_for("ok", "error", where=lambda m: m.get("id") == msg_id)

    async def wait_for(
        self, *kinds: str, where: Any = None, timeout: float = 5.0, after: int = 0
    ) -> dict[str, Any]:
        """The first message of one of ``kinds`` (from index ``after``) matching ``where``."""
        deadline = time.monotonic() + timeout
        seen = after
        while True:
            for index in range(seen, len(self.messages)):
                message = self.messages[index]
                if message["type"] in kinds and (where is None or where(message)):
                    return message
            seen = len(self.messages)
            left = deadline - time.monotonic()
            if left <= 0:
                types = [m["type"] for m in self.messages[-10:]]
                raise TimeoutError(f"{self.name}: no {kinds} (last: {types})")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def settle(self, quiet: float = 0.3) -> None:
        """Wait until no message has arrived for ``quiet`` seconds."""
        while True:
            count = len(self.messages)
            await asyncio.sleep(quiet)
            if len(self.messages) == count:
                return

    def state(self) -> dict[str, Any]:
        """The latest room state received."""
        for message in reversed(self.messages):
            if message["type"] == "state":
                return dict(message["value"])
        raise AssertionError(f"{self.name} has no state yet")

    async def fresh_state(self, where: Any = None, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for a state (after now) that satisfies ``where``."""
        start = len(self.messages)
        message = await self.wait_for(
            "state",
            where=lambda m: where is None or where(m["value"]),
            timeout=timeout,
            after=max(0, start - 1),
        )
        return dict(message["value"])

    async def disconnect(self) -> None:
        """Close the WebSocket as a closed tab would."""
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def close(self) -> None:
        """Close everything."""
        await self.disconnect()
        await self.http.close()

    def person_id(self) -> str:
        """This peer's person id, from ``joined``."""
        assert self.you is not None
        return str(self.you["id"])


MakePeer = Callable[[str, str], Peer]
"""The ``peers`` fixture: make a peer from a link and a name."""


async def trio(server: ServerProcess, peers: MakePeer) -> tuple[Peer, Peer, Peer]:
    """A facilitator (Sam) and two participants (Ana, Ben), all joined."""
    sam = peers(server.facilitator, "Sam")
    ana = peers(server.participant, "Ana")
    ben = peers(server.participant, "Ben")
    for peer in (sam, ana, ben):
        assert (await peer.join())["type"] == "joined"
    return sam, ana, ben
