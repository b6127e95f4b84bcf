"""Several meetings at once on ``facilitator serve --workers N``: does each hold its quality?

The issue's target: with ``--workers 2`` on 2 cores, two 10-person meetings at once hold under
1% loss. The server runs with N workers behind its front (no pinning: the workers and the load
generator share every core); meetings are created until there is one per worker (a meeting's
worker is a stable function of its id), and each meeting gets its own light load generator
process. Every meeting is measured in the same window; CPU is the front plus all its workers.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from ..server.forwarded import owner_of
from .loadtest import (
    CACHE,
    LOAD_AGENDA,
    Run,
    Server,
    ask_all,
    http_json,
    machine_busy,
    machine_pct,
    say,
    summarise,
    wait_window,
    warm_up,
)
from .report import Result
from .workers import worker

MAX_TRIES = 40
"""Meetings created at most while looking for one per worker."""


def meetings_on_workers(base: str, meetings: int, workers: int) -> list[dict[str, Any]]:
    """Create meetings until ``meetings`` of them live on different workers (when possible)."""
    chosen: dict[int, dict[str, Any]] = {}
    spare: list[dict[str, Any]] = []
    for _ in range(MAX_TRIES):
        if len(chosen) >= min(meetings, workers):
            break
        meeting = http_json(f"{base}/api/meetings", {"yaml": LOAD_AGENDA, "max_people": 100})
        owner = owner_of(meeting["id"], workers)
        if owner in chosen:
            spare.append(meeting)
        else:
            chosen[owner] = meeting
    found = list(chosen.values())
    return (found + spare)[:meetings]


def run_meetings(
    meetings: int = 2,
    participants: int = 10,
    duration: float = 20.0,
    *,
    workers: int = 2,
    video_kbps: int = 500,
    progress: bool = True,
) -> tuple[list[Result], dict[str, Any]]:
    """``meetings`` calls of ``participants`` people at once; one Result per meeting."""
    server = Server(None, transcode=False, workers=workers)
    base = server.start()
    context = multiprocessing.get_context("spawn")
    groups: list[list[Connection]] = []
    procs = []
    try:
        chosen = meetings_on_workers(base, meetings, workers)
        owners = [owner_of(m["id"], workers) for m in chosen]
        for m, meeting in enumerate(chosen):  # one generator process per meeting
            parent, child = context.Pipe()
            names = [f"Meeting {m + 1} person {i + 1}" for i in range(participants)]
            args = (child, meeting["participant_url"], names, video_kbps, "light", CACHE, None)
            proc = context.Process(target=worker, args=args)
            proc.start()
            procs.append(proc)
            groups.append([parent])
        joined: list[dict[str, float]] = [{} for _ in chosen]
        for _ in range(participants):  # the meetings fill up side by side
            for pipes in groups:
                pipes[0].send(("join", None))
            for m, pipes in enumerate(groups):
                reply = pipes[0].recv()
                joined[m][reply["person"]] = reply["joined"]
        connected = [warm_up(pipes, participants, progress) for pipes in groups]
        every = [pipe for pipes in groups for pipe in pipes]
        marks = ask_all(every, "mark")
        cpu0, wall0, busy0 = server.cpu_seconds(), time.monotonic(), machine_busy()
        wait_window(duration, server, participants * len(groups), progress)
        ends = ask_all(every, "end")
        cpu1, wall1, busy1 = server.cpu_seconds(), time.monotonic(), machine_busy()
        rss = server.rss_mb()
        ask_all(every, "leave")
        for proc in procs:
            proc.join(20)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        server.stop()
    say("")
    machine = machine_pct(busy0, busy1)
    run = Run(participants, "forward", "light", False)
    cpu = (cpu0, cpu1, wall0, wall1)
    results = []
    for m in range(len(groups)):
        window = [marks[m]], [ends[m]], joined[m], cpu
        results.append(summarise(run, *window, None, None, rss, connected[m], [], machine))
    cpu_pct = results[0].server_cpu_pct if results else None
    received = sum(r.packets_received_per_s or 0.0 for r in results)
    per_packet = round(cpu_pct * 1e4 / received, 1) if cpu_pct is not None and received else None
    note = f"CPU: the whole server (front and {workers} workers), for all {len(groups)} meetings"
    results = [
        replace(
            r,
            cpu_us_per_packet=per_packet,
            cpu_us_per_received_packet=per_packet,
            notes=[*r.notes, note],
        )
        for r in results
    ]
    extra = {
        "meetings": {
            "workers": workers,
            "meetings": len(groups),
            "participants": participants,
            "owners": owners,
            "worst_loss_pct": max(r.loss_pct_max for r in results),
            "server_cpu_pct": cpu_pct,
            "cpu_us_per_received_packet": per_packet,
        }
    }
    return results, extra
