"""Load test results: the record of one scenario, tables, and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path("bench/results")


@dataclass
class Result:
    """One measured scenario."""

    participants: int
    mode: str
    """``forward`` (the SFU), ``transcode`` (the baseline) or ``janus`` (Janus VideoRoom)."""
    duration: float
    server_cpu_pct: float | None
    """Server CPU, % of one core."""
    server_rss_mb: float | None
    packets_per_s: float
    """RTP packets the server sent per second."""
    frames_per_s: float
    """Encoded frames the server forwarded per second."""
    cpu_us_per_packet: float | None
    loss_pct_mean: float
    loss_pct_max: float
    """Worst subscriber, audio or video."""
    delay_ms_p50: float | None
    delay_ms_p99: float | None
    """Added delay through the server (send to arrival, same machine clock)."""
    join_keyframe_ms_p50: float | None
    join_keyframe_ms_max: float | None
    loop_lag_ms_p99: float | None
    control_ms_p50: float | None
    """From a facilitator's control to another participant's new state (WebSocket round)."""
    control_ms_p99: float | None
    generator_cpu_pct_max: float
    generator_busy: bool
    machine_cpu_pct: float | None
    """Everything running on the machine (from /proc/stat), % of all cores: near 100 the machine,
    not the server, is the limit (other programs count too)."""
    connected: bool
    """Every participant received every other one before measuring."""
    notes: list[str] = field(default_factory=list)
    generator: str = "aiortc"
    """``light`` (pre-built RTP packets) or ``aiortc`` (aiortc's media stack)."""
    packets_received_per_s: float | None = None
    """RTP packets the participants received per second (light generator only)."""
    cpu_us_per_received_packet: float | None = None
    """Server CPU per packet received by a participant: the measure compared with Janus."""
    pinned: bool = False
    """The server ran on core 0 and the load generator on the other cores."""


COLUMNS = [
    ("N", "participants", "{}"),
    ("mode", "mode", "{}"),
    ("CPU %", "server_cpu_pct", "{:.1f}"),
    ("RSS MB", "server_rss_mb", "{:.0f}"),
    ("pkt/s", "packets_per_s", "{:.0f}"),
    ("µs/pkt", "cpu_us_per_packet", "{:.1f}"),
    ("loss %", "loss_pct_max", "{:.2f}"),
    ("delay p50", "delay_ms_p50", "{:.1f}"),
    ("delay p99", "delay_ms_p99", "{:.1f}"),
    ("key ms", "join_keyframe_ms_max", "{:.0f}"),
    ("lag p99", "loop_lag_ms_p99", "{:.1f}"),
    ("ctl p99", "control_ms_p99", "{:.0f}"),
    ("gen", "generator", "{}"),
    ("gen %", "generator_cpu_pct_max", "{:.0f}"),
    ("machine %", "machine_cpu_pct", "{:.0f}"),
]


def table(results: list[Result]) -> str:
    """The results as a plain-text table (delays and lags in ms; loss: worst subscriber)."""
    rows = [[title for title, _, _ in COLUMNS]]
    for result in results:
        data = asdict(result)
        rows.append(
            [fmt.format(data[key]) if data[key] is not None else "-" for _, key, fmt in COLUMNS]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    for result in results:
        for note in result.notes:
            lines.append(f"N={result.participants} {result.mode}: {note}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = match.group(1) if match else ""
    import aiortc

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "aiortc": aiortc.__version__,
        "platform": platform.platform(),
    }


def save(results: list[Result], extra: dict[str, Any], path: Path | None) -> Path:
    """Write the results as JSON (to ``path``, or a dated file under bench/results/)."""
    if path is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / time.strftime("loadtest-%Y%m%d-%H%M%S.json")
    data = {"machine": machine(), "results": [asdict(r) for r in results], **extra}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def _cell(value: float | None, fmt: str) -> str:
    return fmt.format(value) if value is not None else "-"


def janus_table(pairs: list[tuple[Result, Result]]) -> str:
    """facilitator and Janus side by side, per N: CPU, µs per received packet, p99 delay.

    Both use the packets the participants received, so the two servers are measured alike;
    ``ratio`` is facilitator's µs/packet over Janus's (under 1: facilitator is cheaper).
    """
    head = ["N", "fac CPU %", "janus CPU %", "fac µs/pkt", "janus µs/pkt", "ratio"]
    head += ["fac p99", "janus p99", "p99 diff", "fac loss %", "janus loss %", "gen % f/j"]
    rows = [head]
    for fac, jan in pairs:
        diff = (
            fac.delay_ms_p99 - jan.delay_ms_p99
            if fac.delay_ms_p99 is not None and jan.delay_ms_p99 is not None
            else None
        )
        rows.append(
            [
                str(fac.participants),
                _cell(fac.server_cpu_pct, "{:.1f}"),
                _cell(jan.server_cpu_pct, "{:.1f}"),
                _cell(fac.cpu_us_per_received_packet, "{:.1f}"),
                _cell(jan.cpu_us_per_received_packet, "{:.1f}"),
                _ratio(fac.cpu_us_per_received_packet, jan.cpu_us_per_received_packet),
                _cell(fac.delay_ms_p99, "{:.1f}"),
                _cell(jan.delay_ms_p99, "{:.1f}"),
                _cell(diff, "{:+.1f}"),
                f"{fac.loss_pct_max:.2f}",
                f"{jan.loss_pct_max:.2f}",
                f"{fac.generator_cpu_pct_max:.0f}/{jan.generator_cpu_pct_max:.0f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )
