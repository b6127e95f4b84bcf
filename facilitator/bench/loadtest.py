"""``facilitator loadtest``: synthetic participants measure what a call costs the server.

Participants run in load generator processes (``bench.workers``): by default the light
generator (``bench.light``: pre-built RTP packets, so one core drives many people), or aiortc's
full media stack (``bench.bot``). With two cores or more the server is pinned to core 0 and the
generator to the others, so the two never compete for a core. Measurements come from both
sides: /proc for the server's CPU and memory, its ``/api/stats`` for packets and event-loop
lag, and the participants for loss, delay and time to the first keyframe. ``side_by_side``
measures Janus's VideoRoom (``bench.janus``) the same way, right after facilitator.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.request import Request, urlopen

from . import procstat
from .report import RESULTS, Result, janus_table, machine, save, table
from .workers import worker

if TYPE_CHECKING:
    from .client import ProtocolClient

__all__ = ["RESULTS", "Result", "machine", "run_scenario", "save", "side_by_side", "table"]

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "facilitator"
LOAD_AGENDA = "title: Load test\nitems:\n  - title: Talk\n    duration: 2h\n"
WARMUP_TIMEOUT = 60.0
BUSY_GENERATOR = 85.0
"""A worker using more than this % of a core may be holding the numbers back."""
BUSY_MACHINE = 85.0
"""Server plus generator using more than this % of all cores: the machine is saturated."""
JANUS_SIZES = (2, 4, 6, 8)
"""The side-by-side comparison's room sizes."""


@dataclass(frozen=True)
class Run:
    """What one scenario runs: the room size, the server and the generator."""

    participants: int
    mode: str
    """``forward``, ``transcode`` or ``janus``."""
    generator: str
    pinned: bool


def core_split(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(server cores, generator cores): the first core for the server, the rest for the load."""
    cores = sorted(os.sched_getaffinity(0))
    if not pin or len(cores) < 2:
        return None, None
    return {cores[0]}, set(cores[1:])


# The server


class Server:
    """The server under test: our own subprocess, or one already running at ``url``."""

    def __init__(
        self,
        url: str | None,
        transcode: bool,
        affinity: set[int] | None = None,
        workers: int = 1,
    ) -> None:
        self.url = url
        self.transcode = transcode
        self.affinity = affinity
        self.workers = workers
        """Worker processes (``--workers``); more than one: CPU counts the front and all."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> str:
        """Start our own server if there is no URL; return the base URL."""
        if self.url:
            return self.url.rstrip("/")
        self.tmp = tempfile.TemporaryDirectory(prefix="facilitator-load-")
        log = Path(self.tmp.name) / "server.log"
        args = [sys.executable, "-m", "facilitator", "serve", "--host", "127.0.0.1"]
        args += ["--port", "0", "--ice-address", "127.0.0.1", "--stats"]
        args += ["--data", str(Path(self.tmp.name) / "data"), "--workers", str(self.workers)]
        if self.transcode:
            args.append("--transcode")
        affinity = self.affinity

        def pin() -> None:
            if affinity:
                os.sched_setaffinity(0, affinity)

        with log.open("wb") as err:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, preexec_fn=pin)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        match = re.search(r"Listening on (\S+)", line)
        if not match:
            raise RuntimeError(f"the server did not start: {line}{log.read_text()[-2000:]}")
        return match.group(1)

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of our server process (and its workers), from /proc."""
        if self.proc is None:
            return None
        return sum(procstat.cpu_seconds(pid) for pid in procstat.tree(self.proc.pid))

    def rss_mb(self) -> float | None:
        """Resident memory of our server process (and its workers), from /proc."""
        if self.proc is None:
            return None
        return sum(procstat.rss_mb(pid) or 0.0 for pid in procstat.tree(self.proc.pid))

    def stop(self) -> None:
        """Stop our server."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.tmp is not None:
            self.tmp.cleanup()


def http_json(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = Request(url, data=data, headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


# One scenario


def run_scenario(
    participants: int,
    duration: float,
    *,
    url: str | None = None,
    transcode: bool = False,
    video_kbps: int = 500,
    workers: int | None = None,
    progress: bool = True,
    generator: str = "light",
    janus: bool = False,
    pin: bool = True,
) -> Result:
    """Run one call of ``participants`` synthetic people for ``duration`` seconds and measure.

    ``janus``: Janus's VideoRoom is the server (``side_by_side`` prepares the network for it).
    """
    from .janus import JanusServer

    server_cores, load_cores = core_split(pin and url is None)
    mode = "janus" if janus else "transcode" if transcode else "forward"
    kind = "janus" if janus else generator
    run = Run(participants, mode, "light" if janus else generator, server_cores is not None)
    server: Server | JanusServer = (
        JanusServer(server_cores) if janus else Server(url, transcode, server_cores)
    )
    own_cores = os.sched_getaffinity(0)
    if load_cores:
        os.sched_setaffinity(0, load_cores)
    base = server.start()
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    procs = []
    try:
        meeting: dict[str, Any] = {}
        target = base
        if not janus:
            meeting = http_json(f"{base}/api/meetings", {"yaml": LOAD_AGENDA, "max_people": 100})
            target = meeting["participant_url"]
        count = workers or default_workers(kind, participants, load_cores)
        assignment = [list(range(w, participants, count)) for w in range(count)]
        for w in range(count):
            parent, child = context.Pipe()
            names = [f"Load {i + 1}" for i in assignment[w]]
            args = (child, target, names, video_kbps, kind, CACHE, load_cores)
            proc = context.Process(target=worker, args=args)
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        joined: dict[str, float] = {}
        for i in range(participants):
            pipe = pipes[i % count]
            pipe.send(("join", None))
            reply = pipe.recv()
            joined[reply["person"]] = reply["joined"]
        if janus:  # everyone publishes first, then subscribes to everyone else
            for reply in ask_all(pipes, "subscribe", list(joined)):
                joined.update(reply)
        connected = warm_up(pipes, participants, progress)
        marks = ask_all(pipes, "mark")
        cpu0, wall0, busy0 = server.cpu_seconds(), time.monotonic(), machine_busy()
        stats0 = None if janus else http_json(f"{base}/api/stats")
        wait_window(duration, server, participants, progress)
        ends = ask_all(pipes, "end")
        cpu1, wall1, busy1 = server.cpu_seconds(), time.monotonic(), machine_busy()
        stats1 = None
        if stats0 is not None:
            stats1 = http_json(f"{base}/api/stats?since={stats0['time']}")
        rss = server.rss_mb()
        controls: list[float] = []
        if not janus:
            controls = asyncio.run(control_delays(meeting["facilitator_url"], target))
        ask_all(pipes, "leave")
        for proc in procs:
            proc.join(20)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        server.stop()
        os.sched_setaffinity(0, own_cores)
    return summarise(
        run, marks, ends, joined, (cpu0, cpu1, wall0, wall1), stats0, stats1, rss,
        connected, controls, machine_pct(busy0, busy1),
    )  # fmt: skip


def default_workers(kind: str, participants: int, cores: set[int] | None) -> int:
    """Light generators: one process per generator core; aiortc: one per core, at most 4."""
    if kind != "aiortc":
        return max(1, min(participants, len(cores) if cores else 1))
    return max(1, min(participants, os.cpu_count() or 2, 4))


async def control_delays(
    facilitator_url: str, participant_url: str, count: int = 20
) -> list[float]:
    """Milliseconds from a facilitator's control to a participant seeing its effect."""
    from .client import ProtocolClient

    host = ProtocolClient(facilitator_url, "Load host")
    guest = ProtocolClient(participant_url, "Load guest")
    delays = []
    try:
        for client in (host, guest):
            await client.join()
        for _ in range(count):
            delays.append(await control_delay(host, guest))
    finally:
        for client in (host, guest):
            await client.close()
    return delays


async def control_delay(host: ProtocolClient, guest: ProtocolClient, timeout: float = 5.0) -> float:
    """Milliseconds from one control of a joined facilitator to a joined guest's new state."""
    before = guest.state()["clock"]["meeting"]["remaining"]
    sent = time.monotonic()
    await host.send("action", {"action": "extend-call", "seconds": 30})
    await guest.fresh_state(lambda s: s["clock"]["meeting"]["remaining"] != before, timeout)
    return (time.monotonic() - sent) * 1000


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def machine_pct(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return 100 * (after[0] - before[0]) / (after[1] - before[1])


def ask_all(pipes: list[Connection], command: str, argument: Any = None) -> list[dict[str, Any]]:
    for pipe in pipes:
        pipe.send((command, argument))
    return [pipe.recv() for pipe in pipes]


def warm_up(pipes: list[Connection], participants: int, progress: bool) -> bool:
    """Wait until everyone receives everyone's audio and video (or give up)."""
    deadline = time.monotonic() + WARMUP_TIMEOUT
    wanted = participants * (participants - 1) * 2
    while time.monotonic() < deadline:
        flowing = sum(
            1
            for snapshot in ask_all(pipes, "status")
            for bot in snapshot["bots"].values()
            for frames in bot["received"].values()
            if frames > 0
        )
        if progress:
            say(f"N={participants}: connecting, {flowing}/{wanted} streams flowing")
        if flowing >= wanted:
            time.sleep(1.0)
            return True
        time.sleep(0.5)
    return False


def wait_window(duration: float, server: Any, participants: int, progress: bool) -> None:
    start = time.monotonic()
    last_cpu, last = server.cpu_seconds(), start
    while (left := duration - (time.monotonic() - start)) > 0:
        time.sleep(min(1.0, left))
        if progress:
            now, cpu = time.monotonic(), server.cpu_seconds()
            load = ""
            if cpu is not None and last_cpu is not None:
                load = f", server CPU {100 * (cpu - last_cpu) / (now - last):.0f}% of a core"
            last_cpu, last = cpu, now
            say(f"N={participants}: measuring {now - start:.0f}/{duration:.0f} s{load}")


def say(line: str) -> None:
    print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def summarise(
    run: Run,
    marks: list[dict[str, Any]],
    ends: list[dict[str, Any]],
    joined: dict[str, float],
    cpu: tuple[float | None, float | None, float, float],
    stats0: dict[str, Any] | None,
    stats1: dict[str, Any] | None,
    rss: float | None,
    connected: bool,
    controls: list[float],
    machine: float | None,
) -> Result:
    participants = run.participants
    cpu0, cpu1, wall0, wall1 = cpu
    elapsed = wall1 - wall0
    before = {pid: bot for snap in marks for pid, bot in snap["bots"].items()}
    after = {pid: bot for snap in ends for pid, bot in snap["bots"].items()}
    losses: list[float] = []
    for sub, bot in after.items():
        for pub in after:
            if pub == sub:
                continue
            for kind in ("audio", "video"):
                sent = after[pub]["sent"][kind] - before[pub]["sent"][kind]
                key = f"{pub}/{kind}"
                got = bot["received"].get(key, 0) - before[sub]["received"].get(key, 0)
                if sent > 0:
                    losses.append(max(0.0, 1 - got / sent))
    delays = [d * 1000 for bot in after.values() for d in bot["delays"]]
    keyframes = [
        (at - after[sub]["joined"]) * 1000
        for sub, bot in after.items()
        for pub, at in bot["first_keyframe"].items()
        if run.mode == "janus" or joined.get(pub, 0) < joined.get(sub, 0)
    ]
    generator = [
        100 * (end["cpu"] - mark["cpu"]) / max(1e-6, end["wall"] - mark["wall"])
        for mark, end in zip(marks, ends, strict=True)
    ]
    received = _packets_in(marks, ends)
    if stats0 is not None and stats1 is not None:
        packets = stats1["packets_out"] - stats0["packets_out"]
        frames = stats1["frames_out"] - stats0["frames_out"]
        lag = stats1["loop_lag_ms"]["p99"]
    else:  # Janus: what the participants received
        packets = received or 0
        frames = sum(
            got - before.get(sub, {}).get("received", {}).get(key, 0)
            for sub, bot in after.items()
            for key, got in bot["received"].items()
        )
        lag = None
    cpu_s = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None
    busy = max(generator, default=0) > BUSY_GENERATOR
    server_pct = 100 * cpu_s / elapsed if cpu_s is not None else None
    notes = []
    if busy:
        notes.append("the load generator was busy: the server may be able to do more")
    if machine is not None and machine > BUSY_MACHINE:
        notes.append(
            f"the machine was saturated ({machine:.0f}% of {os.cpu_count()} cores busy, "
            "server and load generator included): loss and delay here measure the machine, "
            "not the server"
        )
    if not connected:
        notes.append("not every stream was flowing before measuring")
    return Result(
        participants=participants,
        mode=run.mode,
        duration=round(elapsed, 2),
        server_cpu_pct=round(server_pct, 1) if server_pct is not None else None,
        server_rss_mb=round(rss, 1) if rss is not None else None,
        packets_per_s=round(packets / elapsed, 1),
        frames_per_s=round(frames / elapsed, 1),
        cpu_us_per_packet=round(cpu_s * 1e6 / packets, 1) if cpu_s and packets else None,
        loss_pct_mean=round(100 * sum(losses) / len(losses), 3) if losses else 100.0,
        loss_pct_max=round(100 * max(losses), 3) if losses else 100.0,
        delay_ms_p50=_round(_percentile(delays, 0.5)),
        delay_ms_p99=_round(_percentile(delays, 0.99)),
        join_keyframe_ms_p50=_round(_percentile(keyframes, 0.5)),
        join_keyframe_ms_max=_round(max(keyframes) if keyframes else None),
        loop_lag_ms_p99=_round(lag),
        control_ms_p50=_round(_percentile(controls, 0.5)),
        control_ms_p99=_round(_percentile(controls, 0.99)),
        generator_cpu_pct_max=round(max(generator, default=0), 1),
        generator_busy=busy,
        machine_cpu_pct=round(machine, 1) if machine is not None else None,
        connected=connected,
        notes=notes,
        generator=run.generator,
        packets_received_per_s=round(received / elapsed, 1) if received is not None else None,
        cpu_us_per_received_packet=(
            round(cpu_s * 1e6 / received, 1) if cpu_s and received else None
        ),
        pinned=run.pinned,
    )


def _packets_in(marks: list[dict[str, Any]], ends: list[dict[str, Any]]) -> int | None:
    """RTP packets all participants received in the window (light generators count them)."""
    total = 0
    for mark, end in zip(marks, ends, strict=True):
        for person, bot in end["bots"].items():
            if bot.get("packets_in") is None:
                return None
            total += bot["packets_in"] - mark["bots"][person]["packets_in"]
    return total


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def standard(
    duration: float, video_kbps: int, generator: str = "light", pin: bool = True
) -> tuple[list[Result], dict[str, Any]]:
    """The standard scenarios: N = 2..16 forwarded and transcoded, ratios, then the largest N."""
    results: list[Result] = []
    ratios: dict[str, float] = {}
    transcode_ok = True
    options: dict[str, Any] = {"video_kbps": video_kbps, "generator": generator, "pin": pin}
    for n in (2, 4, 8, 12, 16):
        forward = run_scenario(n, duration, **options)
        results.append(forward)
        say("")
        print(table([forward]).splitlines()[1], file=sys.stderr)
        if transcode_ok:
            baseline = run_scenario(n, duration, transcode=True, **options)
            results.append(baseline)
            if forward.server_cpu_pct and baseline.server_cpu_pct:
                ratios[str(n)] = round(baseline.server_cpu_pct / forward.server_cpu_pct, 1)
            # Past this point the baseline no longer keeps up: stop measuring it.
            transcode_ok = baseline.loss_pct_max < 5 and (baseline.server_cpu_pct or 0) < 95
    largest = largest_room(min(duration, 10.0), video_kbps, generator=generator, pin=pin)
    return results, {"transcode_cpu_ratio": ratios, "largest_room": largest}


def good(result: Result) -> bool:
    """The room works: under 1% loss and p99 added delay under 50 ms."""
    return (
        result.connected
        and result.loss_pct_max < 1
        and result.delay_ms_p99 is not None
        and result.delay_ms_p99 < 50
    )


def largest_room(
    duration: float, video_kbps: int, limit: int = 40, **options: Any
) -> dict[str, Any]:
    """The largest N that is ``good``, growing by 4 from 16, then halving the gap."""
    low, high = 0, None
    n = 16
    tried: dict[int, bool] = {}
    while n <= limit and high is None:
        tried[n] = good(run_scenario(n, duration, video_kbps=video_kbps, **options))
        if tried[n]:
            low, n = n, n + 4
        else:
            high = n
    if high is None:
        return {"participants": low, "tried": tried, "capped_at": limit}
    while high - low > 1:
        n = (low + high) // 2 if low else max(2, high // 2)
        tried[n] = good(run_scenario(n, duration, video_kbps=video_kbps, **options))
        low, high = (n, high) if tried[n] else (low, n)
    return {"participants": low, "tried": tried}


def side_by_side(
    sizes: list[int], duration: float, video_kbps: int, pin: bool = True
) -> tuple[list[Result], dict[str, Any]]:
    """facilitator then Janus, back to back for each N, with the light generator."""
    from .janus import add_loopback_alias, remove_loopback_alias

    results: list[Result] = []
    pairs: list[tuple[Result, Result]] = []
    options: dict[str, Any] = {"video_kbps": video_kbps, "generator": "light", "pin": pin}
    add_loopback_alias()
    try:
        for n in sizes:
            ours = run_scenario(n, duration, **options)
            theirs = run_scenario(n, duration, janus=True, **options)
            say("")
            results += [ours, theirs]
            pairs.append((ours, theirs))
    finally:
        remove_loopback_alias()
    ratios = {
        str(a.participants): round(a.cpu_us_per_received_packet / b.cpu_us_per_received_packet, 2)
        for a, b in pairs
        if a.cpu_us_per_received_packet and b.cpu_us_per_received_packet
    }
    return results, {"janus_table": janus_table(pairs), "janus_cpu_per_packet_ratio": ratios}
