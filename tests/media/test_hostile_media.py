"""Hostile input during a call: junk datagrams, mangled answers and hostile RTP/RTCP from an
admitted participant change nothing for the others and cost the server little."""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import re
import socket
import struct
from typing import Any

from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from facilitator.bench.bot import Bot
from facilitator.bench.procstat import cpu_seconds
from facilitator.bench.samples import SampleMedia
from facilitator.media.aiortc_seams import forwarding_buffer

from ..integration.harness import ServerProcess, SharedMeeting
from .test_sfu import until


def server_ports(bot: Bot) -> set[int]:
    """The server's media ports, from the candidates in its offer."""
    return {int(p) for p in re.findall(r"127\.0\.0\.1 (\d+) typ host", bot.last_offer)}


async def test_junk_datagrams_do_not_break_a_call(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    bots = [Bot(media_server.participant, f"Bot {i}", samples) for i in range(3)]
    try:
        for bot in bots:
            await bot.join()
        ids = [b.person_id or "" for b in bots]

        def counts() -> list[int]:
            return [
                b.frames_from(other, kind)
                for b in bots
                for other in ids
                if other != b.person_id
                for kind in ("audio", "video")
            ]

        await until(lambda: min(counts()) > 10, 20, "media flowing")
        ports = set().union(*(server_ports(b) for b in bots))
        assert ports
        rng = random.Random(7)
        junk = [b"", b"\x00", b"\x80", b"\x16", b"\x17\xfe\xfd", os.urandom(1400)]
        junk += [rng.randbytes(rng.randint(1, 1200)) for _ in range(200)]
        first_bytes = [20, 23, 128, 144, 200]  # DTLS, RTP and RTCP lookalikes
        junk += [bytes([rng.choice(first_bytes)]) + rng.randbytes(40) for _ in range(100)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            for port in ports:
                for datagram in junk:
                    stranger.sendto(datagram, ("127.0.0.1", port))
        before = counts()
        await asyncio.sleep(1.5)
        after = counts()
        assert all(b.pc is not None and b.pc.connectionState == "connected" for b in bots)
        assert all(a > b + 15 for a, b in zip(after, before, strict=True)), (before, after)
    finally:
        for bot in bots:
            await bot.leave()


def mutations(answer: str, rng: random.Random) -> list[object]:
    """Broken, hostile and oversized answers made from a real one."""
    lines = answer.split("\r\n")
    media = [i for i, line in enumerate(lines) if line.startswith("m=")]
    cases: list[object] = [
        "",
        "v=0",
        "not an sdp at all",
        answer[: len(answer) // 2],
        answer + "a=" + "x" * (61_000 - len(answer)),  # over the cap, under 64 KB
        answer.replace("a=fingerprint:sha-256", "a=fingerprint:sha-1"),
        answer.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"),
        "\r\n".join(line for line in lines if not line.startswith("a=ice-ufrag")),
        "\r\n".join(lines + lines[media[0] : media[1]] * 20),  # many more media sections
        answer.replace("VP8/90000", "H264/90000"),
        answer.replace("opus/48000/2", "PCMU/8000"),
        answer.replace("a=sendonly", "a=sendrecv").replace("a=recvonly", "a=sendrecv"),
        12345,
        None,
        ["v=0"],
    ]
    while len(cases) < 1000:
        data = bytearray(answer.encode())
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(32, 127)
        if rng.random() < 0.3:
            cut = rng.randrange(len(data))
            data = data[:cut] + data[cut + rng.randint(1, 200) :]
        cases.append(data.decode("ascii", "replace"))
    return cases


async def test_a_thousand_mangled_answers_are_refused_and_leak_nothing(
    own_media_server: ServerProcess, samples: SampleMedia
) -> None:
    import json
    from urllib.request import urlopen

    from ..integration.harness import Peer

    def stats() -> dict[str, int]:
        url = f"{own_media_server.base}/api/stats"
        with urlopen(url) as response:
            data: dict[str, int] = json.loads(response.read())
            return data

    # A real answer to mangle, from a real aiortc client.
    bot = Bot(own_media_server.participant, "Real", samples)
    await bot.join()
    await until(lambda: bot.pc is not None and bot.pc.localDescription is not None)
    assert bot.pc is not None
    real = bot.pc.localDescription.sdp
    await bot.leave()
    await asyncio.sleep(1.0)
    baseline = stats()

    async def ask(peer: Peer, kind: str, value: object = None) -> dict[str, object]:
        reply = await peer.request(kind, value)
        while reply.get("error") == "rate-limited":  # the server's limit holds: slow down
            await asyncio.sleep(0.2)
            reply = await peer.request(kind, value)
        return reply

    async def attack(peer: Peer, cases: list[object]) -> int:
        """Answer every offer with a mangled answer; return how many were refused."""
        refused = 0
        await peer.join()
        seen = 0

        async def next_offer() -> None:
            nonlocal seen
            await peer.wait_for("offer", after=seen, timeout=15)
            seen = len(peer.messages)

        assert (await ask(peer, "media-start"))["type"] == "ok"
        await next_offer()
        for answer in cases:
            reply = await ask(peer, "answer", {"sdp": answer})
            if reply["type"] == "ok":  # accepted (it never connects): start again
                assert (await ask(peer, "media-start"))["type"] == "ok"
            else:
                refused += 1
                assert reply["error"] == "bad-sdp", reply
            await next_offer()  # a refused answer gets a fresh connection and offer
        assert (await ask(peer, "media-stop"))["type"] == "ok"
        return refused

    cases = mutations(real, random.Random(1))
    # Ten connections share the thousand answers (each has its own rate limit).
    mallories = [Peer(own_media_server.participant, f"Mallory {i}") for i in range(10)]
    try:
        refused = await asyncio.gather(
            *(attack(peer, cases[i::10]) for i, peer in enumerate(mallories))
        )
        assert sum(refused) > 900
    finally:
        for peer in mallories:
            await peer.close()
    await asyncio.sleep(2.0)
    after = stats()
    assert after["peers"] == 0
    assert after["tasks"] <= baseline["tasks"] + 3, (baseline, after)
    assert after["fds"] <= baseline["fds"] + 3, (baseline, after)
    assert "Traceback" not in own_media_server.log()


# An admitted participant's own connection, used against the server: the attacks below send
# hostile RTP and RTCP through the attacker's real DTLS-SRTP transport (the server accepts it).


def transport_of(bot: Bot) -> Any:
    """The attacker's DTLS transport (max-bundle: one for every m-line)."""
    assert bot.pc is not None
    return bot.pc.getTransceivers()[0].sender.transport


def received_bytes(bot: Bot) -> int:
    """Bytes that reached the bot's transport so far."""
    stats = transport_of(bot)._get_stats()
    return sum(int(s.bytesReceived) for s in stats.values() if s.type == "transport")


def incoming(bot: Bot, person: str, kind: str) -> Any:
    """The transceiver carrying ``person``'s ``kind`` to ``bot``."""
    assert bot.pc is not None
    for transceiver in bot.pc.getTransceivers():
        info = bot.tracks.get(transceiver.mid or "")
        if info and info["person"] == person and info["kind"] == kind and not info["own"]:
            return transceiver
    raise AssertionError(f"no {kind} from {person}")


def own(bot: Bot, kind: str) -> Any:
    """The transceiver carrying the bot's own ``kind`` to the server."""
    assert bot.pc is not None
    for transceiver in bot.pc.getTransceivers():
        info = bot.tracks.get(transceiver.mid or "")
        if info and info["own"] and info["kind"] == kind:
            return transceiver
    raise AssertionError(f"no own {kind}")


def vp8_payload_type(bot: Bot) -> int:
    """The payload type the bot's answer gives VP8."""
    assert bot.pc is not None
    found = re.search(r"a=rtpmap:(\d+) VP8/90000", bot.pc.localDescription.sdp)
    assert found
    return int(found.group(1))


async def three_in_a_call(own_media_server: ServerProcess, samples: SampleMedia) -> list[Bot]:
    """Attacker, publisher and honest subscriber, with media flowing both ways."""
    bots = [Bot(own_media_server.participant, name, samples) for name in ("Mallory", "Pat", "Hal")]
    for bot in bots:
        await bot.join()
    ids = [b.person_id or "" for b in bots]
    await until(
        lambda: all(b.frames_from(o, "video") > 10 for b in bots for o in ids if o != b.person_id),
        20,
        "video flowing",
    )
    return bots


def nack(media_ssrc: int, pid: int, entries: int) -> bytes:
    """A generic NACK (RFC 4585) that lists pid..pid+16 ``entries`` times over."""
    fci = struct.pack("!HH", pid % 65536, 0xFFFF) * entries
    payload = struct.pack("!LL", 0x4D414C4C, media_ssrc) + fci
    return struct.pack("!BBH", 0x81, 205, len(payload) // 4) + payload


async def test_a_nack_flood_gets_a_bounded_number_of_retransmissions(
    own_media_server: ServerProcess, samples: SampleMedia
) -> None:
    mallory, pat, hal = bots = await three_in_a_call(own_media_server, samples)
    try:
        assert pat.person_id is not None
        buffer = forwarding_buffer(incoming(mallory, pat.person_id, "video").receiver)
        assert buffer is not None and buffer.ssrc is not None
        transport = transport_of(mallory)
        start = (
            received_bytes(mallory),
            received_bytes(hal),
            hal.frames_from(pat.person_id, "video"),
        )
        # 20 NACKs a second for 3 s (190 kbit/s), each naming the same 17 recent packets 290
        # times: aiortc alone retransmits every one of them, about 100,000 packets a second.
        for _ in range(60):
            assert buffer.next_seq is not None
            await transport._send_rtp(nack(buffer.ssrc, buffer.next_seq - 40, 290))
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        extra = (received_bytes(mallory) - start[0]) - (received_bytes(hal) - start[1])
        # The limits allow at most a few hundred retransmissions here (about 0.3 MB).
        assert extra < 3_000_000, f"{extra} bytes of retransmissions"
        assert hal.frames_from(pat.person_id, "video") - start[2] > 30  # about 120 due
        assert mallory.pc is not None and mallory.pc.connectionState == "connected"
    finally:
        for bot in bots:
            await bot.leave()


async def test_jumping_sequence_numbers_cost_the_server_little(
    own_media_server: ServerProcess, samples: SampleMedia
) -> None:
    mallory, pat, hal = bots = await three_in_a_call(own_media_server, samples)
    try:
        assert own_media_server.proc is not None and mallory.person_id is not None
        pid = own_media_server.proc.pid
        transport = transport_of(mallory)
        payload_type = vp8_payload_type(mallory)
        ssrc = own(mallory, "video").sender._ssrc ^ 0x5A5A  # a stream of its own
        # Mallory's real video pauses, so its sequence numbers never interleave with the jumps.
        assert mallory.video is not None
        mallory.video.pause(True)

        async def window(attack: bool) -> tuple[float, int]:
            """Server CPU seconds and frames Hal got from Pat over 5 s (+1 s to catch up)."""
            cpu, frames = cpu_seconds(pid), hal.frames_from(pat.person_id or "", "video")
            seq = 0
            for i in range(250):  # 50 a second (13 kbit/s)
                if attack:
                    seq = (seq + 30_000) % 65536  # always "ahead": 30,000 packets missing
                    packet = RtpPacket(payload_type, sequence_number=seq, timestamp=i * 3000)
                    packet.ssrc = ssrc
                    packet.payload = b"\x10" + bytes(20)
                    await transport._send_rtp(packet.serialize(HeaderExtensionsMap()))
                await asyncio.sleep(0.02)
            await asyncio.sleep(1.0)
            return cpu_seconds(pid) - cpu, hal.frames_from(pat.person_id or "", "video") - frames

        calm, calm_frames = await window(attack=False)
        attacked, attacked_frames = await window(attack=True)
        # aiortc alone spends 10-18 ms on each packet here (2.5-4.5 s of CPU in all).
        assert attacked < calm + 0.8, (calm, attacked)
        assert attacked_frames > 50, (calm_frames, attacked_frames)  # about 180 due
        assert mallory.pc is not None and mallory.pc.connectionState == "connected"
    finally:
        for bot in bots:
            await bot.leave()


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (from /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_thousands_of_unknown_ssrcs_make_no_per_ssrc_state(
    own_media_server: ServerProcess, samples: SampleMedia
) -> None:
    mallory, pat, hal = bots = await three_in_a_call(own_media_server, samples)
    try:
        assert own_media_server.proc is not None
        pid = own_media_server.proc.pid
        transport = transport_of(mallory)
        sender = own(mallory, "video").sender
        payload_type = vp8_payload_type(mallory)
        rng = random.Random(3)
        memory = rss_mb(pid)
        for i in range(20_000):  # 20,000 SSRCs, 10,000 packets a second
            packet = RtpPacket(payload_type, sequence_number=i % 65536, timestamp=i * 3000)
            packet.ssrc = rng.getrandbits(32)
            packet.payload = b"\x10" + bytes(20)
            await transport._send_rtp(packet.serialize(HeaderExtensionsMap()))
            if i % 50 == 0:
                await asyncio.sleep(0.005)
        await asyncio.sleep(2.0)
        flood_over = datetime.datetime.now(datetime.UTC)
        # Each SSRC costs aiortc statistics and libsrtp a stream: 8 MB and more for these.
        grown = rss_mb(pid) - memory
        assert grown < 4.0, f"server memory grew {grown:.1f} MB"

        async def reported_since() -> bool:
            """The server has sent a receiver report on Mallory's video since the flood."""
            stats = await sender.getStats()
            return any(
                s.type == "remote-inbound-rtp" and s.timestamp > flood_over for s in stats.values()
            )

        # Receiver reports keep coming: aiortc alone keeps statistics for every SSRC it sees,
        # and its report task dies once it has more than 255 to report on.
        deadline = asyncio.get_running_loop().time() + 8
        while not await reported_since():
            assert asyncio.get_running_loop().time() < deadline, "no receiver report since"
            await asyncio.sleep(0.2)
        before = hal.frames_from(pat.person_id or "", "video")
        await asyncio.sleep(1.0)
        assert hal.frames_from(pat.person_id or "", "video") > before + 10
        assert "Traceback" not in own_media_server.log()
    finally:
        for bot in bots:
            await bot.leave()
