"""The load test itself, at small scale: it produces a complete, sensible result."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from facilitator.bench import loadtest
from facilitator.bench.bot import STAMP, STAMP_SIZE
from facilitator.bench.light import (
    LightTrack,
    check_internals,
    payload_bounds,
    sdp_media,
    vp8_chunks,
    vp8_descriptor_size,
)


def test_two_participants_for_three_seconds(tmp_path: Path) -> None:
    result = loadtest.run_scenario(
        2, 3.0, video_kbps=200, workers=1, progress=False, generator="aiortc"
    )
    assert result.connected
    assert result.mode == "forward" and result.participants == 2
    assert result.generator == "aiortc"
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


def test_light_generator_two_participants() -> None:
    """Pre-built RTP packets through facilitator: frames flow both ways and counters move."""
    result = loadtest.run_scenario(2, 2.5, video_kbps=200, progress=False, generator="light")
    assert result.connected
    assert result.generator == "light" and result.mode == "forward"
    assert result.loss_pct_max < 5  # frames flow (a loaded machine may drop the odd one)
    assert result.frames_per_s > 40  # two people: about 2 x (30 video + 50 audio) a second
    assert result.packets_received_per_s is not None and result.packets_received_per_s > 0
    # What the participants counted is what the server says it sent (give or take the edges).
    assert result.packets_received_per_s == pytest.approx(result.packets_per_s, rel=0.1)
    assert result.delay_ms_p50 is not None and result.delay_ms_p50 >= 0
    assert result.cpu_us_per_received_packet is not None
    assert result.join_keyframe_ms_max is not None
    assert "light" in loadtest.table([result])


def test_two_meetings_on_two_workers() -> None:
    """--meetings 2 --server-workers 2: each meeting on its own worker, both measured."""
    from facilitator.bench.meetings import run_meetings

    results, extra = run_meetings(2, 2, 2.5, workers=2, video_kbps=200, progress=False)
    assert len(results) == 2 and all(r.connected for r in results)
    assert sorted(extra["meetings"]["owners"]) == [0, 1]
    for result in results:
        assert result.participants == 2 and result.frames_per_s > 40
        assert result.loss_pct_max < 5
        assert result.server_cpu_pct is not None and result.server_cpu_pct > 0
    assert extra["meetings"]["worst_loss_pct"] == max(r.loss_pct_max for r in results)
    assert extra["meetings"]["cpu_us_per_received_packet"] is not None


def test_light_internals_are_where_the_generator_expects() -> None:
    check_internals()


def test_light_packets_keep_the_stamp_in_the_last_packet() -> None:
    frame = bytes(range(256)) * 12  # 3072 bytes: three packets
    track = LightTrack("video", (frame,), 30)
    track.build(0x1234, 96, {"urn:ietf:params:rtp-hdrext:sdes:mid": 1})
    plans = track.plans[0]
    assert [plan.marker for plan in plans] == [False, False, True]
    first, last = bytes(plans[0].buffer), bytes(plans[-1].buffer)
    assert struct.unpack("!I", first[8:12])[0] == 0x1234 and first[1] & 0x7F == 96
    at, end = payload_bounds(first)
    assert first[at] & 0x10  # S bit on the first packet only
    assert not bytes(plans[1].buffer)[payload_bounds(bytes(plans[1].buffer))[0]] & 0x10
    assert vp8_descriptor_size(first, at) == 4
    at, end = payload_bounds(last)
    assert last[end - STAMP_SIZE : end - 8] == STAMP
    data = b"".join(bytes(p.buffer)[payload_bounds(bytes(p.buffer))[0] + 4 :] for p in plans)
    assert data[: len(frame)] == frame
    assert all(len(chunk) <= 1200 for chunk in vp8_chunks(frame + STAMP + bytes(8)))


def test_sdp_media_separates_rtx_ssrcs() -> None:
    sdp = (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ssrc:11 cname:x\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:1\r\na=rtpmap:97 rtx/90000\r\n"
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
        "a=ssrc-group:FID 22 23\r\na=ssrc:22 cname:x\r\na=ssrc:23 cname:x\r\n"
    )
    audio, video = sdp_media(sdp)
    assert (audio.mid, audio.ssrcs) == ("0", {11})
    assert (video.mid, video.ssrcs, video.rtx) == ("1", {22}, {23})
    assert video.rtx_types == {97} and video.mid_id == 4


def test_janus_comparison_without_janus_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from facilitator import cli
    from facilitator.bench import janus

    monkeypatch.setattr(janus, "JANUS", tmp_path / "no-janus")
    assert cli.main(["loadtest", "--janus"]) == 2
    assert "apt-get install janus" in capsys.readouterr().err
