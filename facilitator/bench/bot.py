"""A synthetic participant: joins a meeting by link and publishes pre-encoded VP8 and Opus.

It speaks the same WebSocket protocol as the browser (``docs/protocol.md``, through
``bench.client``) and keeps what it receives as encoded frames, never decoding, so tests can
compare bytes and the load test can count frames and measure delay cheaply.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, AnyRtcpPacket, RtcpPsfbPacket, unpack_remb_fci

from ..media.aiortc_seams import (
    bound_nacks,
    install_forwarding,
    limit_retransmissions,
    on_keyframe_request,
    route_rtx,
    watch_feedback,
)
from ..media.frames import STALL_SECONDS, ForwardingBuffer
from ..media.limits import NACK_TRIES, BoundedNackGenerator
from ..media.relay import Frame
from .client import ProtocolClient
from .samples import OPUS_FRAME, SampleMedia

STAMP = b"FCLT"
"""Marks a send-time stamp appended to a video frame (load test only; decoders never see it)."""
STAMP_SIZE = len(STAMP) + 8


def read_stamp(data: bytes) -> int | None:
    """The monotonic send time (ns) appended by a stamping LoopTrack, if any."""
    if len(data) > STAMP_SIZE and data[-STAMP_SIZE:-8] == STAMP:
        return int.from_bytes(data[-8:], "big")
    return None


class Paced:
    """Pausing and keyframe requests, shared by the synthetic tracks (LoopTrack, LightTrack)."""

    kind: str
    paused: bool
    resumed: asyncio.Event
    keyframe_requests: int
    index: int
    """The next frame to send (0 is a keyframe)."""

    def pause(self, paused: bool) -> None:
        """Stop (or resume) sending, for clean measurement windows."""
        self.paused = paused
        if paused:
            self.resumed.clear()
        else:
            self.resumed.set()

    def request_keyframe(self) -> None:
        """The server asked for a keyframe: frame 0 is one."""
        self.keyframe_requests += 1
        if self.kind == "video":
            self.index = 0


class LoopTrack(Paced, MediaStreamTrack):
    """Sends pre-encoded frames in a loop at their real pace; restarts at a keyframe on request.

    With ``stamp``, each video frame carries its send time (CLOCK_MONOTONIC, shared by every
    process on the machine) so a subscriber can measure the delay through the server.
    """

    def __init__(self, kind: str, frames: tuple[bytes, ...], fps: int, stamp: bool = False) -> None:
        super().__init__()
        self.stamp = stamp and kind == "video"
        self.paused = False
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.kind = kind
        self.frames = frames
        self.interval = 1 / fps if kind == "video" else 0.02
        self.ticks = 90_000 // fps if kind == "video" else OPUS_FRAME
        self.time_base = Fraction(1, 90_000 if kind == "video" else 48_000)
        self.index = 0
        self.count = 0
        self.started: float | None = None
        self.sent_at: dict[int, float] = {}
        """Send time (monotonic) of recent frames by pts, for delay measurements."""
        self.keyframe_requests = 0
        self.timeline = False
        """Keep ``sent_times`` and ``request_times`` (the network lab's measurements)."""
        self.sent_times: list[tuple[float, int]] = []
        """(monotonic time, bytes) of each frame sent, with ``timeline``."""
        self.request_times: list[float] = []
        """When keyframes were asked for, with ``timeline``."""
        self.loop_keyframes = True
        """Send the loop's first frame (a keyframe) every time round; off, a keyframe goes only
        at the start and when asked for, like a browser's encoder (the loop's other frames do
        not decode to the right picture then, which only the network lab's counts ignore)."""

    def request_keyframe(self) -> None:
        """The server asked for a keyframe: frame 0 is one (noted, with ``timeline``)."""
        super().request_keyframe()
        if self.timeline:
            self.request_times.append(time.monotonic())

    async def recv(self) -> Frame:
        """The next frame, when it is due."""
        if self.readyState != "live":
            raise MediaStreamError
        if self.paused:
            await self.resumed.wait()
            # Carry on at the normal pace, without a burst of the frames not sent meanwhile.
            self.started = time.monotonic() - self.count * self.interval
        now = time.monotonic()
        if self.started is None:
            self.started = now
        due = self.started + self.count * self.interval
        if due > now:
            await asyncio.sleep(due - now)
        data = self.frames[self.index]
        if self.stamp:
            data += STAMP + time.monotonic_ns().to_bytes(8, "big")
        packet = av.Packet(data)
        packet.pts = self.count * self.ticks
        packet.time_base = self.time_base
        self.sent_at[self.count * self.ticks] = time.monotonic()
        if len(self.sent_at) > 1000:
            self.sent_at.pop(next(iter(self.sent_at)))
        if self.timeline:
            self.sent_times.append((time.monotonic(), len(data)))
        self.count += 1
        self.index = (self.index + 1) % len(self.frames)
        if self.index == 0 and not self.loop_keyframes and len(self.frames) > 1:
            self.index = 1
        return packet


REJOIN_SECONDS = 4.0
"""How long one try to join again may take before it is given up and made afresh."""
STAY_HEARTBEAT = 3.0
"""Seconds between a staying bot's WebSocket pings (no pong within half of it: reconnect)."""


class Feed(MediaStreamTrack):
    """One connection's view of a LoopTrack: aiortc stops a sender's track with its
    connection, and the source must outlive it for the next connection (a media restart)."""

    def __init__(self, source: LoopTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source

    async def recv(self) -> Frame:
        """The source's next frame."""
        if self.readyState != "live":
            raise MediaStreamError
        return await self.source.recv()


@dataclass(frozen=True)
class Rung:
    """One pre-encoded version of the video, for a publisher that follows REMB."""

    kbps: float
    """Its real bitrate (measured from the frames, at 30 fps)."""
    frames: tuple[bytes, ...]


def rung(frames: tuple[bytes, ...], fps: int = 30) -> Rung:
    """A Rung of these frames, with their measured bitrate."""
    return Rung(sum(map(len, frames)) * 8 * fps / len(frames) / 1000, frames)


UPSHIFT_SECONDS = 3.0
"""How long the server's estimate must allow a higher rung before the publisher takes it."""
DOWNSHIFT_SECONDS = 1.0
"""How long the estimate must stay below the rung being sent before the publisher steps down
(an encoder smooths its target too; each step costs a keyframe here)."""


class LadderTrack(LoopTrack):
    """A LoopTrack that follows the server's bitrate estimate (REMB), as a browser's encoder does.

    It sends the best rung (ordered best first) that fits the estimate: once the estimate has
    stayed below the current rung for ``DOWNSHIFT_SECONDS``, or allowed a better one for
    ``UPSHIFT_SECONDS``. A new rung starts at its keyframe (its frames refer to nothing of the
    old one's).
    """

    def __init__(self, rungs: Sequence[Rung], fps: int, stamp: bool = False) -> None:
        super().__init__("video", rungs[0].frames, fps, stamp)
        self.rungs = tuple(rungs)
        self.level = 0
        self.estimate: float | None = None
        """The latest REMB, bits per second."""
        self.switches = 0
        self._since: float | None = None
        """When the estimate started to ask for another rung (None: it fits the current one)."""
        self._direction = 0

    def follow(self, bitrate: float) -> None:
        """The server estimated ``bitrate`` (bps) for this video: fit the rung to it."""
        self.estimate = bitrate
        fits = next(
            (i for i, r in enumerate(self.rungs) if r.kbps * 1000 <= bitrate), len(self.rungs) - 1
        )
        direction = (fits > self.level) - (fits < self.level)
        now = time.monotonic()
        if direction == 0 or direction != self._direction:
            self._since = now if direction else None
            self._direction = direction
            return
        assert self._since is not None
        wait = DOWNSHIFT_SECONDS if direction > 0 else UPSHIFT_SECONDS
        if now - self._since >= wait:
            self._use(fits if direction > 0 else self.level - 1)
            self._since = None
            self._direction = 0

    def _use(self, level: int) -> None:
        self.level = level
        self.frames = self.rungs[level].frames
        self.index = 0
        self.switches += 1


def follow_remb(sender: RTCRtpSender, callback: Callable[[float], None]) -> None:
    """Call ``callback(bps)`` for each REMB the server sends about this sender's stream.

    aiortc's sender reads REMB only to retune an encoder, and a bot has none. This wraps
    ``RTCRtpSender._handle_rtcp_packet`` on the bot's own senders (a bench tool's hook, like
    seam 7 in ``media/aiortc_seams/``; ``remb_seam_problem`` guards it).
    """
    original = sender._handle_rtcp_packet

    async def handle_rtcp(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            with contextlib.suppress(ValueError):
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if sender._ssrc in ssrcs:
                    callback(float(bitrate))
        await original(packet)

    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]


def remb_seam_problem() -> str | None:
    """What moved in aiortc for ``follow_remb`` (None: nothing)."""
    source = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    if "unpack_remb_fci(packet.fci)" not in source or "self._ssrc in ssrcs" not in source:
        return "RTCRtpSender._handle_rtcp_packet no longer reads REMB for its _ssrc"
    return None


def _ignore_remb(kbps: float, ssrcs: list[int]) -> None:
    """The bot's camera follows REMB elsewhere (``follow_remb``)."""


BOT_ROUND_TRIP = 0.04
"""The least round trip a bot's receivers pace their NACK retries by: a home link's (the lab's
and loopback's are about 1 ms, and a browser would ask again that soon). Once the server's
reports measure the real one (a link's queue adds to it), that paces them instead."""


@dataclass
class Received:
    """What arrived from one other person's track."""

    frames: int = 0
    keyframes: int = 0
    first_keyframe_at: float | None = None
    data: list[bytes] = field(default_factory=list)
    """The frames themselves, when recording (tests)."""
    times: list[tuple[float, int, bool]] = field(default_factory=list)
    """(arrival time, bytes, keyframe) of each frame, with the bot's ``timeline``."""


class Bot:
    """One synthetic participant: a ``ProtocolClient`` that answers offers and publishes media."""

    def __init__(
        self,
        link: str,
        name: str,
        media: SampleMedia | None,
        *,
        record: bool = False,
        stamp: bool = False,
        on_frame: Callable[[str, str, bytes, int], None] | None = None,
        ladder: Sequence[Rung] | None = None,
        timeline: bool = False,
        stay: bool = False,
        keyframes_on_request: bool = False,
    ) -> None:
        self.link = link
        self.stay = stay
        """Like a page: join again when the WebSocket drops (keeping the media connection when
        the server kept it) and start the media again when it fails."""
        self.name = name
        self.media = media
        self.record = record
        self.on_frame = on_frame
        # States are many over a long call: keep only the rest.
        handlers = {"offer": self._offered}
        if stay:
            handlers["media-ended"] = self._ended
        # Staying, a dead socket is noticed within seconds (a page notices when TCP gives up).
        heartbeat = STAY_HEARTBEAT if stay else None
        self.client = ProtocolClient(
            link, name, keep_states=False, handlers=handlers, heartbeat=heartbeat
        )
        self.pc: RTCPeerConnection | None = None
        self.person_id: str | None = None
        self.tracks: dict[str, dict[str, Any]] = {}
        self.received: dict[tuple[str, str], Received] = {}
        self.repairs: list[tuple[ForwardingBuffer, BoundedNackGenerator | None]] = []
        """Each received stream's frame buffer and NACK generator (paced by the round trip)."""
        self.round_trip: float | None = None
        """The round trip the server's receiver reports about the bot's camera measure."""
        self.audio = LoopTrack("audio", media.audio, 50) if media else None
        self.video = LoopTrack("video", media.video, media.fps, stamp) if media else None
        if media and ladder:
            # A publisher that adapts, like a browser: it follows the server's REMB.
            self.video = LadderTrack(ladder, media.fps, stamp)
        self.timeline = timeline
        """Keep arrival and send times (the network lab measures freezes from them)."""
        for track in (self.audio, self.video):
            if track is not None:
                track.timeline = timeline
        if self.video is not None:
            self.video.loop_keyframes = not keyframes_on_request
        self.delays: list[float] = []
        """Send-to-arrival delays (s) of stamped video frames, while ``measuring``."""
        self.measuring = False
        self.offers = 0
        self.last_offer = ""
        self.joined_at = 0.0
        self.connected = asyncio.Event()
        self.resumes = 0
        """Joins again on a new WebSocket that kept the media connection."""
        self.restarts = 0
        """Fresh media connections after the first (it failed, or was not kept)."""
        self.leaving = False
        self.tasks: set[asyncio.Task[Any]] = set()
        self._installed: set[str] = set()
        self._lock = asyncio.Lock()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Messages received (but offers and states)."""
        return self.client.messages

    async def join(self, with_media: bool = True) -> None:
        """Open the page, join the meeting and, with media, start publishing."""
        joined = await self.client.join(timeout=10.0)
        if joined["type"] != "joined":
            raise RuntimeError(f"{self.name} could not join: {joined}")
        self.person_id = self.client.person_id()
        self.joined_at = time.monotonic()
        if with_media:
            await self._start_media()
            if self.stay:
                self._spawn(self._stay())

    async def _start_media(self) -> None:
        await self.send("media-start", {})
        # Like a browser: tell the room the camera and microphone are on.
        await self.send(
            "action",
            {
                "action": "media-state",
                "camera": self.video is not None,
                "mic": self.audio is not None,
            },
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def keeps_media(self) -> bool:
        """Whether the media connection is worth keeping across a reconnect."""
        return self.pc is not None and self.pc.connectionState not in ("failed", "closed")

    async def rejoin(self) -> bool:
        """Join again on a new WebSocket, as a page does after a drop; True when the server
        kept the media connection (otherwise a fresh one is started)."""
        await self.client.reset()
        keep = self.keeps_media()
        joined = await self.client.join(timeout=10.0, media=keep)
        if joined["type"] != "joined":
            raise RuntimeError(f"{self.name} could not join again: {joined}")
        if keep and joined["value"].get("media") is True:
            self.resumes += 1
            return True
        await self.restart_media()
        return False

    async def restart_media(self) -> None:
        """Start a fresh media connection (the old one failed or was not kept)."""
        async with self._lock:
            old, self.pc = self.pc, None
            self._installed.clear()
            self.connected.clear()
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()
        self.restarts += 1
        await self._start_media()

    async def _stay(self) -> None:
        """Come back by itself: join again whenever the WebSocket drops."""
        while not self.leaving:
            await self.client.wait_disconnected()
            delay = 0.25
            while not self.leaving:
                try:
                    # A try made while the network is down may hang in TCP: give it up soon.
                    await asyncio.wait_for(self.rejoin(), REJOIN_SECONDS)
                    break
                except Exception:
                    await asyncio.sleep(delay)
                    delay = min(2.0, delay * 2)

    async def send(self, kind: str, value: dict[str, Any] | None = None) -> None:
        """Send one protocol message."""
        await self.client.send(kind, value or {})

    async def wait_for(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The first received message of a type."""
        return await self.client.wait_for(kind, timeout=timeout)

    async def _ended(self, message: dict[str, Any]) -> None:
        self.client.messages.append(message)
        if message["value"].get("reason") != "replaced" and not self.leaving:
            self._spawn(self._restart_quietly())

    async def _offered(self, message: dict[str, Any]) -> None:
        await self._answer(message["value"])

    async def _answer(self, offer: dict[str, Any]) -> None:
        async with self._lock:
            self.offers += 1
            if self.pc is None:
                self.pc = RTCPeerConnection(
                    RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
                )
                self.pc.on("connectionstatechange", self._state_changed)
            pc = self.pc
            self.tracks = offer["tracks"]
            self.last_offer = str(offer["sdp"])
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
            for transceiver in pc.getTransceivers():
                route_rtx(transceiver.receiver)  # the server's retransmissions come as RTX
                mid = transceiver.mid
                info = self.tracks.get(mid or "")
                if mid is None or info is None or mid in self._installed:
                    continue
                self._installed.add(mid)
                if info["own"]:
                    track = {"audio": self.audio, "video": self.video}.get(info["kind"])
                    if track is not None:
                        transceiver.sender.replaceTrack(Feed(track))
                        transceiver.direction = "sendonly"
                        on_keyframe_request(transceiver.sender, track.request_keyframe)
                        # Like a browser's sender, it resends a packet at most a few times,
                        # a round trip apart, and only a share of what it sends: aiortc alone
                        # resends every mention, which filled a narrow uplink with repeats.
                        limit_retransmissions(transceiver.sender)
                        if info["kind"] == "video":
                            watch_feedback(transceiver.sender, _ignore_remb, self._on_round_trip)
                        if isinstance(track, LadderTrack):
                            follow_remb(transceiver.sender, track.follow)
                else:
                    kind = "audio" if info["kind"] == "audio" else "video"  # a screen is video
                    buffer = install_forwarding(
                        transceiver.receiver, kind, self._sink(mid, info["kind"])
                    )
                    # It asks again for what stays lost, like a browser, paced as below.
                    self.repairs.append((buffer, bound_nacks(transceiver.receiver)))
                    self._pace_repairs()
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            await self.send("answer", {"sdp": pc.localDescription.sdp})

    def _on_round_trip(self, loss: float, rtt: float | None) -> None:
        """A receiver report about the bot's camera: its round trip paces the repairs."""
        if rtt is not None:
            self.round_trip = rtt
            self._pace_repairs()

    def _pace_repairs(self) -> None:
        # Like a browser: NACKs go again a round trip apart (the link's queue included), and
        # a frame waits for its missing packets while they are still asked for; a keyframe is
        # asked for only after that.
        rtt = max(BOT_ROUND_TRIP, self.round_trip or 0.0)
        for buffer, nacks in self.repairs:
            if nacks is not None:
                nacks.rtt = rtt
            buffer.stall = max(STALL_SECONDS, NACK_TRIES * rtt)

    def _sink(self, mid: str, kind: str) -> Callable[[bytes, int, bool], None]:
        def sink(data: bytes, timestamp: int, keyframe: bool) -> None:
            person = (self.tracks.get(mid) or {}).get("person")
            if person is None:
                return
            received = self.received.setdefault((person, kind), Received())
            now = time.monotonic()
            received.frames += 1
            if keyframe:
                received.keyframes += 1
                if received.first_keyframe_at is None:
                    received.first_keyframe_at = now
            if self.record:
                received.data.append(data)
            if self.timeline:
                received.times.append((now, len(data), keyframe))
            if self.measuring and kind == "video":
                sent = read_stamp(data)
                if sent is not None:
                    self.delays.append((time.monotonic_ns() - sent) / 1e9)
            if self.on_frame is not None:
                self.on_frame(person, kind, data, timestamp)

        return sink

    def _state_changed(self) -> None:
        if self.pc is None:
            return
        state = self.pc.connectionState
        if state == "connected":
            self.connected.set()
        elif state == "failed" and self.stay and not self.leaving:
            self._spawn(self._restart_quietly())

    async def _restart_quietly(self) -> None:
        # Without a WebSocket the next join starts the media again instead.
        with contextlib.suppress(Exception):
            await self.restart_media()

    def frames_from(self, person_id: str, kind: str) -> int:
        """How many frames of a person's track have arrived."""
        received = self.received.get((person_id, kind))
        return received.frames if received else 0

    async def leave(self) -> None:
        """Leave the meeting and close everything."""
        self.leaving = True
        with contextlib.suppress(Exception):
            if self.client.ws is not None and not self.client.ws.closed:
                await self.send("leave")
        await self.close()

    async def close(self) -> None:
        """Close the connection, the WebSocket and the HTTP session."""
        self.leaving = True
        for task in list(self.tasks):
            task.cancel()
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        await self.client.close()
