"""The network lab's link-down scenario at small scale (issue 14): three synthetic people in
their own namespaces; person 1's link is cut both ways for a few seconds, long enough for its
WebSocket to be given up, then restored. Its audio and video come back by themselves, both ways,
without anyone asking (the bots join again like a page; the server kept the media connection).
How fast is the benchmark's business (``make bench-network``, scenario ``cut-10``)."""

from __future__ import annotations

from facilitator.bench.netscenarios import Scenario, run

from .test_network import assert_lab_removed, lab_tools, streams

__all__ = ["lab_tools"]


def test_a_link_down_then_back_comes_back_by_itself() -> None:
    scenario = Scenario(
        "test-cut", people=3, duration=6, after=10, baseline=2, cut=True,
        adapt=False, others_adapt=False,
    )  # fmt: skip
    outcome = run(scenario, progress=False)
    assert_lab_removed()
    assert outcome.connected
    during, after = (next(p for p in outcome.phases if p.name == n) for n in ("during", "after"))
    # The cut was real: next to nothing reached the person while it lasted ...
    assert during.summary["bad_frozen_pct"] > 50, during.summary
    # ... and afterwards every stream ran steadily again within the window, both ways.
    assert after.summary["bad_recovery_s"] is not None, (after.summary, after.subscribers)
    assert after.summary["bad_audio_recovery_s"] is not None, after.summary
    assert after.summary["seen_bad_recovery_s"] is not None, after.summary
    for kind in ("audio", "video"):
        mine = streams(after, outcome.bad, kind)
        assert len(mine) == 2 and all(w["frames"] > 0 for w in mine.values()), (kind, mine)
        for person in after.subscribers:
            if person != outcome.bad:
                assert streams(after, person, kind)[outcome.bad]["frames"] > 0, (person, kind)
