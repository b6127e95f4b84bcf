"""``facilitator loadtest --attacks``: while one stranger attacks, is another meeting still fine?

For each attack (issue 17's table) a fresh server is started (``--stats``, on 127.0.0.1) with
a victim meeting: its facilitator sends a control every 100 ms and its participant times each
one until it shows the new state (loadtest's ``control_delay``), and a new visitor loads the
landing page and the meeting page every second. The attack runs in a process of its own from
127.0.0.2 (its meeting is set up from 127.0.0.9; a crowd uses .2 to .8), so the visitors on
127.0.0.1 keep their own per-address budgets. Printed: what the server answered, the victim's
control-to-screen p50/p99, the visitors' page p99 and failures, server CPU, RSS and event-loop
lag; saved as JSON under bench/results/. Run: ``python -m facilitator.bench.attacks``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from . import hostile_http as edge
from . import hostile_media as media
from . import hostile_rooms as rooms
from .client import ProtocolClient
from .hostile_http import AttackContext, Counts
from .loadtest import LOAD_AGENDA, Server, control_delay
from .report import RESULTS, machine

VISITOR = "127.0.0.1"
ATTACKER = "127.0.0.2"
CROWD = tuple(f"127.0.0.{i}" for i in range(3, 9))
SETUP = "127.0.0.9"
"""The attacker's other address: it creates the attacker's meeting and its honest people."""
CONTROL_EVERY = 0.1
VISIT_EVERY = 1.0
TARGET_MS = 100.0
"""Issue 17: no attack may stall another meeting by more than this at p99."""
READY_SECONDS = 90.0
"""Time an attack may take to set up (media bots connect, a crowd's first joins)."""

AttackRun = Callable[[AttackContext], Coroutine[Any, Any, Counts]]


@dataclass(frozen=True)
class Attack:
    """One row of the table: the attack, its size here, and the attacker's meeting."""

    name: str
    what: str
    run: AttackRun
    meeting: dict[str, Any] = field(default_factory=lambda: {"agenda": "quick-check-in"})
    min_seconds: float = 0.0
    """Attacks that need longer than the default window to reach their size."""


async def calm(ctx: AttackContext) -> Counts:
    """No attack: the baseline the others compare with."""
    ctx.start()
    await asyncio.sleep(ctx.left())
    return Counts()


ATTACKS: tuple[Attack, ...] = (
    Attack("none", "no attack (baseline)", calm),
    Attack("slowloris", "1,100 idle TCP connections, reopened when closed", edge.idle_connections),
    Attack(
        "agenda-900k",
        "900 KB agenda of tiny YAML documents to /api/agendas/check, in a loop",
        lambda c: edge.post_agendas(c, edge.many_documents(), 1),
    ),
    Attack(
        "agenda-900k-x3",
        "the same, three at once",
        lambda c: edge.post_agendas(c, edge.many_documents(), 3),
    ),
    Attack(
        "unknown-keys-880k",
        "880 KB of unknown keys to /api/agendas/check, in a loop",
        lambda c: edge.post_agendas(c, edge.unknown_keys(), 1),
    ),
    Attack(
        "agenda-64k-slowest-x3",
        "the slowest agenda under 64 KB (one flow list of 32,000 numbers), three at once",
        lambda c: edge.post_agendas(c, edge.slowest_agenda(), 3),
    ),
    Attack("create-meetings", "5,000 POST /api/meetings", edge.create_meetings),
    Attack("page-loop", "GET /api/agendas and / in a loop (4 at once)", edge.page_loop),
    Attack("cookieless-pages", "20,000 meeting page loads without cookies", edge.cookieless_pages),
    Attack(
        "tabs-one-cookie",
        "2,250 WebSockets on one session cookie, then 19 hand toggles a second",
        rooms.many_tabs,
    ),
    Attack("oversized-names", "3 connections sending 60 KB join names", rooms.oversized_names),
    Attack(
        "lobby-knocks",
        "17 strangers knock at the lobby of a 6/16 room, then an invited person (repeated)",
        rooms.lobby_knocks,
        {"agenda": "quick-check-in", "max_people": 16, "lobby": True},
    ),
    Attack("nested-json", "WebSocket frames of 1,000 nested arrays", rooms.nested_frames),
    Attack(
        "removed-facilitator",
        "a removed co-host POSTs /m/<id>/delete in a loop",
        rooms.removed_facilitator,
    ),
    Attack(
        "session-fixation",
        "a participant's browser opens the facilitator link, then uses its old token",
        rooms.session_fixation,
    ),
    Attack("forged-host", "POST /api/meetings with Host: evil.example", edge.forged_host),
    Attack(
        "lookalike-names", "look-alike, role-claiming and invisible names", rooms.lookalike_names
    ),
    Attack(
        "crowd",
        "1,000 people and 10,000 notes in one meeting (100 seats)",
        rooms.crowd,
        {"yaml": LOAD_AGENDA, "max_people": 100},
        min_seconds=30.0,
    ),
    Attack("nack-flood", "20 small NACKs a second naming the same packets", media.nack_flood),
    Attack(
        "sequence-jumps",
        "50 RTP packets a second with jumping sequence numbers",
        media.sequence_jumps,
    ),
)
BY_NAME = {attack.name: attack for attack in ATTACKS}
TESTED_ONLY = (
    (
        "delete my notes, then SIGKILL (WAL)",
        "test_deleted_notes_and_meetings_are_gone_from_every_file",
    ),
    ("a full disk", "test_a_full_disk_gets_a_friendly_page_with_the_headers"),
    ("a change acknowledged while the disk was full", "test_a_full_disk_is_said_and_caught_up"),
)
"""Rows measured by tests only: each kills or fills the server itself, so no other meeting
can be measured alongside."""


@dataclass
class Row:
    """One attack, measured."""

    attack: str
    what: str
    seconds: float
    counts: dict[str, int]
    control_ms_p50: float | None
    control_ms_p99: float | None
    control_ms_max: float | None
    controls: int
    control_failures: int
    page_ms_p99: float | None
    pages: int
    page_failures: int
    server_cpu_pct: float | None
    server_rss_mb: float | None
    loop_lag_ms_p99: float | None
    loop_lag_ms_max: float | None
    load_average: float
    tracebacks: int
    error: str = ""
    full_collections: int | None = None
    """The server's full garbage collections during the attack (each walks its whole heap)."""

    @property
    def stalled(self) -> bool:
        """The victim's controls took over TARGET_MS at p99 (or the attack did not run)."""
        slow = (self.control_ms_p99 or 0) > TARGET_MS
        return bool(self.error) or slow or self.control_failures > 0


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# The attack process


def attack_process(conn: Connection, name: str, ctx: AttackContext) -> None:
    """The attack process's body: run one attack, say when it starts, send back its counts."""
    ctx.on_start = lambda: conn.send(("started", None))
    try:
        counts = asyncio.run(BY_NAME[name].run(ctx))
        conn.send(("done", dict(counts)))
    except Exception as exc:  # the runner reports it in the row; the next attack goes on
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))


# The victim


async def create_meeting(base: str, address: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a meeting from ``address``; its links."""
    async with (
        edge.http_from(address) as http,
        http.post(f"{base}/api/meetings", json=body) as r,
    ):
        if r.status != 201:
            raise RuntimeError(f"could not create a meeting: {r.status} {await r.text()}")
        return dict(await r.json())


async def probe_controls(
    host: ProtocolClient, guest: ProtocolClient, stop: asyncio.Event
) -> tuple[list[float], int]:
    """A control every CONTROL_EVERY until ``stop``: (control-to-screen ms, failures)."""
    delays: list[float] = []
    failures = 0
    while not stop.is_set():
        began = time.monotonic()
        try:
            delays.append(await control_delay(host, guest))
        except (TimeoutError, aiohttp.ClientError, ConnectionError):
            failures += 1
        await asyncio.sleep(max(0.0, CONTROL_EVERY - (time.monotonic() - began)))
    return delays, failures


async def visit_pages(base: str, page: str, stop: asyncio.Event) -> tuple[list[float], int]:
    """A new visitor (no cookies) loads the landing page and a meeting page every second."""
    times: list[float] = []
    failures = 0
    timeout = aiohttp.ClientTimeout(total=10)
    while not stop.is_set():
        began = time.monotonic()
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for url in (f"{base}/", page):
                started = time.monotonic()
                try:
                    async with http.get(url) as r:
                        await r.read()
                        ok = r.status == 200
                except (aiohttp.ClientError, TimeoutError, OSError):
                    ok = False
                times.append((time.monotonic() - started) * 1000)
                failures += not ok
        await asyncio.sleep(max(0.0, VISIT_EVERY - (time.monotonic() - began)))
    return times, failures


async def server_stats(base: str, since: float | None = None) -> dict[str, Any]:
    """The server's /api/stats (loop lag since ``since``)."""
    query = f"?since={since}" if since is not None else ""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/api/stats{query}") as r:
        return dict(await r.json())


async def measure(attack: Attack, seconds: float, nice: int = 0) -> Row:
    """Run one attack against a fresh server while the victim meeting is measured.

    ``nice`` (e.g. -10, as root): the server and this measuring process run at that priority,
    the attack process at the usual one, so that on a shared machine other programs (and the
    local attacker, which on the internet would not share the server's cores) stay out of the
    numbers.
    """
    seconds = max(seconds, attack.min_seconds)
    load = os.getloadavg()[0]
    usual = os.getpriority(os.PRIO_PROCESS, 0)
    server = Server(None, transcode=False)
    base = server.start()
    if nice and server.proc is not None:
        os.setpriority(os.PRIO_PROCESS, server.proc.pid, nice)
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    assert server.tmp is not None
    data = Path(server.tmp.name) / "data"
    clients: list[ProtocolClient] = []
    proc = None
    try:
        victim = await create_meeting(base, VISITOR, {"yaml": LOAD_AGENDA})
        mine = await create_meeting(base, SETUP, attack.meeting)
        host = ProtocolClient(victim["facilitator_url"], "Victim host")
        guest = ProtocolClient(victim["participant_url"], "Victim guest")
        clients += [host, guest]
        for client in clients:
            await client.join()
        ctx = AttackContext(
            base, mine["participant_url"], mine["facilitator_url"], ATTACKER, seconds, data,
            (SETUP, *CROWD),
        )  # fmt: skip
        parent, child = multiprocessing.get_context("spawn").Pipe()
        proc = multiprocessing.get_context("spawn").Process(
            target=attack_process, args=(child, attack.name, ctx)
        )
        proc.start()
        if nice and proc.pid is not None:
            os.setpriority(os.PRIO_PROCESS, proc.pid, usual)
        kind, value = await asyncio.to_thread(receive, parent, READY_SECONDS)
        if kind != "started":
            return failed_row(attack, seconds, load, str(value))
        cpu0, stats0 = server.cpu_seconds(), await server_stats(base)
        wall0 = time.monotonic()
        stop = asyncio.Event()
        probe = asyncio.create_task(probe_controls(host, guest, stop))
        visits = asyncio.create_task(visit_pages(base, victim["participant_url"], stop))
        kind, value = await asyncio.to_thread(receive, parent, seconds + 60)
        stop.set()
        (delays, failures), (pages, page_failures) = await asyncio.gather(probe, visits)
        cpu1, wall1 = server.cpu_seconds(), time.monotonic()
        stats1 = await server_stats(base, stats0["time"])
        if kind != "done":
            return failed_row(attack, seconds, load, str(value))
        cpu = (
            100 * (cpu1 - cpu0) / (wall1 - wall0) if cpu0 is not None and cpu1 is not None else None
        )
        log = (Path(server.tmp.name) / "server.log").read_text("utf-8", "replace")
        return Row(
            attack.name, attack.what, round(wall1 - wall0, 1), value,
            percentile(delays, 0.5), percentile(delays, 0.99), max(delays, default=None),
            len(delays), failures, percentile(pages, 0.99), len(pages), page_failures,
            cpu, server.rss_mb(), stats1["loop_lag_ms"]["p99"], stats1["loop_lag_ms"]["max"],
            load, log.count("Traceback"), full_collections=full_sweeps(stats0, stats1),
        )  # fmt: skip
    finally:
        for client in clients:
            await client.close()
        if proc is not None:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        server.stop()
        if nice:
            os.setpriority(os.PRIO_PROCESS, 0, usual)


def receive(conn: Connection, timeout: float) -> tuple[str, Any]:
    """The attack process's next message, or ("failed", why) after ``timeout`` seconds."""
    if not conn.poll(timeout):
        return "failed", f"no answer from the attack process in {timeout:.0f} s"
    message: tuple[str, Any] = conn.recv()
    return message


def full_sweeps(before: dict[str, Any], after: dict[str, Any]) -> int | None:
    """Full garbage collections between two /api/stats answers (None from an older server)."""
    if "gc" not in before or "gc" not in after:
        return None
    return int(after["gc"]["collections"][2]) - int(before["gc"]["collections"][2])


def failed_row(attack: Attack, seconds: float, load: float, error: str) -> Row:
    """A row for an attack that could not be run or measured."""
    return Row(
        attack.name, attack.what, seconds, {}, None, None, None, 0, 0, None, 0, 0,
        None, None, None, None, load, 0, error,
    )  # fmt: skip


# The table


def summary(counts: dict[str, int]) -> str:
    """What the server did, from an attack's counts (largest first, a few)."""
    parts = [f"{key}: {value:,}" for key, value in sorted(counts.items(), key=lambda kv: -kv[1])]
    return "; ".join(parts) if parts else "-"


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return fmt.format(value) if value is not None else "-"


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (times in ms)."""
    head = "| attack | what the server did | ctl p50 | ctl p99 | ctl fail | page p99 | page fail "
    head += "| CPU % | RSS MB | lag p99 | load | full GCs |"
    lines = [head, "|" + "---|" * 12]
    for row in rows:
        did = row.error or summary(row.counts)
        p99 = _num(row.control_ms_p99) + (" **slow**" if row.stalled else "")
        lines.append(
            f"| {row.attack} | {did} | {_num(row.control_ms_p50)} | {p99} | "
            f"{row.control_failures}/{row.controls} | {_num(row.page_ms_p99)} | "
            f"{row.page_failures}/{row.pages} | {_num(row.server_cpu_pct)} | "
            f"{_num(row.server_rss_mb)} | {_num(row.loop_lag_ms_p99, '{:.1f}')} | "
            f"{row.load_average:.1f} | {_num(row.full_collections)} |"
        )
    return "\n".join(lines)


def save(rows: list[Row], path: Path | None = None, nice: int = 0) -> Path:
    """Write the rows as JSON (to ``path``, or a dated file under bench/results/)."""
    if path is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / time.strftime("attacks-%Y%m%d-%H%M%S.json")
    data = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "target_control_ms_p99": TARGET_MS,
        "server_nice": nice,
        "results": [asdict(row) for row in rows],
        "tested_only": [{"attack": a, "test": t} for a, t in TESTED_ONLY],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def run(
    names: list[str] | None,
    seconds: float,
    path: Path | None = None,
    quiet: bool = False,
    nice: int = 0,
) -> tuple[list[Row], Path]:
    """Measure the named attacks (all by default); print progress and the table."""
    chosen = [BY_NAME[name] for name in names] if names else list(ATTACKS)
    rows = []
    for attack in chosen:
        if not quiet:
            print(f"attack {attack.name}: {attack.what} ...", file=sys.stderr, flush=True)
        row = asyncio.run(measure(attack, seconds, nice))
        rows.append(row)
        if not quiet:
            line = f"  ctl p99 {_num(row.control_ms_p99)} ms, {row.error or summary(row.counts)}"
            print(line, file=sys.stderr, flush=True)
    saved = save(rows, path, nice)
    return rows, saved


def main(argv: list[str] | None = None) -> int:
    """``python -m facilitator.bench.attacks [--duration S] [--only NAME,NAME] [--json FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per attack")
    parser.add_argument("--only", help="attacks to run: " + ",".join(BY_NAME))
    parser.add_argument("--json", type=Path, help="results file (default: bench/results/)")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the server and the measurements at this priority (e.g. -10, as root) so "
        "other programs on a shared machine stay out of the numbers; the attacker keeps its own",
    )
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else None
    unknown = [n for n in names or [] if n not in BY_NAME]
    if unknown:
        parser.error(f"no such attack: {', '.join(unknown)}")
    return report(names, args.duration, args.json, args.nice)


def report(names: list[str] | None, seconds: float, path: Path | None = None, nice: int = 0) -> int:
    """Run, print the table and where the JSON went; 1 when an attack stalled the victim."""
    rows, saved = run(names, seconds, path, nice=nice)
    print(table(rows))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average now: {load}; tested only: " + "; ".join(a for a, _ in TESTED_ONLY))
    slow = [row.attack for row in rows if row.stalled]
    print(f"over {TARGET_MS:.0f} ms at p99 (or failed): {', '.join(slow) or 'none'}")
    print(f"results: {saved}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
