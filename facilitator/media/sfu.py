"""The SFU: one RTCPeerConnection per person, media forwarded between them, never re-encoded.

The server always makes the offers. A person's connection has two receive-only transceivers
for their own camera and microphone, and one send-only transceiver per other person's track.
When people come and go, transceivers are re-pointed or set inactive and the server offers
again. Who may be heard is the meeting's decision: ``set_muted`` mirrors its mutes, and
``set_spaces`` its rounds in small groups (each person receives only those in their own space).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from ..errors import CodedError
from .aiortc_seams import (
    RembCap,
    UplinkMeter,
    bound_nacks,
    bound_ssrcs,
    forward_packets,
    limit_retransmissions,
    offer_codecs,
    receive_inline,
    request_keyframe,
    send_remb,
    watch_feedback,
)
from .allocator import TICK_SECONDS, Allocator
from .forward import Batch, PacketPublisher, PacketSubscriber
from .limits import BoundedNackGenerator
from .relay import RelayTrack

log = logging.getLogger(__name__)

CODECS = {"audio": "audio/opus", "video": "video/VP8"}
SLOTS = {"audio": "audio", "video": "video", "screen": "video"}
"""What a person publishes (microphone, camera, shared screen) and the media kind of each."""
CONNECT_TIMEOUT = 30.0
"""A connection that is not up within this many seconds is closed."""
MAX_SDP = 60_000
"""Bytes in an answer; 16 people need about 20 KB, and a WebSocket message is at most 64 KB."""
SPEAKING_LEVEL = 60
"""-dBov under which someone counts as speaking (0 is loudest, 127 is silence)."""
SPEAKING_HOLD = 0.4
"""Seconds a level stays valid."""
CAP_RESEND_SHARE = 0.9
"""A publisher's cap that falls under this share of what it was told is sent at once."""
HOLD_SECONDS = 20.0
"""How long a connection whose WebSocket closed is kept for its person to come back to."""
Signal = Callable[[str, dict[str, Any]], None]


class MediaError(CodedError):
    """A media request that cannot be carried out (``code`` is stable for clients)."""


@dataclass
class MediaConfig:
    """ICE settings shared by every connection."""

    ice_servers: list[RTCIceServer] = field(default_factory=list)
    """STUN/TURN servers the server uses (clients get the same list)."""
    transcode: bool = False
    """Decode and re-encode every stream, as aiortc does by default. Only for the benchmark's
    baseline: it costs a large part of a core per subscriber."""


@dataclass
class Outgoing:
    """A send-only transceiver and the relay track it carries."""

    transceiver: RTCRtpTransceiver
    track: PacketSubscriber | RelayTrack
    """Packets (the SFU) or frames (the transcoding baseline)."""
    slot: str = ""
    """Which of its publisher's SLOTS it carries now ("audio", "video" or "screen")."""


class MediaPeer:
    """One person's connection to the SFU."""

    def __init__(self, room: MediaRoom, person_id: str, signal: Signal) -> None:
        self.room = room
        self.person_id = person_id
        self.signal = signal
        # max-bundle: aiortc's default (balanced) gives a transceiver added later the transport of
        # the first one of its kind, and when the answer bundles everything onto the first
        # m-line's transport those late transceivers are left on a stopped one.
        config = RTCConfiguration(
            iceServers=room.config.ice_servers or [], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        self.pc = RTCPeerConnection(config)
        self.audio = PacketPublisher(person_id, "audio", lambda: None, room.batch, self._on_level)
        self.video = PacketPublisher(person_id, "video", lambda: self._ask_keyframe(), room.batch)
        # The shared screen is a second video, forwarded exactly like the camera.
        self.screen = PacketPublisher(
            person_id, "video", lambda: self._ask_keyframe("screen"), room.batch
        )
        self.incoming: dict[str, RTCRtpTransceiver] = {}
        self.readers: list[asyncio.Task[None]] = []
        self.caps: dict[str, RembCap] = {}
        """The REMB cap towards this person's camera and screen (set by the allocation)."""
        self.uplinks: dict[str, UplinkMeter] = {}
        self.nack_generators: list[BoundedNackGenerator] = []
        """This person's video receivers' NACK generators (they retry after the round trip)."""
        for slot, kind in SLOTS.items():
            publisher = self.publisher(slot)
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            offer_codecs(transceiver, kind)
            nacks = bound_nacks(transceiver.receiver)
            if nacks is not None:
                self.nack_generators.append(nacks)
            if kind == "video":
                self.caps[slot] = RembCap()
                self.uplinks[slot] = UplinkMeter(transceiver.receiver)
            if not room.config.transcode:
                forward_packets(transceiver.receiver, publisher.on_packet, self.caps.get(slot))
            self.incoming[slot] = transceiver
        # max-bundle: every m-line shares the first transceiver's transport, so one router.
        bound_ssrcs(self.incoming["audio"].receiver.transport)
        if not room.config.transcode:  # the baseline stays aiortc as shipped
            receive_inline(self.incoming["audio"].receiver.transport)
        if room.config.transcode:
            self.pc.on("track", self._read_decoded)
        self.outgoing: list[Outgoing] = []
        self.negotiating = False
        self.again = False
        self.closed = False
        self.level = 127
        self.level_at = 0.0
        self.held: asyncio.TimerHandle | None = None
        """Set while no WebSocket carries this connection's signalling (``MediaRoom.hold``)."""
        self.held_for = ""
        """Who may take it back while held: the key ``hold`` was given (a session's)."""
        self.pc.on("connectionstatechange", self._state_changed)
        loop = asyncio.get_running_loop()
        self.timeout = loop.call_later(CONNECT_TIMEOUT, self._connect_timeout)

    def _read_decoded(self, track: MediaStreamTrack) -> None:
        """Transcoding baseline: read decoded frames and hand them to the subscribers' encoders."""
        publisher = self.publisher(track.kind)

        async def read() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    if isinstance(frame, av.frame.Frame):
                        publisher.on_decoded(frame)

        self.readers.append(asyncio.ensure_future(read()))

    def publisher(self, slot: str) -> PacketPublisher:
        """This person's audio, camera ("video") or screen publisher."""
        return {"audio": self.audio, "screen": self.screen}.get(slot, self.video)

    def _on_level(self, level: int) -> None:
        now = time.monotonic()
        if level <= self.level or now - self.level_at > SPEAKING_HOLD:
            self.level = level
            self.level_at = now

    def speaking_level(self, now: float) -> int:
        """The loudest recent audio level (127 when silent or muted)."""
        if self.audio.muted or now - self.level_at > SPEAKING_HOLD:
            return 127
        return self.level

    def outlets(self) -> list[tuple[str, PacketSubscriber]]:
        """The outgoing streams on the packet path that carry someone, with their slot."""
        return [
            (out.slot, out.track)
            for out in self.outgoing
            if isinstance(out.track, PacketSubscriber) and out.track.publisher is not None
        ]

    def cap_publisher(self, slot: str, kbps: float | None) -> None:
        """Cap the REMB towards this person's camera or screen; a cap well under what was
        last sent goes out at once (aiortc's own REMBs carry it from then on)."""
        cap = self.caps[slot]
        cap.kbps = kbps
        told = cap.estimate_kbps
        if kbps is not None and told is not None and kbps < CAP_RESEND_SHARE * told:
            cap.estimate_kbps = kbps
            receiver = self.incoming[slot].receiver
            self.room.spawn(send_remb(receiver, kbps, list(cap.ssrcs)))

    def uplink_loss(self, slot: str) -> float | None:
        """Loss on this person's uplink for a slot since the last call."""
        return self.uplinks[slot].loss()

    def _ask_keyframe(self, slot: str = "video") -> None:
        ssrc = self.publisher(slot).ssrc
        if self.closed or ssrc is None:
            # No packet yet, so no SSRC to name: the stream will start with a keyframe, and a
            # subscriber still waiting for one asks again (PacketSubscriber.forward).
            return
        self.room.spawn(request_keyframe(self.incoming[slot].receiver, ssrc))

    def _state_changed(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self.timeout.cancel()
        elif state in ("failed", "closed") and not self.closed:
            log.info("media connection %s for %s", state, self.person_id[:6])
            # The page may not have noticed (its side can still look connected): say so.
            self.signal("media-ended", {"reason": "failed"})
            self.room.spawn(self.room.leave(self.person_id, self))

    def _connect_timeout(self) -> None:
        if self.pc.connectionState != "connected" and not self.closed:
            log.info("media connection for %s did not come up in time", self.person_id[:6])
            self.signal("media-ended", {"reason": "timeout"})
            self.room.spawn(self.room.leave(self.person_id, self))

    def sync(self, others: Iterable[MediaPeer], sharing: str | None = None) -> bool:
        """Carry every other person's audio and video, and the screen of whoever shares it;
        return whether anything changed."""
        wanted = {(o.person_id, slot): o.publisher(slot) for o in others for slot in CODECS}
        wanted.update({(o.person_id, "screen"): o.screen for o in others if o.person_id == sharing})
        changed = False
        carried = set()
        for out in self.outgoing:
            publisher = out.track.publisher
            key = (publisher.person_id, out.slot) if publisher else None
            if key is not None and wanted.get(key) is publisher:
                carried.add(key)
            elif publisher is not None:
                out.track.attach(None)
                out.transceiver.direction = "inactive"
                changed = True
        for key, publisher in wanted.items():
            if key in carried:
                continue
            kind = SLOTS[key[1]]
            free = next((o for o in self.outgoing if self._reusable(o, kind)), None)
            if free is None:
                free = self._add_outgoing(kind)
            free.slot = key[1]
            free.track.attach(publisher)
            free.transceiver.direction = "sendonly"
            changed = True
        return changed

    @staticmethod
    def _reusable(out: Outgoing, kind: str) -> bool:
        # A track whose sender loop ended (aiortc stops it then) can never carry media again.
        return (
            out.track.publisher is None
            and out.track.kind == kind
            and out.track.readyState == "live"
        )

    def _add_outgoing(self, kind: str) -> Outgoing:
        track: PacketSubscriber | RelayTrack
        if self.room.config.transcode:  # frames for aiortc's encoder, which makes keyframes
            track = RelayTrack(kind)
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            limit_retransmissions(transceiver.sender)
        else:
            track = PacketSubscriber(kind, self.room.batch)
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            allocator, person_id = self.room.allocator, self.person_id
            track.bind(transceiver.sender, allocator.subscriber(person_id).budget)
            track.keyframe_gate = allocator.keyframe_gate(person_id)
            watch_feedback(
                transceiver.sender,
                lambda kbps, ssrcs: allocator.on_remb(person_id, kbps, ssrcs),
                self._on_report,
                track.sent_record.between,
            )
        offer_codecs(transceiver, kind)
        out = Outgoing(transceiver, track, kind)
        self.outgoing.append(out)
        return out

    def _on_report(self, loss: float, rtt: float | None) -> None:
        """A receiver report from this person: its loss goes to the allocation, its round trip
        paces the NACKs this person's receivers send (the way back is the same link)."""
        self.room.allocator.on_report(self.person_id, loss, rtt)
        if rtt is not None:
            for generator in self.nack_generators:
                generator.rtt = rtt

    def track_map(self) -> dict[str, dict[str, Any]]:
        """For the offer: which person and kind each m-line (by mid) carries."""
        tracks: dict[str, dict[str, Any]] = {}
        for slot, transceiver in self.incoming.items():
            if transceiver.mid is not None:
                tracks[transceiver.mid] = {"person": self.person_id, "kind": slot, "own": True}
        for out in self.outgoing:
            if out.transceiver.mid is not None:
                publisher = out.track.publisher
                tracks[out.transceiver.mid] = {
                    "person": publisher.person_id if publisher else None,
                    "kind": out.slot if publisher else out.track.kind,
                    "own": False,
                }
        return tracks

    async def negotiate(self) -> None:
        """Send a new offer, or remember to once the one in flight is answered."""
        if self.closed:
            return
        if self.negotiating:
            self.again = True
            return
        self.negotiating = True
        self.again = False
        try:
            offer = await self.pc.createOffer()
            await self.pc.setLocalDescription(offer)
        except Exception as exc:
            self.negotiating = False
            if self.closed:  # closed while the offer was being made: nothing to offer
                return
            log.exception("could not make an offer for %s", self.person_id[:6])
            raise MediaError("media-failed", "Could not set up media; try again.") from exc
        description = self.pc.localDescription
        self.signal("offer", {"sdp": description.sdp, "tracks": self.track_map()})

    async def answer(self, sdp: object) -> None:
        """Apply the browser's answer; offer again if something changed meanwhile."""
        if not self.negotiating or self.pc.signalingState != "have-local-offer":
            raise MediaError("no-offer", "There is no offer to answer.")
        if not isinstance(sdp, str) or not sdp.strip() or len(sdp) > MAX_SDP:
            raise MediaError("bad-sdp", "That answer is not a session description.")
        # An answer has exactly the offer's media sections; more would only cost us parsing.
        offered = self.pc.localDescription.sdp.count("\nm=")
        if sdp.replace("\r\n", "\n").count("\nm=") != offered:
            raise MediaError("bad-sdp", "That answer does not match the offer's media sections.")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            # aiortc may have applied part of it: the caller starts over with a new connection.
            raise MediaError("bad-sdp", f"That answer was refused: {str(exc)[:200]}") from None
        finally:
            self.negotiating = False
        if self.again:
            await self.negotiate()

    async def close(self) -> None:
        """Close the connection and stop forwarding its media."""
        if self.closed:
            return
        self.closed = True
        self.timeout.cancel()
        if self.held is not None:
            self.held.cancel()
        self.audio.close()
        self.video.close()
        self.screen.close()
        for out in self.outgoing:
            out.track.stop()
        for reader in self.readers:
            reader.cancel()
        try:
            await self.pc.close()
        except Exception:  # closing must always finish
            log.exception("closing a media connection failed")


class MediaRoom:
    """The media side of one meeting."""

    def __init__(self, meeting_id: str, config: MediaConfig) -> None:
        self.meeting_id = meeting_id
        self.config = config
        self.peers: dict[str, MediaPeer] = {}
        self.muted: set[str] = set()
        self.sharing: str | None = None
        """Whose screen is forwarded (the meeting decides: one at a time)."""
        self.visible: dict[str, set[str]] = {}
        """Whose tiles each person has on screen (only those get video)."""
        self.featured: str | None = None
        """The icebreaker speaker, whose video comes first for everyone."""
        self.allocator = Allocator()
        """Fits what each person receives to their downlink (see ``allocate``)."""
        self.allocating: asyncio.Task[None] | None = None
        self.spaces: dict[str, str] = {}
        """Person id -> their space (a group, or "" for the main room); nobody listed: together."""
        self.tasks: set[asyncio.Task[Any]] = set()
        self.batch = Batch()
        """Clock reads and sender counters shared by the packets of one loop iteration."""

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine in the background, keeping a reference until it is done."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(_log_failure)

    async def join(self, person_id: str, signal: Signal) -> MediaPeer:
        """Start (or restart) a person's connection and offer it to them."""
        old = self.peers.pop(person_id, None)
        if old is not None:
            await old.close()
        peer = MediaPeer(self, person_id, signal)
        peer.audio.muted = person_id in self.muted
        self.peers[person_id] = peer
        self.start_allocation()
        await self._resync()
        return peer

    async def leave(self, person_id: str, peer: MediaPeer | None = None) -> None:
        """Close a person's connection (only ``peer``, when given) and update everyone else."""
        current = self.peers.get(person_id)
        if current is None or (peer is not None and current is not peer):
            if peer is not None:
                await peer.close()
            return
        del self.peers[person_id]
        self.visible.pop(person_id, None)
        await current.close()
        await self._resync()

    def hold(self, person_id: str, key: str, seconds: float = HOLD_SECONDS) -> bool:
        """Keep a person's connection whose WebSocket closed for ``seconds``, for ``resume``
        with the same ``key``; then close it. False when there is none to keep."""
        peer = self.peers.get(person_id)
        if peer is None or peer.closed:
            return False
        if peer.held is not None:
            peer.held.cancel()
        peer.signal = _nowhere
        peer.held_for = key
        loop = asyncio.get_running_loop()
        peer.held = loop.call_later(seconds, self._hold_over, peer)
        return True

    def _hold_over(self, peer: MediaPeer) -> None:
        if peer.held is not None and not peer.closed:
            log.info("media connection for %s was not taken back in time", peer.person_id[:6])
            self.spawn(self.leave(peer.person_id, peer))

    def resume(self, person_id: str, key: str, signal: Signal) -> bool:
        """Hand a held connection to its person's new WebSocket (only with the key it was held
        for); an offer that was waiting for an answer is sent again. False when none is held."""
        peer = self.peers.get(person_id)
        if peer is None or peer.held is None or peer.closed or peer.held_for != key:
            return False
        peer.held.cancel()
        peer.held = None
        peer.held_for = ""
        peer.signal = signal
        description = peer.pc.localDescription
        if peer.negotiating and description is not None:
            # Its answer (or the offer itself) may have been lost with the old socket.
            signal("offer", {"sdp": description.sdp, "tracks": peer.track_map()})
        return True

    def is_held(self, person_id: str) -> bool:
        """True while a person's connection waits for them to come back (``hold``)."""
        peer = self.peers.get(person_id)
        return peer is not None and peer.held is not None

    def may_receive(self, receiver: str, sender: str) -> bool:
        """True when ``receiver`` may get ``sender``'s media: they share a space."""
        return self.spaces.get(receiver, "") == self.spaces.get(sender, "")

    async def _resync(self) -> None:
        peers = list(self.peers.values())
        for peer in peers:
            others = [
                p for p in peers if p is not peer and self.may_receive(peer.person_id, p.person_id)
            ]
            changed = peer.sync(others, self.sharing)
            if changed or peer.pc.localDescription is None:
                with contextlib.suppress(MediaError):
                    await peer.negotiate()

    def set_muted(self, muted: set[str]) -> None:
        """Mirror the meeting's facilitator mutes: muted people's audio stops at the server."""
        self.muted = set(muted)
        for person_id, peer in self.peers.items():
            peer.audio.muted = person_id in self.muted

    def set_sharing(self, person_id: str | None) -> None:
        """Mirror the meeting's screen sharer: everyone gets that person's screen track."""
        if person_id != self.sharing:
            self.sharing = person_id
            self.spawn(self._resync())

    def set_visible(self, person_id: str, people: set[str]) -> None:
        """Remember whose tiles one person has on screen: only those get video."""
        self.visible[person_id] = set(people)

    def set_featured(self, person_id: str | None) -> None:
        """Mirror the meeting's icebreaker speaker: their video comes first for everyone."""
        self.featured = person_id

    def start_allocation(self) -> None:
        """Run the allocation every TICK_SECONDS while anyone is connected (one timer a room)."""
        if self.config.transcode or (self.allocating is not None and not self.allocating.done()):
            return
        self.allocating = asyncio.ensure_future(self._allocate_while_connected())
        self.allocating.add_done_callback(_log_failure)

    async def _allocate_while_connected(self) -> None:
        while self.peers:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self.allocate()
            except Exception:  # the next step tries again; media keeps flowing meanwhile
                log.exception("allocation step failed in %s", self.meeting_id[:6])

    def allocate(self) -> None:
        """Fit every person's video to their downlink now, and cap the publishers."""
        now = self.allocator.clock()
        peers = list(self.peers.values())
        speaker = self.loudest(time.monotonic())
        focus = self.allocator.focus(peers, self.sharing, self.featured, now, speaker)
        self.allocator.step(peers, self.visible, focus, now)

    def set_spaces(self, spaces: dict[str, str]) -> None:
        """Mirror the meeting's groups: each person gets the media of their own space only."""
        if spaces != self.spaces:
            self.spaces = dict(spaces)
            self.spawn(self._resync())

    def loudest(self, now: float) -> str | None:
        """Who is speaking now, from RTP audio levels (None when nobody is)."""
        best, best_level = None, SPEAKING_LEVEL
        for person_id, peer in self.peers.items():
            level = peer.speaking_level(now)
            if level < best_level:
                best, best_level = person_id, level
        return best

    async def close(self) -> None:
        """Close every connection."""
        if self.allocating is not None:
            self.allocating.cancel()
        for person_id in list(self.peers):
            await self.leave(person_id)


def _nowhere(kind: str, value: dict[str, Any]) -> None:
    """The signal of a held connection: nobody to tell (a resumed one is offered again)."""


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("media task failed: %r", task.exception())


class Sfu:
    """Every meeting's media, keyed by meeting id."""

    def __init__(self, config: MediaConfig) -> None:
        self.config = config
        self.rooms: dict[str, MediaRoom] = {}

    def room(self, meeting_id: str) -> MediaRoom:
        """The media room of a meeting (made on first use)."""
        room = self.rooms.get(meeting_id)
        if room is None:
            room = self.rooms[meeting_id] = MediaRoom(meeting_id, self.config)
        return room

    async def close(self) -> None:
        """Close every connection of every meeting."""
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()
