"""Fan-out of encoded frames: one Publisher per published track, one RelayTrack per subscriber.

Frames arrive already encoded (see ``aiortc_seams``) and leave as the same bytes in an
``av.Packet``, which aiortc's sender only re-packetises. Nothing is decoded or encoded.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, TypeAlias

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
KEYFRAME_INTERVAL = 0.5
"""At most one keyframe request per publisher per this many seconds (they are coalesced)."""
if TYPE_CHECKING:
    from av.stream import Stream

    Frame: TypeAlias = av.Packet[Stream]
else:
    Frame = av.Packet
"""An encoded frame (aiortc's sender takes ``av.Packet`` as already encoded)."""
KEYFRAME_RETRY_FRAMES = 15
"""A subscriber still waiting for a keyframe after this many frames asks again."""
MAX_QUEUED = {"audio": 50, "video": 90}
"""Frames a subscriber may fall behind before it skips ahead (video: to the next keyframe)."""


class RelayTrack(MediaStreamTrack):
    """One subscriber's outgoing track: the encoded frames of whichever publisher it carries.

    A RelayTrack lives as long as its transceiver and is re-pointed at another publisher when
    people come and go (aiortc cannot remove a transceiver, and a stopped track would end the
    sender's loop). A video subscriber starts at a keyframe; if it falls too far behind it
    drops what it has, asks for a keyframe and starts again from there, so the picture is
    never corrupted.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.publisher: Publisher | None = None
        self.queue: deque[Frame | av.frame.Frame] = deque()
        self.ready = asyncio.Event()
        self.want_keyframe = kind == "video"
        self.sent = 0
        """Frames handed to the sender."""
        self.skipped = 0
        """Frames dropped to catch up or to wait for a keyframe."""

    def attach(self, publisher: Publisher | None) -> None:
        """Carry ``publisher``'s frames from now on (None: carry nothing)."""
        if self.publisher is not None:
            self.publisher.subscribers.discard(self)
        self.publisher = publisher
        self.queue.clear()
        self.want_keyframe = self.kind == "video"
        if publisher is not None:
            publisher.subscribe(self)

    def push(self, packet: Frame | av.frame.Frame, keyframe: bool) -> None:
        """Queue one frame (called by the publisher for every frame)."""
        if self.want_keyframe and not keyframe:
            self.skipped += 1
            if self.skipped % KEYFRAME_RETRY_FRAMES == 0 and self.publisher is not None:
                # Still waiting: the request (or its answer) was lost; ask again.
                self.publisher.request_keyframe()
            return
        self.want_keyframe = False
        if len(self.queue) >= MAX_QUEUED[self.kind]:
            self.skipped += len(self.queue)
            self.queue.clear()
            if self.kind == "video" and not keyframe:
                self.want_keyframe = True
                if self.publisher is not None:
                    self.publisher.request_keyframe()
                return
        self.queue.append(packet)
        self.ready.set()

    async def recv(self) -> Frame | av.frame.Frame:
        """The next encoded frame, for aiortc's RTCRtpSender to packetise."""
        while not self.queue:
            if self.readyState != "live":
                raise MediaStreamError
            self.ready.clear()
            await self.ready.wait()
        self.sent += 1
        return self.queue.popleft()

    def stop(self) -> None:
        """The connection is closing: stop for good."""
        if self.readyState == "live":
            self.attach(None)
            super().stop()
            self.ready.set()


class Publisher:
    """One person's audio or video as it reaches the server, fanned out to every subscriber."""

    def __init__(
        self,
        person_id: str,
        kind: str,
        ask_keyframe: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.person_id = person_id
        self.kind = kind
        self.ask_keyframe = ask_keyframe
        self.clock = clock
        self.time_base = Fraction(1, VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK)
        self.subscribers: set[RelayTrack] = set()
        self.muted = False
        """A facilitator mute: audio frames stop here."""
        self.frames = 0
        self.forwarded = 0
        self.last_keyframe_request = -KEYFRAME_INTERVAL
        self.keyframe_pending: asyncio.TimerHandle | None = None
        self.keyframe_requests = 0

    def subscribe(self, track: RelayTrack) -> None:
        """A new subscriber (use ``RelayTrack.attach``); video asks for a keyframe at once."""
        self.subscribers.add(track)
        if self.kind == "video":
            self.request_keyframe()

    def on_frame(self, data: bytes, timestamp: int, keyframe: bool) -> None:
        """A complete encoded frame from the publisher: pass it to every subscriber."""
        self.frames += 1
        if self.muted and self.kind == "audio":
            return
        if not self.subscribers:
            return
        packet = av.Packet(data)
        packet.pts = timestamp
        packet.time_base = self.time_base
        for track in self.subscribers:
            track.push(packet, keyframe)
        self.forwarded += len(self.subscribers)

    def on_decoded(self, frame: av.frame.Frame) -> None:
        """Transcoding baseline only: a decoded frame, for each subscriber's encoder."""
        self.frames += 1
        if self.muted and self.kind == "audio":
            return
        for track in self.subscribers:
            track.push(frame, True)
        self.forwarded += len(self.subscribers)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per KEYFRAME_INTERVAL."""
        if self.kind != "video" or self.keyframe_pending is not None:
            return
        wait = self.last_keyframe_request + KEYFRAME_INTERVAL - self.clock()
        if wait <= 0:
            self._send_keyframe_request()
        else:
            loop = asyncio.get_running_loop()
            self.keyframe_pending = loop.call_later(wait, self._send_keyframe_request)

    def _send_keyframe_request(self) -> None:
        self.keyframe_pending = None
        self.last_keyframe_request = self.clock()
        self.keyframe_requests += 1
        self.ask_keyframe()

    def close(self) -> None:
        """The publisher left: no more frames (the SFU re-points its subscribers' tracks)."""
        if self.keyframe_pending is not None:
            self.keyframe_pending.cancel()
            self.keyframe_pending = None
