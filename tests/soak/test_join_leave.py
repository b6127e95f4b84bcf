"""A thousand people join and leave a call: memory, tasks and descriptors come back."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from urllib.request import urlopen

import pytest

from facilitator.bench.bot import Bot
from facilitator.bench.samples import SampleMedia

from ..integration.harness import ServerProcess
from ..media.test_sfu import until

CYCLES = int(os.environ.get("SOAK_CYCLES", "1000"))


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match
    return int(match.group(1)) / 1024


@pytest.mark.soak
async def test_join_and_leave_a_thousand_times(
    own_media_server: ServerProcess, samples: SampleMedia
) -> None:
    def stats() -> dict[str, int]:
        with urlopen(f"{own_media_server.base}/api/stats") as response:
            data: dict[str, int] = json.loads(response.read())
            return data

    assert own_media_server.proc is not None
    stay = [Bot(own_media_server.participant, f"Stay {i}", samples) for i in range(2)]
    for bot in stay:
        await bot.join()
    await until(
        lambda: all(
            b.frames_from(o.person_id or "", "video") > 0 for b in stay for o in stay if o is not b
        )
    )
    # Warm up (first connections allocate caches), then take the baseline.
    for i in range(20):
        churn = Bot(own_media_server.participant, f"Warm {i}", samples)
        await churn.join()
        await churn.leave()
    await asyncio.sleep(2)
    base_rss, base = rss_mb(own_media_server.proc.pid), stats()
    for i in range(CYCLES):
        churn = Bot(own_media_server.participant, f"Churn {i}", samples)
        await churn.join()
        if i % 10 == 0:  # every tenth one really connects and sends before leaving
            await asyncio.wait_for(churn.connected.wait(), 10)
        await churn.leave()
    await asyncio.sleep(3)
    after_rss, after = rss_mb(own_media_server.proc.pid), stats()
    print(
        f"RSS {base_rss:.1f} -> {after_rss:.1f} MB; tasks {base['tasks']} -> {after['tasks']}; "
        f"fds {base['fds']} -> {after['fds']}"
    )
    assert after_rss - base_rss < 50
    assert after["tasks"] <= base["tasks"] + 3
    assert after["fds"] <= base["fds"] + 3
    assert after["peers"] == 2
    for bot in stay:
        await bot.leave()
