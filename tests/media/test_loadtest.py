"""The load test itself, at small scale: it produces a complete, sensible result."""

from __future__ import annotations

import json
from pathlib import Path

from facilitator.bench import loadtest


def test_two_participants_for_three_seconds(tmp_path: Path) -> None:
    result = loadtest.run_scenario(2, 3.0, video_kbps=200, workers=1, progress=False)
    assert result.connected
    assert result.mode == "forward" and result.participants == 2
    assert result.packets_per_s > 0 and result.frames_per_s > 0
    assert result.loss_pct_max == 0.0  # loopback loses nothing
    assert result.delay_ms_p50 is not None and result.delay_ms_p99 is not None
    assert result.delay_ms_p50 >= 0
    assert result.server_cpu_pct is not None and result.server_cpu_pct > 0
    assert result.server_rss_mb is not None and result.server_rss_mb > 10
    assert result.cpu_us_per_packet is not None and result.loop_lag_ms_p99 is not None
    assert result.control_ms_p50 is not None and result.control_ms_p50 > 0
    # The second person joined after the first: they saw a keyframe.
    assert result.join_keyframe_ms_max is not None
    text = loadtest.table([result])
    assert "forward" in text and "delay p99" in text
    path = loadtest.save([result], {"note": "test"}, tmp_path / "out.json")
    saved = json.loads(path.read_text())
    assert saved["results"][0]["participants"] == 2
    assert saved["machine"]["cpus"] >= 1
