"""Media in the operator's view: /metrics counts forwarded packets, and --workers carries media."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest

from facilitator.bench.bot import Bot
from facilitator.bench.samples import SampleMedia
from facilitator.server.forwarded import owner_of

from ..integration.harness import ServerProcess, SharedMeeting, running_server, sample, scrape
from .conftest import MEDIA_FLAGS
from .test_sfu import until

TOKEN = "media-metrics-token"
METRICS = ["--metrics", "--metrics-token", TOKEN]


@pytest.fixture
def metrics_media_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A media server of its own with /metrics."""
    yield from running_server(tmp_path, agenda="", extra=[*MEDIA_FLAGS, *METRICS])


@pytest.fixture
def workers_media_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """Two workers behind a front, media on 127.0.0.1."""
    flags = [*MEDIA_FLAGS, *METRICS, "--workers", "2"]
    yield from running_server(tmp_path, agenda="", extra=flags, start_timeout=90.0)


async def flowing_both_ways(bots: list[Bot], frames: int = 10) -> None:
    """Until each of two bots has received the other's audio and video."""
    a, b = bots

    def flowing() -> bool:
        return all(
            x.frames_from(y.person_id or "", kind) >= frames
            for x, y in ((a, b), (b, a))
            for kind in ("audio", "video")
        )

    await until(flowing, 30, "frames both ways")


async def test_forwarded_packets_and_media_connections_show_in_metrics(
    metrics_media_server: ServerProcess, samples: SampleMedia
) -> None:
    meeting = SharedMeeting.create(metrics_media_server)
    before = scrape(metrics_media_server.base, TOKEN)
    assert sample(before, "facilitator_media_packets_forwarded_total") == 0
    bots = [Bot(meeting.participant, f"Bot {i}", samples) for i in range(2)]
    try:
        for bot in bots:
            await bot.join()
        await until(
            lambda: all(
                b.frames_from(o.person_id or "", "video") > 10
                for b in bots
                for o in bots
                if o is not b
            ),
            30,
            "video",
        )
        during = scrape(metrics_media_server.base, TOKEN)
        assert sample(during, "facilitator_media_connections") == 2
        packets = sample(during, "facilitator_media_packets_forwarded_total")
        sent = sample(during, "facilitator_media_bytes_forwarded_total")
        assert packets > 20 and sent > packets  # RTP payloads are more than a byte each
        assert sample(during, "facilitator_media_frames_forwarded_total") > 20
        # Loopback never holds anything back for the network.
        assert sample(during, "facilitator_media_videos_paused") == 0
        assert sample(during, "facilitator_media_videos_thinned") == 0
        for direction in ("down", "up"):
            assert 0 <= sample(during, "facilitator_media_loss_ratio", direction=direction,
                               stat="mean") <= sample(during, "facilitator_media_loss_ratio",
                               direction=direction, stat="max") < 0.05  # fmt: skip
        await asyncio.sleep(0.5)
        later = scrape(metrics_media_server.base, TOKEN)
        assert sample(later, "facilitator_media_packets_forwarded_total") > packets
    finally:
        for bot in bots:
            await bot.leave()
    gone = scrape(metrics_media_server.base, TOKEN)
    # Totals never go down, although the connections that counted them have closed.
    assert sample(gone, "facilitator_media_packets_forwarded_total") >= packets


async def test_media_through_two_workers(
    workers_media_server: ServerProcess, samples: SampleMedia
) -> None:
    meeting = SharedMeeting.create(workers_media_server)
    while owner_of(meeting.meeting_id, 2) != 1:  # a meeting owned by worker 1
        meeting = SharedMeeting.create(workers_media_server)
    with urlopen(meeting.participant, timeout=10) as response:
        assert response.headers["X-Facilitator-Worker"] == "1"
    bots = [Bot(meeting.participant, f"Bot {i}", samples) for i in range(2)]
    try:
        for bot in bots:
            await bot.join()
        await flowing_both_ways(bots)
        now = scrape(workers_media_server.base, TOKEN)
    finally:
        for bot in bots:
            await bot.leave()
    assert sample(now, "facilitator_media_connections", worker="1") == 2
    assert sample(now, "facilitator_media_connections", worker="0") == 0
    assert sample(now, "facilitator_media_packets_forwarded_total", worker="1") > 20
    assert sample(now, "facilitator_media_packets_forwarded_total", worker="0") == 0
    await asyncio.sleep(1.5)  # read into the totals every second, also after they left
    later = scrape(workers_media_server.base, TOKEN)
    assert sample(later, "facilitator_media_packets_forwarded_total", worker="1") >= sample(
        now, "facilitator_media_packets_forwarded_total", worker="1"
    )
