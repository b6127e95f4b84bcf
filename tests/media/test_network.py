"""The network lab at small scale: one constrained subscriber, one lossy one (issue 14).

Each scenario has three synthetic people, each in its own network namespace behind a veth;
person 1's link is spoiled for 12 s. The tests assert what holds today and must keep holding
(the shaping is real, audio reaches the constrained person, the others are unaffected, the
lab leaves nothing behind). The targets of the per-subscriber allocation are the ``meets_*``
helpers below; the six-person test holds the allocation to the constrained one.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from facilitator.bench import netlab, netmetrics
from facilitator.bench.netscenarios import Outcome, Phase, Scenario, run, table

WINDOW = 12.0


@pytest.fixture(autouse=True)
def lab_tools() -> None:
    """The lab needs root, tc and iptables (``make test`` runs as root and installs them)."""
    reason = netlab.unavailable()
    if reason:
        pytest.skip(reason)


def during(outcome: Outcome) -> Phase:
    """The window with the bad link."""
    return next(p for p in outcome.phases if p.name == "during")


def streams(phase: Phase, person: str, kind: str) -> dict[str, dict[str, Any]]:
    """One subscriber's received streams of a kind, by publisher."""
    window = phase.subscribers[person]["streams"]
    return {key.split("/")[0]: w for key, w in window.items() if key.endswith(f"/{kind}")}


def sent(phase: Phase, person: str, kind: str) -> int:
    """Frames a person published in the phase."""
    return int(phase.subscribers[person]["sent"][kind]["frames"])


def server_log(outcome: Outcome, last: int | None = None) -> str:
    """The server's allocation log for the person with the bad link, for a failure message."""
    lines = outcome.trace if last is None else outcome.trace[-last:]
    return "server log:\n" + "\n".join(line.split(": allocation ")[-1] for line in lines)


def assert_lab_removed() -> None:
    """No lab veth, rule or namespace holder is left in this namespace."""
    assert netlab.leftover_links() == []
    assert netlab.leftover_rules() == []
    assert [name for _, name in socket.if_nameindex()] == ["lo"]


def assert_others_unaffected(outcome: Outcome) -> None:
    """Everyone but person 1 keeps receiving every video and audio stream, at a steady rate."""
    phase = during(outcome)
    for person in phase.subscribers:
        if person == outcome.bad:
            continue
        videos = streams(phase, person, "video")
        assert len(videos) == len(phase.subscribers) - 1, phase.subscribers[person]
        for publisher, window in videos.items():
            assert window["frames"] / window["seconds"] >= 10, (person, publisher, window)
        for publisher, window in streams(phase, person, "audio").items():
            expected = sent(phase, publisher, "audio")
            assert window["frames"] >= 0.8 * expected, (person, publisher, window, expected)


def test_a_constrained_subscriber() -> None:
    # Publishers that cannot adapt: ~550 kbit/s of video each, whatever the server estimates.
    scenario = Scenario(
        "test-down-600", people=3, duration=WINDOW, baseline=2, down_kbit=600,
        adapt=False, others_adapt=False,
    )  # fmt: skip
    outcome = run(scenario, progress=False)
    assert_lab_removed()
    assert outcome.connected
    phase = during(outcome)
    mine = phase.subscribers[outcome.bad]
    # The cap is real: at most 600 kbit/s arrive, and the server no longer offers more than
    # fits: two ~550 kbit/s videos that cannot adapt do not fit with the audio, so they are
    # paused (before the allocation it offered both, and the link dropped half of everything).
    # On failure, the server's allocation log for that person says why (estimate, REMB, loss).
    why = f"down {mine['down_kbps']:.0f}, offered {mine['offered_kbps']:.0f} kbit/s; "
    why += server_log(outcome, 40)
    assert 100 < mine["down_kbps"] <= 600 * 1.05, why
    assert mine["offered_kbps"] <= 600, why
    # Audio keeps reaching the constrained person from both others, all of it now.
    audio = streams(phase, outcome.bad, "audio")
    assert len(audio) == 2
    for publisher, window in audio.items():
        assert window["frames"] >= 0.2 * sent(phase, publisher, "audio"), (publisher, window)
        assert window["frames"] >= 0.97 * sent(phase, publisher, "audio"), (publisher, window)
    # The harness measured both videos over the window (frames, bytes and freezes; before the
    # allocation every one had bytes, now neither fits and both are paused, frozen throughout
    # but for the moment before the server learnt the link's limit).
    videos = streams(phase, outcome.bad, "video")
    assert len(videos) == 2
    assert all(w["seconds"] >= 0.9 * WINDOW and w["frozen_s"] > 0 for w in videos.values())
    assert phase.summary["bad_frozen_pct"] >= 0 and phase.summary["others_down_kbps"] > 500
    # The operator's /metrics counts those paused videos (the others get everything).
    assert outcome.server_metrics["paused"] >= 1, (
        outcome.server_metrics
    )  # 2, or 1 while a probe runs
    assert_others_unaffected(outcome)
    assert "test-down-600" in table([outcome])


def test_a_constrained_subscriber_among_six_keeps_all_audio() -> None:
    """Issue 14's first scenario, short: one downlink at 1.5 Mbit/s, five videos that need more.

    Publishers follow the server's REMB (as browsers do), so capping them is exercised too. What
    holds: the server offers no more than the link carries, every audio stream reaches the
    constrained person, and everyone else keeps every video.
    ``meets_constrained_target`` is the benchmark's (docs/performance.md).
    """
    scenario = Scenario("test-down-1500", people=6, duration=WINDOW, baseline=3, down_kbit=1500)
    outcome = run(scenario, progress=False)
    assert_lab_removed()
    assert outcome.connected
    phase = during(outcome)
    mine = phase.subscribers[outcome.bad]
    why = server_log(outcome)
    assert mine["offered_kbps"] <= 1500, (mine, why)
    audio = streams(phase, outcome.bad, "audio")
    assert len(audio) == 5
    for publisher, window in audio.items():
        # The window begins with the cut: until the server hears of it (half a second or
        # more) the link drops a third of everything, audio too, up to 3% of 12 s; a server
        # that did not shed video would lose half of it (the benchmark's target: < 1% in 90 s).
        share = window["frames"] / sent(phase, publisher, "audio")
        assert share >= 0.95, (publisher, window, why)
    # Not every video runs at full rate for that person: some are paused. (The speaker's
    # frame rate is the benchmark's: 12 s that begin with the cut are too short for it.)
    rates = sorted(
        w["frames"] / w["seconds"] for w in streams(phase, outcome.bad, "video").values()
    )
    assert len(rates) == 5 and rates[0] < 20, rates
    # The others keep every video (before the probe, a loss burst could pause theirs for good).
    for person in phase.subscribers:
        if person != outcome.bad:
            videos = streams(phase, person, "video")
            assert len(videos) == 5 and all(w["frames"] > 0 for w in videos.values()), person


def test_a_lossy_subscriber() -> None:
    scenario = Scenario(
        "test-loss-5", people=3, duration=WINDOW, baseline=2, down_loss=0.05,
        adapt=False, others_adapt=False,
    )  # fmt: skip
    outcome = run(scenario, progress=False)
    assert_lab_removed()
    assert outcome.connected
    phase = during(outcome)
    # The loss is real (5% of ~600 audio packets each) and nothing else is lost on the way.
    losses = [
        netmetrics.loss(w["frames"], sent(phase, publisher, "audio"))
        for publisher, w in streams(phase, outcome.bad, "audio").items()
    ]
    assert len(losses) == 2
    assert 0.01 < sum(losses) / 2 < 0.15, losses
    # The operator's /metrics shows that subscriber's loss, and none on the way in.
    assert 0.01 < outcome.server_metrics["down/max"] < 0.2, outcome.server_metrics
    assert outcome.server_metrics["up/max"] < 0.01, outcome.server_metrics
    # Video keeps arriving (retransmissions and keyframes repair most of it).
    for window in streams(phase, outcome.bad, "video").values():
        assert window["frames"] > 0.3 * 30 * window["seconds"], window
    assert_others_unaffected(outcome)


# The targets of issue 14's allocation, for the next helper to call (they fail today).


def meets_constrained_target(outcome: Outcome) -> None:
    """A constrained subscriber gets every audio stream with < 1% loss and the speaker's video
    at >= 20 fps, < 2% of the time frozen (the rest paused or thinned); the others see no change.
    """
    phase = during(outcome)
    assert phase.summary["bad_audio_loss_pct"] < 1
    best = max(streams(phase, outcome.bad, "video").values(), key=lambda w: w["frames"])
    assert best["frames"] / best["seconds"] >= 20
    assert best["frozen_s"] / best["seconds"] < 0.02
    assert phase.summary["others_frozen_max_pct"] < 1
    baseline = next(p for p in outcome.phases if p.name == "baseline")
    assert phase.summary["others_down_kbps"] <= 1.1 * baseline.summary["others_down_kbps"]


def meets_lossy_target(outcome: Outcome) -> None:
    """With 5% loss on one person: the others see that person's video frozen < 2% of the time
    with under 2 keyframes a minute; that person sees the others frozen < 3%."""
    summary = during(outcome).summary
    assert summary["seen_bad_frozen_max_pct"] < 2
    assert max(int(x) for x in str(summary["others_kf_min"]).split("-")) < 2
    assert summary["bad_frozen_max_pct"] < 3


def meets_recovery_target(outcome: Outcome, within: float = 3.0) -> None:
    """After the link is good again, audio and video return within ``within`` seconds."""
    after = next(p for p in outcome.phases if p.name == "after")
    assert after.summary["bad_recovery_s"] is not None
    assert after.summary["bad_recovery_s"] <= within
    assert after.summary["seen_bad_recovery_s"] is not None
    assert after.summary["seen_bad_recovery_s"] <= within


def test_freezes_follow_chromiums_definition() -> None:
    """A 1 s hole in a 30 fps stream is one freeze of ~1 s; a stream that never came is frozen."""
    steady = [(i / 30, 1000, i % 30 == 0) for i in range(300)]
    window = netmetrics.window(steady, 2.0, 8.0, video=True)
    assert window.frames == 180 and window.frozen_s == 0 and window.keyframes_per_min == 60
    holed = [a for a in steady if not 4 <= a[0] < 5]
    window = netmetrics.window(holed, 2.0, 8.0, video=True)
    assert window.freezes == 1 and 1.0 <= window.frozen_s <= 1.05 and not window.usable
    assert netmetrics.window([], 0.0, 5.0, video=True).frozen_share == 1.0
    # Recovery: the stream runs 2 s without a freeze from the first frame after the hole.
    assert netmetrics.recovery(holed, 3.0, 10.0) == pytest.approx(2.0, abs=0.05)
    assert netmetrics.recovery(steady[:90], 0.0, 10.0) == 0.0
    assert netmetrics.recovery(steady[:30], 0.0, 10.0) is None
