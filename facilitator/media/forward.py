"""Fan-out of RTP packets: a PacketPublisher per published track, a PacketSubscriber per outlet.

Each packet a publisher sends is parsed once (by aiortc) and looked at once (``Incoming``);
every subscriber then rewrites the header for itself, protects it and sends it at once,
without a coroutine or a frame per packet. Nothing is depacketised, decoded or encoded.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket

from .aiortc_seams import (
    ABS_SEND_TIME,
    AUDIO_LEVEL,
    MID,
    DirectSender,
    SendParameters,
    limit_retransmissions,
    on_keyframe_request,
)
from .limits import RetransmitBudget, RetransmitLimiter
from .packets import (
    History,
    Incoming,
    RtpWriter,
    SentRecord,
    StreamRewriter,
    abs_send_time,
    ntp_time,
)
from .relay import KEYFRAME_RETRY_FRAMES, Frame, Publisher, RelayTrack

LevelSink = Callable[[int], None]
RECENT = 64
"""Video packets a publisher keeps, so a subscriber starting at a keyframe gets all of it."""


FLUSH_SECONDS = 0.25
"""Senders' counters are written at most this often (sender reports go out about every 1 s)."""


class Batch:
    """Clock reads and counter updates shared by every packet of one event-loop iteration.

    The first packet of an iteration reads the clocks; a callback at the start of the next
    iteration forgets them and, every FLUSH_SECONDS, writes the senders' counters (for their
    sender reports: each write keeps a packet's RTP and NTP times together).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.fresh = False
        self.now = 0.0
        self.ntp = 0
        self.abs_send_time = 0
        self.dirty: set[DirectSender] = set()
        self.iteration = 0
        """Counts the iterations ``read`` saw (senders check their connection once in each)."""
        self.flushed_at = float("-inf")
        self.timer: asyncio.TimerHandle | None = None

    def read(self) -> None:
        """Make ``now``, ``ntp`` and ``abs_send_time`` current for this iteration."""
        if self.fresh:
            return
        self.fresh = True
        self.iteration += 1
        self.now = self.clock()
        self.ntp = ntp_time(time.time())
        self.abs_send_time = abs_send_time(self.ntp)
        try:
            asyncio.get_running_loop().call_soon(self.end)
        except RuntimeError:  # no loop (unit tests): every packet reads the clock
            self.fresh = False

    def end(self) -> None:
        """The iteration is over: read the clocks afresh next time; flush counters when due."""
        self.fresh = False
        if self.now - self.flushed_at >= FLUSH_SECONDS:
            self.flush()
        elif self.dirty and self.timer is None:  # in case no packet follows
            self.timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write every sender's counters now."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.flushed_at = self.now
        dirty, self.dirty = self.dirty, set()
        for sender in dirty:
            sender.flush()


class PacketPublisher(Publisher):
    """One person's audio or video as RTP packets, passed to every PacketSubscriber."""

    def __init__(
        self,
        person_id: str,
        kind: str,
        ask_keyframe: Callable[[], None],
        batch: Batch | None = None,
        on_level: LevelSink | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(person_id, kind, ask_keyframe, clock)
        self.batch = batch or Batch(clock)
        self.on_level = on_level
        self.outlets: set[PacketSubscriber] = set()
        self.ssrc: int | None = None
        """The publisher's SSRC, once a packet has arrived."""
        self.packets = 0
        self.octets = 0
        """Payload bytes received (the allocation measures each stream's bitrate from it)."""
        self.keyframes = 0
        """Keyframe packets passed on (the allocation sees that a keyframe went out)."""
        self.held_back = False
        """Packets were held back (mute): subscribers start a new run of sequence numbers."""
        self.recent: deque[Incoming] = deque(maxlen=RECENT)
        """The last video packets, for subscribers that start at a keyframe."""

    def subscribe(self, track: RelayTrack | PacketSubscriber) -> None:
        """A new subscriber (use its ``attach``); video asks for a keyframe at once."""
        if isinstance(track, PacketSubscriber):
            self.outlets.add(track)
            if self.kind == "video":
                self.request_keyframe()
        else:
            super().subscribe(track)

    def on_packet(self, packet: RtpPacket) -> None:
        """One RTP packet from the publisher: pass it to every subscriber."""
        self.ssrc = packet.ssrc
        self.packets += 1
        self.octets += len(packet.payload)
        video = self.kind == "video"
        level = None
        if not video:
            self.frames += 1
            found = packet.extensions.audio_level
            if found is not None:
                level = (0x80 if found[0] else 0) | found[1]
                if self.on_level is not None:
                    self.on_level(found[1])
            if self.muted:
                self.held_back = True
                return
        elif packet.marker:
            self.frames += 1
        if not self.outlets:
            return
        incoming = Incoming(
            packet.sequence_number, packet.timestamp, packet.marker, packet.payload, video, level
        )
        if self.held_back:
            self.held_back = False
            for outlet in self.outlets:
                outlet.rewriter.resync = True
        self.batch.read()
        for outlet in self.outlets:
            if outlet.forward(incoming) and (packet.marker or not video):
                self.forwarded += 1
        if video:
            self.recent.append(incoming)
            if incoming.keyframe:
                self.keyframes += 1


class PacketSubscriber(MediaStreamTrack):
    """One subscriber's outgoing stream: whichever publisher's packets it carries, rewritten.

    It is the sender's track too, one whose ``recv`` never yields a frame, so aiortc's own
    sender loop idles (a sender without a track would poll every 20 ms). It lives as long as
    its transceiver and is re-pointed when people come and go; video (re)starts at a keyframe.
    """

    def __init__(self, kind: str, batch: Batch | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.batch = batch or Batch()
        self.publisher: PacketPublisher | None = None
        self.rewriter = StreamRewriter(kind)
        self.history = History()
        self.sent_record = SentRecord()
        self.writer: RtpWriter | None = None
        self.direct: DirectSender | None = None
        self.parameters: SendParameters | None = None
        self.rtx_seq = self.rewriter.next_seq
        self.ended = asyncio.Event()
        self.sent = 0
        """Packets sent (retransmissions not included)."""
        self.retransmitted = 0
        self.keyframe_gate: Callable[[PacketSubscriber], bool] | None = None
        """Decides whether this subscriber's keyframe request goes on (None: always)."""
        self.keyframes_held = 0
        """Keyframe requests of this subscriber that were not passed on."""

    def bind(self, sender: RTCRtpSender, budget: RetransmitBudget | None = None) -> None:
        """Send through ``sender``, answering its NACKs (within the subscriber's ``budget``)
        and keyframe requests."""
        self.direct = DirectSender(sender)
        self.direct.on_ready = self._ready
        limiter = RetransmitLimiter(history=RTP_HISTORY_SIZE, budget=budget)
        limit_retransmissions(sender, limiter, retransmit=self.retransmit, kept=self.history.has)
        on_keyframe_request(sender, self.keyframe_requested)

    def _ready(self, parameters: SendParameters) -> None:
        self.parameters = parameters
        ids = parameters.extensions
        self.writer = RtpWriter(
            parameters.ssrc,
            parameters.payload_type,
            mid=parameters.mid,
            mid_id=ids.get(MID),
            abs_send_time_id=ids.get(ABS_SEND_TIME),
            audio_level_id=ids.get(AUDIO_LEVEL) if self.kind == "audio" else None,
        )

    def attach(self, publisher: Publisher | None) -> None:
        """Carry ``publisher``'s packets from now on (None: carry nothing)."""
        if self.publisher is not None:
            self.publisher.outlets.discard(self)
        self.publisher = publisher if isinstance(publisher, PacketPublisher) else None
        self.rewriter.repoint()
        if self.publisher is not None:
            self.publisher.subscribe(self)

    def set_paused(self, paused: bool) -> None:
        """Stop or resume this subscriber's stream (video resumes at a keyframe it asks for)."""
        was = self.rewriter.paused
        self.rewriter.set_paused(paused)
        if was and not paused and self.kind == "video" and self.publisher is not None:
            self.publisher.request_keyframe()

    def keyframe_requested(self) -> None:
        """The subscriber's browser lost the picture (PLI/FIR): ask the publisher, coalesced,
        unless the stream is paused for it or its gate (the allocation) holds the request."""
        if self.publisher is None or self.rewriter.paused:
            return
        gate = self.keyframe_gate
        if gate is not None and not gate(self):
            self.keyframes_held += 1
            return
        self.publisher.request_keyframe()

    def forward(self, packet: Incoming) -> bool:
        """Rewrite and send one packet; return whether it went out."""
        writer, direct = self.writer, self.direct
        if writer is None or direct is None or not direct.ready_in(self.batch.iteration):
            return False  # not up yet: a keyframe must not be used up before it can go out
        rewriter = self.rewriter
        skipped, waiting = rewriter.skipped_frames, rewriter.waiting
        if not rewriter.rewrite(packet, self.batch.now):
            publisher, now_skipped = self.publisher, rewriter.skipped_frames
            if publisher and now_skipped != skipped and now_skipped % KEYFRAME_RETRY_FRAMES == 0:
                publisher.request_keyframe()  # the request or its answer was lost
            return False
        batch = self.batch
        data = writer.build(
            rewriter.out_seq,
            rewriter.out_ts,
            packet.marker,
            rewriter.out_payload,
            packet.level,
            batch.abs_send_time,
        )
        if not direct.send(data):
            return False
        self.history.add(rewriter.out_seq, data)
        self.sent_record.add(rewriter.out_seq)
        direct.count(len(rewriter.out_payload), rewriter.out_ts, batch.ntp)
        batch.dirty.add(direct)
        self.sent += 1
        if waiting and self.publisher is not None:
            self._catch_up(packet, self.publisher)
        return True

    def _catch_up(self, start: Incoming, publisher: PacketPublisher) -> None:
        """Starting at a keyframe: send its packets that arrived before its first one, in order."""
        early = [
            p
            for p in publisher.recent
            if p.ts == start.ts and p.seq != start.seq and (p.seq - start.seq) % 65536 < 32768
        ]
        for p in sorted(early, key=lambda p: (p.seq - start.seq) % 65536):
            self.forward(p)

    def retransmit(self, seq: int) -> None:
        """Send packet ``seq`` again (as RTX when negotiated, else as it was), if still kept;
        either way stamped with the time it goes out."""
        data = self.history.get(seq)
        writer = self.writer
        if data is None or self.direct is None or writer is None or not self.direct.ready():
            return
        batch = self.batch
        batch.read()
        parameters = self.parameters
        if parameters is not None and parameters.rtx_payload_type is not None:
            rtx_type, rtx_ssrc = parameters.rtx_payload_type, parameters.rtx_ssrc
            data = writer.rtx(data, self.rtx_seq, rtx_type, rtx_ssrc, batch.abs_send_time)
            self.rtx_seq = (self.rtx_seq + 1) % 65536
        else:
            data = writer.restamp(data, batch.abs_send_time)
        if self.direct.send(data):
            self.retransmitted += 1
            self.batch.dirty.add(self.direct)

    async def recv(self) -> Frame:
        """Never yields a frame: the packets go out without aiortc's sender loop."""
        if self.readyState == "live":
            await self.ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        """The connection is closing: stop for good."""
        if self.readyState == "live":
            self.attach(None)
            super().stop()
            self.ended.set()
