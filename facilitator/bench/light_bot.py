"""A light synthetic participant for facilitator: the browser's signalling, pre-built RTP media.

Like ``bot.Bot`` it joins through the WebSocket protocol and answers the server's offers with
aiortc, but media goes through ``bench.light`` (pre-packetised RTP out, counting in), so one
core can drive many more participants.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

from .client import ProtocolClient
from .light import (
    IdleTrack,
    LightReceiver,
    LightTrack,
    light_snapshot,
    light_tracks,
    measure,
    on_keyframe_request,
    send_track,
)
from .samples import SampleMedia


class LightBot:
    """One participant: a ``ProtocolClient`` that answers offers and sends pre-built packets."""

    def __init__(self, link: str, name: str, media: SampleMedia, *, stamp: bool = True) -> None:
        self.name = name
        self.client = ProtocolClient(
            link, name, keep_states=False, handlers={"offer": self._offered}
        )
        self.pc: RTCPeerConnection | None = None
        self.receiver: LightReceiver | None = None
        self.audio, self.video = light_tracks(media, stamp)
        self.person_id: str | None = None
        self.joined_at = 0.0
        self.tasks: list[asyncio.Task[None]] = []
        self._sending: set[str] = set()
        self._lock = asyncio.Lock()

    async def join(self) -> None:
        """Open the page, join the meeting and start publishing."""
        joined = await self.client.join(timeout=10.0)
        if joined["type"] != "joined":
            raise RuntimeError(f"{self.name} could not join: {joined}")
        self.person_id = self.client.person_id()
        self.joined_at = time.monotonic()
        await self.client.send("media-start", {})
        await self.client.send("action", {"action": "media-state", "camera": True, "mic": True})

    async def _offered(self, message: dict[str, Any]) -> None:
        offer = message["value"]
        async with self._lock:
            if self.pc is None:
                self.pc = RTCPeerConnection(
                    RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
                )
                self.receiver = LightReceiver(self.pc)
            pc, receiver = self.pc, self.receiver
            assert receiver is not None
            tracks: dict[str, dict[str, Any]] = offer["tracks"]
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
            owners: dict[str, tuple[str, str]] = {}
            start: list[tuple[Any, LightTrack]] = []
            for transceiver in pc.getTransceivers():
                mid = transceiver.mid or ""
                info = tracks.get(mid)
                if info is None:
                    continue
                if not info["own"]:
                    owners[mid] = (info["person"], info["kind"])
                elif info["kind"] in ("audio", "video") and info["kind"] not in self._sending:
                    # (Not the "screen" m-line: a synthetic participant shares no screen.)
                    self._sending.add(info["kind"])
                    track = self.audio if info["kind"] == "audio" else self.video
                    transceiver.sender.replaceTrack(IdleTrack(info["kind"]))
                    transceiver.direction = "sendonly"
                    on_keyframe_request(transceiver.sender, track.request_keyframe)
                    start.append((transceiver, track))
            receiver.learn(offer["sdp"], owners)
            await pc.setLocalDescription(await pc.createAnswer())
            receiver.hook()
            await self.client.send("answer", {"sdp": pc.localDescription.sdp})
            loop = asyncio.get_running_loop()
            for transceiver, track in start:
                self.tasks.append(loop.create_task(send_track(pc, transceiver, track)))

    def snapshot(self, with_delays: bool) -> dict[str, Any]:
        """Counters for the load test (the same shape as the aiortc bots')."""
        return light_snapshot(self, with_delays)

    def measure(self, on: bool) -> None:
        """Start (or stop) collecting delays, from a clean list."""
        measure(self.receiver, on)

    async def leave(self) -> None:
        """Leave the meeting and close everything."""
        with contextlib.suppress(Exception):
            if self.client.ws is not None and not self.client.ws.closed:
                await self.client.send("leave", {})
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        await self.client.close()
