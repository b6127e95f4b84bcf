"""Media attacks for the attack benchmark (``bench.attacks``): hostile RTP and RTCP from an
admitted participant of the attacker's own call (aiortc bots: attacker, publisher, subscriber).

The attacker sends through its own DTLS-SRTP transport, which the server accepts; its signalling
and media come from 127.0.0.1, the only address the server offers media on.
"""

from __future__ import annotations

import asyncio
import re
import struct
import time
from collections import Counter
from typing import Any

from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from ..media.aiortc_seams import forwarding_buffer, restrict_host_addresses
from .bot import Bot
from .hostile_http import AttackContext, Counts
from .loadtest import CACHE
from .samples import cached_samples


def send_rtp(bot: Bot, data: bytes) -> Any:
    """Send raw RTP or RTCP through the bot's bundled transport (an aiortc internal, bench only)."""
    assert bot.pc is not None
    transport = bot.pc.getTransceivers()[0].sender.transport
    return transport._send_rtp(data)


def received_bytes(bot: Bot) -> int:
    """Bytes that reached the bot's transport so far."""
    assert bot.pc is not None
    transport = bot.pc.getTransceivers()[0].sender.transport
    stats = transport._get_stats()
    return sum(int(s.bytesReceived) for s in stats.values() if s.type == "transport")


def transceiver(bot: Bot, person: str | None, kind: str) -> Any:
    """The transceiver carrying ``person``'s ``kind`` to ``bot`` (None: the bot's own)."""
    assert bot.pc is not None
    for candidate in bot.pc.getTransceivers():
        info = bot.tracks.get(candidate.mid or "")
        if info is None or info["kind"] != kind or info["own"] != (person is None):
            continue
        if person is None or info["person"] == person:
            return candidate
    raise RuntimeError(f"no {kind} from {person or 'itself'}")


async def call_of_three(ctx: AttackContext) -> list[Bot]:
    """Mallory (the attacker), Pat and Hal in a call, with video flowing between all three."""
    restrict_host_addresses(["127.0.0.1"])
    samples = cached_samples(CACHE, width=320, height=240, frames=30, kbps=300)
    bots = [Bot(ctx.participant, name, samples) for name in ("Mallory", "Pat", "Hal")]
    for bot in bots:
        await bot.join()
    ids = [b.person_id or "" for b in bots]
    deadline = time.monotonic() + 30
    while not all(b.frames_from(o, "video") > 10 for b in bots for o in ids if o != b.person_id):
        if time.monotonic() > deadline:
            raise RuntimeError("video did not flow between the three bots")
        await asyncio.sleep(0.2)
    return bots


def nack(media_ssrc: int, pid: int, entries: int) -> bytes:
    """A generic NACK (RFC 4585) that lists pid..pid+16 ``entries`` times over."""
    fci = struct.pack("!HH", pid % 65536, 0xFFFF) * entries
    payload = struct.pack("!LL", 0x4D414C4C, media_ssrc) + fci
    return struct.pack("!BBH", 0x81, 205, len(payload) // 4) + payload


async def nack_flood(ctx: AttackContext, per_second: int = 20) -> Counts:
    """``per_second`` small NACKs, each naming the same 17 recent packets 290 times."""
    counts: Counts = Counter()
    mallory, pat, hal = bots = await call_of_three(ctx)
    try:
        buffer = forwarding_buffer(transceiver(mallory, pat.person_id, "video").receiver)
        assert buffer is not None and buffer.ssrc is not None
        frames = hal.frames_from(pat.person_id or "", "video")
        start = received_bytes(mallory), received_bytes(hal), frames
        ctx.start()
        while ctx.running():
            if buffer.next_seq is not None:
                await send_rtp(mallory, nack(buffer.ssrc, buffer.next_seq - 40, 290))
                counts["NACKs sent"] += 1
            await asyncio.sleep(1 / per_second)
        extra = (received_bytes(mallory) - start[0]) - (received_bytes(hal) - start[1])
        counts["extra KB to the attacker"] = max(0, extra) // 1024
        counts["video frames Hal got"] = hal.frames_from(pat.person_id or "", "video") - start[2]
    finally:
        for bot in bots:
            await bot.leave()
    return counts


async def sequence_jumps(ctx: AttackContext, per_second: int = 50) -> Counts:
    """``per_second`` RTP packets whose sequence numbers jump 30,000 ahead each time."""
    counts: Counts = Counter()
    mallory, pat, hal = bots = await call_of_three(ctx)
    try:
        assert mallory.pc is not None and mallory.video is not None
        found = re.search(r"a=rtpmap:(\d+) VP8/90000", mallory.pc.localDescription.sdp)
        assert found
        payload_type = int(found.group(1))
        ssrc = transceiver(mallory, None, "video").sender._ssrc ^ 0x5A5A  # a stream of its own
        mallory.video.pause(True)  # its real video never interleaves with the jumps
        frames = hal.frames_from(pat.person_id or "", "video")
        ctx.start()
        seq = i = 0
        while ctx.running():
            seq, i = (seq + 30_000) % 65536, i + 1
            packet = RtpPacket(payload_type, sequence_number=seq, timestamp=i * 3000)
            packet.ssrc = ssrc
            packet.payload = b"\x10" + bytes(20)
            await send_rtp(mallory, packet.serialize(HeaderExtensionsMap()))
            counts["packets sent"] += 1
            await asyncio.sleep(1 / per_second)
        counts["video frames Hal got"] = hal.frames_from(pat.person_id or "", "video") - frames
        counts["attacker still connected"] = int(mallory.pc.connectionState == "connected")
    finally:
        for bot in bots:
            await bot.leave()
    return counts
