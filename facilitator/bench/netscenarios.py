"""Real-network scenarios (issue 14): one person on a bad link, what they and everyone else see.

Each scenario starts a server, puts every participant in its own network namespace behind a
veth (``netlab``), connects them all over clean links, measures a short baseline, then spoils
one person's link for the measured window and, for recovery scenarios, lifts it again and
measures what follows. Participants are synthetic (``networkers``; they follow the server's
REMB unless the scenario says they cannot) and, where a scenario asks, one real Chromium.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from urllib.request import Request, urlopen

from . import networkers
from .loadtest import LOAD_AGENDA, RESULTS, machine
from .netlab import Link, NetLab
from .netmetrics import USABLE_FROZEN, loss

WARMUP_TIMEOUT = 90.0


@dataclass(frozen=True)
class Scenario:
    """One person's link spoiled (person 0, the first to join), everyone else's clean."""

    name: str
    people: int = 6
    duration: float = 90.0
    """The measured window with the bad link."""
    after: float = 0.0
    """With it: the link is made good again and this many seconds are measured after."""
    baseline: float = 10.0
    down_kbit: int | None = None
    up_kbit: int | None = None
    down_loss: float = 0.0
    up_loss: float = 0.0
    cut: bool = False
    """The link is down (every packet dropped both ways) for the window."""
    others_kbit: int | None = None
    """A downlink cap on everyone else too."""
    adapt: bool = True
    """The bad person's publisher follows REMB (False: sends its full rate regardless)."""
    others_adapt: bool = True
    """The same for everyone else."""
    chromium: bool = False
    """The bad person is a real Chromium (silent fake microphone) instead of a bot."""
    description: str = ""


SCENARIOS = (
    Scenario("down-1500", down_kbit=1500, after=30,
             description="one downlink at 1.5 Mbit/s (5 streams need ~2.9), lifted after"),
    Scenario("up-300-fixed", up_kbit=300, adapt=False, after=30,
             description="one uplink at 300 kbit/s, a publisher that cannot adapt"),
    Scenario("up-300", up_kbit=300, after=30,
             description="one uplink at 300 kbit/s, a publisher that follows REMB"),
    Scenario("down-loss-2", down_loss=0.02, description="one downlink with 2% loss (no delay)"),
    Scenario("down-loss-5", down_loss=0.05, description="one downlink with 5% loss"),
    Scenario("both-loss-5", down_loss=0.05, up_loss=0.05, description="5% loss both ways"),
    Scenario("cut-10", cut=True, duration=10, after=30,
             description="one link down for 10 s, then back"),
    Scenario("down-1500-chromium", down_kbit=1500, chromium=True, duration=60,
             description="one downlink at 1.5 Mbit/s, the person on it a real Chromium"),
    Scenario("twelve-3000", people=12, others_kbit=3000, down_kbit=3000, duration=30,
             description="12 people, every downlink at 3 Mbit/s"),
)  # fmt: skip


@dataclass
class Phase:
    """One measured window of a scenario."""

    name: str
    """``baseline``, ``during`` or ``after``."""
    seconds: float
    summary: dict[str, Any]
    subscribers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every participant's window (streams, sent), by person id."""


@dataclass
class Outcome:
    """A scenario's measurements."""

    scenario: Scenario
    bad: str
    """The person id of the one with the bad link."""
    phases: list[Phase]
    load_average: tuple[float, float, float]
    connected: bool
    notes: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    """The server's allocation log for the person with the bad link (``--log-level debug``)."""
    server_metrics: dict[str, float] = field(default_factory=dict)
    """The server's /metrics at the end of the run: ``facilitator_media_loss_ratio`` by
    ``direction/stat`` ("down/max", ...), and ``paused``: the videos paused for the network."""


METRICS_TOKEN = "netlab"


class LabServer:
    """The server under test, on every lab address (and 127.0.0.1, where the harness talks)."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        self.proc: subprocess.Popen[bytes] | None = None
        self.tmp = tempfile.TemporaryDirectory(prefix="facilitator-netlab-")
        self.port = 0

    def start(self) -> str:
        """Start it; the base URL on 127.0.0.1."""
        log = Path(self.tmp.name) / "server.log"
        args = [sys.executable, "-m", "facilitator", "serve", "--host", "0.0.0.0", "--port", "0"]
        args += ["--stats", "--data", str(Path(self.tmp.name) / "data"), "--workers", "1"]
        args += ["--log-level", "debug", "--metrics", "--metrics-token", METRICS_TOKEN]
        for address in ["127.0.0.1", *self.addresses]:
            args += ["--ice-address", address]
        with log.open("wb") as err:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        match = re.search(r"Listening on \S+:(\d+)", line)
        if not match:
            raise RuntimeError(f"the server did not start: {line}{log.read_text()[-2000:]}")
        self.port = int(match.group(1))
        return f"http://127.0.0.1:{self.port}"

    def trace(self, person_id: str) -> list[str]:
        """The allocation lines the server logged for one subscriber so far."""
        log = Path(self.tmp.name) / "server.log"
        lines = log.read_text(errors="replace").splitlines()
        return [line for line in lines if f"allocation {person_id}:" in line]

    def metrics(self) -> dict[str, float]:
        """The loss its /metrics shows now, by ``direction/stat``, and the videos paused."""
        request = Request(f"http://127.0.0.1:{self.port}/metrics")
        request.add_header("Authorization", f"Bearer {METRICS_TOKEN}")
        with urlopen(request, timeout=10) as response:
            text = response.read().decode()
        pattern = r'^facilitator_media_loss_ratio\{direction="(\w+)",stat="(\w+)"\} (\S+)$'
        found = {f"{d}/{s}": float(v) for d, s, v in re.findall(pattern, text, re.MULTILINE)}
        paused = re.search(r"^facilitator_media_videos_paused (\S+)$", text, re.MULTILINE)
        if paused:
            found["paused"] = float(paused.group(1))
        return found

    def stop(self) -> None:
        """Stop it and remove its data."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST JSON, return the JSON answer."""
    request = Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def via(link: str, address: str, port: int) -> str:
    """A meeting link through one lab address (what that participant's network reaches)."""
    parts = urlsplit(link)
    return urlunsplit((parts.scheme, f"{address}:{port}", parts.path, parts.query, ""))


class Participants:
    """The worker processes, one per participant, and their pipes."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        self.chromium: set[int] = set()
        self.ids: list[str] = []

    def start(self, target: Any, args: tuple[Any, ...], chromium: bool = False) -> None:
        """Start one worker (``networkers.bot_worker`` or ``chromium_worker``)."""
        parent, child = self.context.Pipe()
        proc = self.context.Process(target=target, args=(child, *args), daemon=True)
        proc.start()
        if chromium:
            self.chromium.add(len(self.pipes))
        self.pipes.append(parent)
        self.procs.append(proc)

    def ask(self, index: int, command: str, args: Any = None, timeout: float = 60.0) -> Any:
        """One command to one worker; its answer."""
        pipe = self.pipes[index]
        pipe.send((command, args))
        if not pipe.poll(timeout):
            raise TimeoutError(f"participant {index + 1} did not answer {command}")
        return pipe.recv()

    def ask_all(self, command: str, args: Any = None, bots_only: bool = False) -> list[Any]:
        """One command to every worker (or every synthetic one); answers by index (None: not)."""
        chosen = [i for i in range(len(self.pipes)) if not (bots_only and i in self.chromium)]
        for i in chosen:
            self.pipes[i].send((command, args))
        answers: list[Any] = [None] * len(self.pipes)
        for i in chosen:
            if not self.pipes[i].poll(120):
                raise TimeoutError(f"participant {i + 1} did not answer {command}")
            answers[i] = self.pipes[i].recv()
        return answers

    def stop(self) -> None:
        """Ask every worker to leave, then end any that did not."""
        for i, pipe in enumerate(self.pipes):
            try:
                self.ask(i, "leave", timeout=15)
            except (OSError, EOFError, TimeoutError):
                pipe.close()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()


def run(scenario: Scenario, progress: bool = True) -> Outcome:
    """Run one scenario and measure it."""
    networkers.prepare()
    with NetLab() as lab, tempfile.TemporaryDirectory(prefix="netlab-") as folder:
        links = [lab.add() for _ in range(scenario.people)]
        server = LabServer([link.server_address for link in links])
        workers = Participants()
        try:
            base = server.start()
            meeting = post(f"{base}/api/meetings", {"yaml": LOAD_AGENDA, "max_people": 100})
            for i, link in enumerate(links):
                url = via(meeting["participant_url"], link.server_address, server.port)
                name = f"Net {i + 1}"
                if i == 0 and scenario.chromium:
                    workers.start(networkers.chromium_worker, (link.pid, url, name, folder), True)
                else:
                    adapt = scenario.adapt if i == 0 else scenario.others_adapt
                    workers.start(networkers.bot_worker, (link.pid, link.address, url, name, adapt))
            for i in range(len(links)):
                workers.ids.append(workers.ask(i, "join", timeout=120))
            connected = warm_up(workers, scenario, progress)
            if scenario.others_kbit is not None:
                for link in links[1:]:
                    link.limit(down_kbit=scenario.others_kbit)
            outcome = measure(scenario, lab, links, workers, connected, progress)
            outcome.trace = server.trace(outcome.bad)
            outcome.server_metrics = server.metrics()
            return outcome
        finally:
            workers.stop()
            server.stop()


def warm_up(workers: Participants, scenario: Scenario, progress: bool) -> bool:
    """Wait until everyone receives everyone's audio and video (or give up)."""
    wanted = scenario.people * (scenario.people - 1) * 2
    deadline = time.monotonic() + WARMUP_TIMEOUT
    while time.monotonic() < deadline:
        flowing = sum(workers.ask_all("flowing"))
        say(f"{scenario.name}: connecting, {flowing}/{wanted} streams flowing", progress)
        if flowing >= wanted:
            time.sleep(2.0)
            return True
        time.sleep(1.0)
    return False


def measure(
    scenario: Scenario,
    lab: NetLab,
    links: list[Link],
    workers: Participants,
    connected: bool,
    progress: bool,
) -> Outcome:
    """Baseline, the bad link, and the time after: windows, counters and recovery."""
    bad = links[0]
    marks: list[tuple[str, float, dict[int, int], dict[int, int], list[Any]]] = []

    def mark(name: str) -> None:
        samples = [workers.ask(i, "sample") if i in workers.chromium else None
                   for i in range(len(links))]  # fmt: skip
        received = {link.index: link.received_bytes() for link in links}
        marks.append((name, time.monotonic(), lab.offered_bytes(), received, samples))

    def wait(seconds: float, label: str) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            say(f"{scenario.name}: {label}, {left:.0f} s left", progress)
            time.sleep(min(1.0, left))

    load = _load_average()
    mark("start")
    if scenario.baseline > 0:
        wait(scenario.baseline, "baseline")
        mark("baseline")
    bad.limit(scenario.down_kbit, scenario.up_kbit)
    if scenario.down_loss or scenario.up_loss:
        bad.lose(scenario.down_loss, scenario.up_loss)
    if scenario.cut:
        bad.set_cut(True)
    wait(scenario.duration, "bad link")
    mark("during")
    if scenario.after > 0:
        bad.set_cut(False)
        bad.lose(0.0, 0.0)
        bad.limit(scenario.others_kbit, None)
        wait(scenario.after, "link good again")
        mark("after")
    phases = []
    ids = workers.ids
    for earlier, later in itertools.pairwise(marks):
        (_, start, off0, rx0, s0), (name, end, off1, rx1, s1) = earlier, later
        seconds = end - start
        windows = workers.ask_all("window", (start, end), bots_only=True)
        for i in workers.chromium:
            windows[i] = networkers.chromium_window(s0[i], s1[i])
        for link, window in zip(links, windows, strict=True):
            window["down_kbps"] = 8 * (rx1[link.index] - rx0[link.index]) / seconds / 1000
            offered = off1.get(link.index, 0) - off0.get(link.index, 0)
            window["offered_kbps"] = 8 * offered / seconds / 1000
        subscribers = dict(zip(ids, windows, strict=True))
        summary = summarise(ids[0], subscribers, seconds)
        if name == "after":
            recoveries = workers.ask_all("recovery", (start, end), bots_only=True)
            summary.update(recovery_summary(ids, recoveries))
        phases.append(Phase(name, round(seconds, 1), summary, subscribers))
    notes = [] if connected else ["not every stream was flowing before measuring"]
    if load[0] > 2:
        notes.append(f"the machine was busy (load average {load[0]:.1f} on 2 cores)")
    return Outcome(scenario, ids[0], phases, load, connected, notes)


def summarise(bad: str, subscribers: dict[str, dict[str, Any]], seconds: float) -> dict[str, Any]:
    """The table's numbers for one window: the bad person's view, everyone else's, its video."""
    sent = {p: w["sent"] for p, w in subscribers.items()}

    def audio_loss(stream: str, window: dict[str, Any]) -> float:
        if "lost" in window:
            total = window["received_packets"] + window["lost"]
            return window["lost"] / total if total else 0.0
        publisher = stream.split("/")[0]
        return loss(window["frames"], sent.get(publisher, {}).get("audio", {}).get("frames", 0))

    mine = subscribers[bad]
    my_video = [w for s, w in mine["streams"].items() if s.endswith("/video")]
    my_audio = [audio_loss(s, w) for s, w in mine["streams"].items() if s.endswith("/audio")]
    others = {p: w for p, w in subscribers.items() if p != bad}
    their_video = [
        w for o in others.values() for s, w in o["streams"].items() if s.endswith("/video")
    ]
    seen_bad = [o["streams"].get(f"{bad}/video") for o in others.values()]
    seen = [w for w in seen_bad if w is not None]
    missing = len(seen_bad) - len(seen)
    bad_sent = mine["sent"]["video"]
    frozen = [share(w) for w in my_video]
    return {
        "bad_frozen_pct": pct(mean(frozen)),
        "bad_frozen_max_pct": pct(max(frozen, default=1.0)),
        "bad_usable": f"{sum(1 for f in frozen if f <= USABLE_FROZEN)}/{len(others)}",
        "bad_longest_freeze_s": round(max((w["longest_freeze_s"] for w in my_video), default=0), 1),
        "bad_audio_loss_pct": pct(max(my_audio, default=1.0)),
        "bad_kf_min": round(mean([kf_min(w) for w in my_video]), 1),
        "bad_fps": round(mean([w["frames"] / w["seconds"] for w in my_video if w["seconds"]]), 1),
        "bad_down_kbps": round(mine["down_kbps"]),
        "bad_offered_kbps": round(mine["offered_kbps"]),
        "others_frozen_max_pct": pct(max((share(w) for w in their_video), default=1.0)),
        "others_kf_min": span([kf_min(w) for w in their_video]),
        "others_down_kbps": round(mean([o["down_kbps"] for o in others.values()])),
        "others_audio_loss_max_pct": pct(
            max(
                (
                    audio_loss(s, w)
                    for o in others.values()
                    for s, w in o["streams"].items()
                    if s.endswith("/audio")
                ),
                default=1.0,
            )
        ),
        "seen_bad_frozen_max_pct": pct(max([share(w) for w in seen] + [1.0] * missing)),
        "seen_bad_fps": round(mean([w["frames"] / w["seconds"] for w in seen]), 1),
        "bad_sent_kbps": round(8 * bad_sent["bytes"] / seconds / 1000),
        "bad_audio_sent_per_s": round(mine["sent"]["audio"]["frames"] / seconds, 1),
        "bad_keyframe_requests_min": round(60 * (mine.get("keyframe_requests") or 0) / seconds, 1),
        "bad_estimate_kbps": mine.get("estimate_kbps"),
    }


def recovery_summary(ids: list[str], recoveries: list[Any]) -> dict[str, Any]:
    """Seconds until the bad person's streams, and its video at others, ran steadily again."""
    bad = ids[0]
    mine = recoveries[0]
    own = list(mine.values()) if mine is not None else []
    seen = [r.get(f"{bad}/video") for r in recoveries[1:] if r is not None]
    audio = [v for k, v in (mine or {}).items() if k.endswith("/audio")]
    return {
        "bad_recovery_s": worst(own),
        "seen_bad_recovery_s": worst(seen),
        "bad_audio_recovery_s": worst(audio),  # its audio alone (bad_recovery_s: all of it)
    }


def worst(values: list[float | None]) -> float | None:
    """The slowest recovery (None if any stream never recovered or there were none)."""
    if not values or any(v is None for v in values):
        return None
    return round(max(v for v in values if v is not None), 1)


def share(window: dict[str, Any]) -> float:
    """A video window's frozen share."""
    return min(1.0, window["frozen_s"] / window["seconds"]) if window["seconds"] else 0.0


def kf_min(window: dict[str, Any]) -> float:
    """Keyframes per minute in a window."""
    return 60 * window["keyframes"] / window["seconds"] if window["seconds"] else 0.0


def mean(values: list[float]) -> float:
    """The mean (0 when empty)."""
    return sum(values) / len(values) if values else 0.0


def pct(value: float) -> float:
    """A share as a percentage with two decimals."""
    return round(100 * value, 2)


def span(values: list[float]) -> str:
    """``low-high`` of some values, rounded."""
    if not values:
        return "-"
    low, high = round(min(values)), round(max(values))
    return f"{low}" if low == high else f"{low}-{high}"


def say(line: str, progress: bool) -> None:
    """One progress line, overwritten by the next."""
    if progress:
        print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)


def _load_average() -> tuple[float, float, float]:
    with open("/proc/loadavg") as f:
        one, five, fifteen = (float(x) for x in f.read().split()[:3])
    return one, five, fifteen


# Reports

COLUMNS = [
    ("frozen %", "bad_frozen_pct", "{:.1f}"),
    ("usable", "bad_usable", "{}"),
    ("longest s", "bad_longest_freeze_s", "{:.1f}"),
    ("audio loss %", "bad_audio_loss_pct", "{:.1f}"),
    ("fps", "bad_fps", "{:.0f}"),
    ("kf/min", "bad_kf_min", "{:.0f}"),
    ("down/offered kbit/s", "down_offered", "{}"),
    ("| others frozen %", "others_frozen_max_pct", "{:.1f}"),
    ("kf/min", "others_kf_min", "{}"),
    ("down kbit/s", "others_down_kbps", "{}"),
    ("| its video frozen %", "seen_bad_frozen_max_pct", "{:.1f}"),
    ("fps", "seen_bad_fps", "{:.0f}"),
    ("sent kbit/s", "bad_sent_kbps", "{}"),
    ("PLI/min", "bad_keyframe_requests_min", "{:.0f}"),
    ("| recovery s", "recovery", "{}"),
]
"""Left: what the person with the bad link sees; then everyone else (worst stream, keyframes
per minute per stream, mean download); then that person's video as the others see it."""


def row(outcome: Outcome, phase: Phase) -> list[str]:
    """One table row."""
    data = dict(phase.summary)
    data["down_offered"] = f"{data['bad_down_kbps']}/{data['bad_offered_kbps']}"
    if phase.name == "after":
        own, seen = data.get("bad_recovery_s"), data.get("seen_bad_recovery_s")
        data["recovery"] = f"{'never' if own is None else own}/{'never' if seen is None else seen}"
    else:
        data["recovery"] = ""
    cells = [outcome.scenario.name, phase.name]
    for _, key, fmt in COLUMNS:
        value = data.get(key)
        cells.append(fmt.format(value) if value is not None and value != "" else "-")
    return cells


def table(outcomes: list[Outcome]) -> str:
    """The outcomes as a plain-text table, with notes under it."""
    rows = [["scenario", "phase", *(title for title, _, _ in COLUMNS)]]
    for outcome in outcomes:
        rows += [row(outcome, phase) for phase in outcome.phases]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(
        "recovery s: the person's own streams / its video at the others, until 2 s without a freeze"
    )
    for outcome in outcomes:
        one, five, _ = outcome.load_average
        lines.append(f"{outcome.scenario.name}: {outcome.scenario.description}; "
                     f"load average {one:.1f}/{five:.1f}")  # fmt: skip
        if outcome.scenario.chromium:
            during = next(p for p in outcome.phases if p.name == "during")
            lines.append(
                f"  Chromium's silent microphone sent {during.summary['bad_audio_sent_per_s']} "
                "audio packets/s (DTX target: at most 10)"
            )
        for note in outcome.notes:
            lines.append(f"  {note}")
    return "\n".join(lines)


def save(outcomes: list[Outcome], path: Path | None = None) -> Path:
    """Write the outcomes as JSON (to ``path``, or a dated file under bench/results/)."""
    if path is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / time.strftime("netbench-%Y%m%d-%H%M%S.json")
    data = {"machine": machine(), "outcomes": [asdict(o) for o in outcomes]}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def chosen(names: list[str] | None, duration: float | None, after: float | None) -> list[Scenario]:
    """The named scenarios (all without names), with the durations given."""
    picked = [s for s in SCENARIOS if not names or s.name in names]
    unknown = set(names or []) - {s.name for s in SCENARIOS}
    if unknown:
        raise ValueError(f"no such scenario: {', '.join(sorted(unknown))}")
    out = []
    for scenario in picked:
        changes: dict[str, Any] = {}
        if duration is not None and not scenario.cut:
            changes["duration"] = duration
        if after is not None and scenario.after > 0:
            changes["after"] = after
        out.append(replace(scenario, **changes))
    return out
