"""A WebSocket protocol client (``docs/protocol.md``): the browser's side, without a browser.

Tests, synthetic participants (``bench.bot``) and the load test all talk to the server through
this one class: its own cookies, the meeting page (which sets the session), the WebSocket with
the page's Origin, join, requests with ids, and waiting for a type of message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ..server.protocol import Close

Message = dict[str, Any]
Where = Callable[[Message], bool]
Handler = Callable[[Message], Awaitable[None]]


class ProtocolClient:
    """One browser stand-in: its own cookies, one WebSocket, every message it receives.

    With ``keep_states=False`` room states are not kept (a long-lived synthetic participant
    receives a great many of them); ``latest_state`` always holds the newest one. Messages of a
    type in ``handlers`` go to that handler (in order, on the reading task) instead of the list.
    With ``local_address`` its connections come from that address.
    """

    def __init__(
        self,
        link: str,
        name: str,
        *,
        keep_states: bool = True,
        handlers: Mapping[str, Handler] | None = None,
        local_address: str | None = None,
        heartbeat: float | None = None,
    ) -> None:
        self.link = link
        self.heartbeat = heartbeat
        """Ping the server this often and give the socket up when no pong comes (None: never)."""
        self.local_address = local_address
        """The address this client's connections come from (e.g. another loopback address)."""
        self.name = name
        self.keep_states = keep_states
        self.handlers = dict(handlers or {})
        parts = urlsplit(link)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.meeting_id = parts.path.rsplit("/", 1)[-1]
        self._http: aiohttp.ClientSession | None = None
        self.jar = aiohttp.CookieJar(unsafe=True)
        """The browser's cookies: kept when the HTTP session is made again (``reset``)."""
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.messages: list[Message] = []
        self.latest_state: dict[str, Any] | None = None
        self.you: dict[str, Any] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._next_id = 0
        self._arrived = asyncio.Event()

    @property
    def http(self) -> aiohttp.ClientSession:
        """This client's HTTP session (its cookie jar is the browser's)."""
        if self._http is None:
            local = (self.local_address, 0) if self.local_address else None
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=local, limit=0),
                cookie_jar=self.jar,
            )
        return self._http

    async def open_page(self) -> None:
        """Load the meeting page (this sets the session cookie)."""
        async with self.http.get(self.link) as response:
            assert response.status == 200, response.status
            await response.read()

    async def connect(self) -> None:
        """Open the WebSocket (no join yet), with the page's Origin as a browser sends it."""
        url = f"{self.origin}/m/{self.meeting_id}/ws"
        self.ws = await self.http.ws_connect(
            url, headers={"Origin": self.origin}, heartbeat=self.heartbeat
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def join(
        self, expect: str = "joined", timeout: float = 5.0, media: bool = False
    ) -> Message:
        """Load the page, connect and join; wait for ``expect`` (or an error). With ``media``,
        ask to keep the media connection from before a reconnect (``joined.media`` says)."""
        if self.ws is None or self.ws.closed:
            await self.open_page()
            await self.connect()
        want = (expect, "error")
        value = {"name": self.name, "media": True} if media else {"name": self.name}
        reply = await self.request("join", value, want=want, timeout=timeout)
        if reply["type"] == "joined":
            self.you = reply["value"]["you"]
            if self.keep_states:
                await self.wait_for("state", timeout=timeout)
        return reply

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await self.handle(json.loads(msg.data))
                self._arrived.set()
        if ws.close_code == Close.ROLE_CHANGED and ws is self.ws:
            await self._rejoin()

    async def _rejoin(self) -> None:
        """This person's role changed and the server closed the socket so that its token can
        be replaced: connect again (the handshake brings the new cookie) and join with the
        same name, as the page does."""
        url = f"{self.origin}/m/{self.meeting_id}/ws"
        try:
            self.ws = await self.http.ws_connect(
                url, headers={"Origin": self.origin}, heartbeat=self.heartbeat
            )
        except aiohttp.ClientError:
            return  # gone for good: callers see the closed socket
        self._reader = asyncio.get_running_loop().create_task(self._read())
        self._next_id += 1
        await self.send("join", {"name": self.name}, self._next_id)

    async def handle(self, message: Message) -> None:
        """Keep one received message, or give it to its handler."""
        handler = self.handlers.get(message["type"])
        if handler is not None:
            await handler(message)
            return
        if message["type"] == "joined":
            self.you = message["value"]["you"]
        if message["type"] == "state":
            self.latest_state = message["value"]
            if not self.keep_states:
                return
        self.messages.append(message)

    async def send(self, kind: str, value: Any = None, msg_id: Any = None) -> None:
        """Send one raw message (``value`` and ``id`` only when given)."""
        assert self.ws is not None
        data: Message = {"type": kind}
        if value is not None:
            data["value"] = value
        if msg_id is not None:
            data["id"] = msg_id
        await self.ws.send_str(json.dumps(data))

    async def request(
        self,
        kind: str,
        value: Any = None,
        want: tuple[str, ...] = ("ok", "error"),
        timeout: float = 5.0,
    ) -> Message:
        """Send a message with a fresh id and wait for the reply carrying it."""
        self._next_id += 1
        msg_id = self._next_id
        await self.send(kind, value, msg_id)
        return await self.wait_for(
            *want, where=lambda m: m.get("id") in (msg_id, None), timeout=timeout
        )

    async def action(self, name: str, **args: Any) -> Message:
        """Ask for an action; return the ``ok`` or ``error`` reply."""
        self._next_id += 1
        msg_id = self._next_id
        await self.send("action", {"action": name, **args}, msg_id)
        return await self.wait_for("ok", "error", where=lambda m: m.get("id") == msg_id)

    async def ping(self, t: float | None = None) -> Message:
        """Ping the server; return its ``pong`` (which carries the server's time)."""
        return await self.request("ping", {"t": time.time() if t is None else t}, want=("pong",))

    async def wait_for(
        self, *kinds: str, where: Where | None = None, timeout: float = 5.0, after: int = 0
    ) -> Message:
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
        if self.latest_state is None:
            raise AssertionError(f"{self.name} has no state yet")
        return dict(self.latest_state)

    async def fresh_state(self, where: Where | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for a state (the latest one or a later one) that satisfies ``where``."""
        start = len(self.messages)
        message = await self.wait_for(
            "state",
            where=lambda m: where is None or where(m["value"]),
            timeout=timeout,
            after=max(0, start - 1),
        )
        return dict(message["value"])

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Wait until the server has closed the WebSocket (the reader has stopped)."""
        if self._reader is not None:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)

    async def wait_disconnected(self) -> None:
        """Wait until the WebSocket has closed, whoever closed it (the reader has stopped)."""
        if self._reader is not None:
            await asyncio.gather(asyncio.shield(self._reader), return_exceptions=True)

    async def disconnect(self) -> None:
        """Close the WebSocket as a closed tab would."""
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def reset(self, timeout: float = 1.0) -> None:
        """Drop the WebSocket and every pooled HTTP connection (after a network outage they may
        be dead without knowing it); the cookies stay, so the next ``join`` is the same person."""
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), timeout)
        if self._http is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._http.close(), timeout)
            self._http = None
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self.ws = None

    async def close(self) -> None:
        """Close everything."""
        await self.disconnect()
        if self._http is not None:
            await self._http.close()

    def person_id(self) -> str:
        """This client's person id, from ``joined``."""
        assert self.you is not None
        return str(self.you["id"])
