"""Janus VideoRoom side by side: the same synthetic participants, measured through Janus.

``JanusServer`` starts ``/usr/bin/janus`` (the Debian package ``janus``; the benchmark never
installs it) with a generated minimal configuration in a temporary folder: the VideoRoom plugin
and the HTTP transport only, both on 127.0.0.1, ICE gathering only on ``lo``, no STUN.
``JanusBot`` is a light participant (``bench.light``) that publishes through the VideoRoom API
(session, handle, join as publisher, publish with an offer) and subscribes to every other
publisher on a second connection (Janus makes the subscriber offer).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

from . import procstat
from .light import (
    IdleTrack,
    LightReceiver,
    light_snapshot,
    light_tracks,
    measure,
    on_keyframe_request,
    send_track,
)
from .samples import SampleMedia

JANUS = Path("/usr/bin/janus")
JANUS_LIBS = Path("/usr/lib/x86_64-linux-gnu/janus")
ROOM = 1234
INSTALL_HINT = (
    "Janus is not installed. To compare with Janus, install the Debian package "
    "(sudo apt-get install janus) and run this again; the benchmark installs nothing itself."
)


def janus_installed() -> bool:
    """True when the Debian package's janus binary and its VideoRoom plugin are there."""
    return JANUS.exists() and (JANUS_LIBS / "plugins" / "libjanus_videoroom.so").exists()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


ALIAS = "facjanus0"
"""A second home for 127.0.0.1 (one end of a veth pair), only in a private network namespace."""
ALIAS_PEER = "facjanus1"


def _ip(*args: str) -> None:
    tool = shutil.which("ip") or "/usr/sbin/ip"
    subprocess.run([tool, *args], check=True, capture_output=True)


def private_network() -> bool:
    """True when this process sees no network interface but ``lo`` (and our own alias)."""
    return {name for _, name in socket.if_nameindex()} <= {"lo", ALIAS, ALIAS_PEER}


def add_loopback_alias() -> None:
    """Give 127.0.0.1 to an interface Janus will gather ICE candidates on.

    Janus skips loopback interfaces when it gathers, whatever its enforce list says. So, in a
    private network namespace (``make bench``'s ``unshare -n``) and nowhere else, 127.0.0.1 is
    added to one end of a veth pair whose two ends both stay in that namespace: Janus's
    candidates are 127.0.0.1 and nothing can leave the namespace.
    """
    names = {name for _, name in socket.if_nameindex()}
    if ALIAS in names:
        return
    if not private_network():
        raise RuntimeError(
            "the Janus comparison runs only in a private network namespace: "
            "use `make bench JANUS=1` (it runs the benchmark inside `unshare -n`)"
        )
    _ip("link", "add", ALIAS, "type", "veth", "peer", "name", ALIAS_PEER)
    _ip("addr", "add", "127.0.0.1/32", "dev", ALIAS)
    _ip("link", "set", ALIAS_PEER, "up")
    _ip("link", "set", ALIAS, "up")


def remove_loopback_alias() -> None:
    """Remove the veth pair ``add_loopback_alias`` made (both ends go together)."""
    if ALIAS in {name for _, name in socket.if_nameindex()}:
        _ip("link", "del", ALIAS)


def janus_config(folder: Path, port: int) -> Path:
    """Write a minimal Janus configuration into ``folder``; return the main file."""
    for kind, library in (("plugins", "libjanus_videoroom.so"), ("transports", "libjanus_http.so")):
        (folder / kind).mkdir()
        (folder / kind / library).symlink_to(JANUS_LIBS / kind / library)
    for kind in ("events", "loggers"):
        (folder / kind).mkdir()
    main = folder / "janus.jcfg"
    main.write_text(
        f"""general: {{
    configs_folder = "{folder}"
    plugins_folder = "{folder}/plugins"
    transports_folder = "{folder}/transports"
    events_folder = "{folder}/events"
    loggers_folder = "{folder}/loggers"
    debug_level = 3
    session_timeout = 0
}}
certificates: {{}}
media: {{
    ipv6 = false
}}
nat: {{
    nice_debug = false
    ice_enforce_list = "127.0.0.1"
    ignore_mdns = true
}}
plugins: {{}}
transports: {{}}
loggers: {{}}
events: {{}}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_http = false
    admin_https = false
}}
"""
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        f"""general: {{}}
room-{ROOM}: {{
    description = "Load test"
    publishers = 100
    bitrate = 2000000
    fir_freq = 0
    audiocodec = "opus"
    videocodec = "vp8"
    notify_joining = false
}}
"""
    )
    return main


class JanusServer:
    """Janus as the server under test: started, measured from /proc, stopped."""

    def __init__(self, affinity: set[int] | None = None) -> None:
        self.affinity = affinity
        self.proc: subprocess.Popen[bytes] | None = None
        self.tmp: tempfile.TemporaryDirectory[str] | None = None
        self.log: Path | None = None

    def start(self, timeout: float = 20.0) -> str:
        """Start Janus; return the base URL of its HTTP API."""
        self.tmp = tempfile.TemporaryDirectory(prefix="facilitator-janus-")
        folder = Path(self.tmp.name)
        port = free_port()
        main = janus_config(folder, port)
        self.log = folder / "janus.log"
        affinity = self.affinity

        def pin() -> None:
            if affinity:
                os.sched_setaffinity(0, affinity)

        args = [str(JANUS), "-C", str(main), "-F", str(folder), "-o", "-N", "-L", str(self.log)]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pin
        )
        url = f"http://127.0.0.1:{port}/janus"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.5),
            ):
                return url
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        self.stop()
        raise RuntimeError(f"Janus did not start: {tail}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of Janus (all its threads), from /proc."""
        return procstat.cpu_seconds(self.proc.pid) if self.proc is not None else None

    def rss_mb(self) -> float | None:
        """Resident memory of Janus, from /proc."""
        return procstat.rss_mb(self.proc.pid) if self.proc is not None else None

    def stop(self) -> None:
        """Stop Janus and remove its folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.tmp is not None:
            shutil.rmtree(self.tmp.name, ignore_errors=True)
            self.tmp = None


class JanusSession:
    """One Janus API session over HTTP: requests, and events from a long poll."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession()
        self.session_id: int | None = None
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.url}{path}", json=body) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise RuntimeError(f"Janus refused {body.get('janus')}: {reply.get('error')}")
        return reply

    async def create(self) -> None:
        """Create the session and start polling its events."""
        reply = await self._post("", {"janus": "create", "transaction": uuid.uuid4().hex})
        self.session_id = int(reply["data"]["id"])
        self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def attach(self) -> int:
        """Attach a VideoRoom handle; return its id."""
        body = {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        reply = await self._post(f"/{self.session_id}", {**body, "transaction": uuid.uuid4().hex})
        return int(reply["data"]["id"])

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a plugin message and wait for its event (its reply, when synchronous)."""
        transaction = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self.waiting[transaction] = future
        request: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            request["jsep"] = jsep
        try:
            reply = await self._post(f"/{self.session_id}/{handle}", request)
            if reply.get("janus") != "ack":
                return reply
            return await asyncio.wait_for(future, 20.0)
        finally:
            self.waiting.pop(transaction, None)

    async def _poll(self) -> None:
        while True:
            try:
                async with self.http.get(f"{self.url}/{self.session_id}?maxev=10") as response:
                    events = await response.json(content_type=None)
            except (aiohttp.ClientError, ValueError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                future = self.waiting.get(str(event.get("transaction")))
                if future is not None and not future.done() and event.get("janus") == "event":
                    data = event.get("plugindata", {}).get("data", {})
                    if "error" in data:
                        future.set_exception(RuntimeError(f"Janus: {data['error']}"))
                    else:
                        future.set_result(event)

    async def close(self) -> None:
        """Destroy the session and stop polling."""
        if self.session_id is not None:
            with contextlib.suppress(Exception):
                await self._post(
                    f"/{self.session_id}", {"janus": "destroy", "transaction": uuid.uuid4().hex}
                )
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await self.http.close()


def _connection() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


class JanusBot:
    """One participant in a Janus VideoRoom: publishes pre-built packets, subscribes to all."""

    def __init__(self, url: str, name: str, media: SampleMedia, *, stamp: bool = True) -> None:
        self.name = name
        self.api = JanusSession(url)
        self.audio, self.video = light_tracks(media, stamp)
        self.publisher: RTCPeerConnection | None = None
        self.subscriber: RTCPeerConnection | None = None
        self.receiver: LightReceiver | None = None
        self.person_id: str | None = None
        self.joined_at = 0.0
        self.tasks: list[asyncio.Task[None]] = []

    async def join(self) -> None:
        """Join the room as a publisher and publish audio and video."""
        await self.api.create()
        handle = await self.api.attach()
        joined = await self.api.message(
            handle, {"request": "join", "ptype": "publisher", "room": ROOM, "display": self.name}
        )
        self.person_id = str(joined["plugindata"]["data"]["id"])
        pc = self.publisher = _connection()
        senders = []
        for track in (self.audio, self.video):
            transceiver = pc.addTransceiver(IdleTrack(track.kind), direction="sendonly")
            on_keyframe_request(transceiver.sender, track.request_keyframe)
            senders.append((transceiver, track))
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False}
        reply = await self.api.message(
            handle, {"request": "publish", "audio": True, "video": True}, offer
        )
        await pc.setRemoteDescription(RTCSessionDescription(reply["jsep"]["sdp"], "answer"))
        loop = asyncio.get_running_loop()
        for transceiver, track in senders:
            self.tasks.append(loop.create_task(send_track(pc, transceiver, track)))
        deadline = time.monotonic() + 20
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
                raise ConnectionError(f"{self.name}: no media connection to Janus")
            await asyncio.sleep(0.05)

    async def subscribe(self, feeds: list[str]) -> None:
        """Subscribe to every other publisher (one connection; Janus offers)."""
        self.joined_at = time.monotonic()
        handle = await self.api.attach()
        others = [{"feed": int(feed)} for feed in feeds if feed != self.person_id]
        request = {"request": "join", "ptype": "subscriber", "room": ROOM, "streams": others}
        for attempt in range(50):
            try:
                attached = await self.api.message(handle, request)
                break
            except RuntimeError as error:
                # A publisher is a feed only once Janus has its media: try again shortly.
                if "No such feed" not in str(error) or attempt == 49:
                    raise
                await asyncio.sleep(0.2)
        owners: dict[str, tuple[str, str]] = {
            str(s["mid"]): (str(s["feed_id"]), str(s["type"]))
            for s in attached["plugindata"]["data"].get("streams", [])
            if s.get("type") in ("audio", "video") and "feed_id" in s
        }
        pc = self.subscriber = _connection()
        receiver = self.receiver = LightReceiver(pc)
        sdp = attached["jsep"]["sdp"]
        receiver.learn(sdp, owners)
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        receiver.hook()
        answer = {"type": "answer", "sdp": pc.localDescription.sdp, "trickle": False}
        await self.api.message(handle, {"request": "start"}, answer)

    def snapshot(self, with_delays: bool) -> dict[str, Any]:
        """Counters for the load test (the same shape as the other bots')."""
        return light_snapshot(self, with_delays)

    def measure(self, on: bool) -> None:
        """Start (or stop) collecting delays, from a clean list."""
        measure(self.receiver, on)

    async def leave(self) -> None:
        """Close both connections and the Janus session."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()
        await self.api.close()
