"""Hostile network input during a call: junk datagrams and mangled answers change nothing."""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket

from facilitator.bench.bot import Bot
from facilitator.bench.samples import SampleMedia

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
