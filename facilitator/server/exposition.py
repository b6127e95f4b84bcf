"""The Prometheus text exposition format (version 0.0.4), written by hand: it is small.

A ``Family`` is one metric name with its help, type and samples; ``render`` writes families
out. ``Histogram`` is the one stateful kind (store write times); counters and gauges are
plain numbers read when ``/metrics`` is scraped.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """One metric: ``counter``, ``gauge`` or ``histogram``, and its samples."""

    name: str
    help: str
    type: str
    samples: list[tuple[str, Labels, float]] = field(default_factory=list)
    """(sample name, labels, value); the sample name is the family's, or with a suffix."""

    def add(self, value: float, labels: Labels = (), suffix: str = "") -> Family:
        """Add one sample; returns the family, so one-sample families fit on a line."""
        self.samples.append((self.name + suffix, labels, value))
        return self


def counter(name: str, help: str, value: float) -> Family:
    """A counter with one sample (``name`` ends in ``_total``)."""
    return Family(name, help, "counter").add(value)


def gauge(name: str, help: str, value: float) -> Family:
    """A gauge with one sample."""
    return Family(name, help, "gauge").add(value)


class Histogram:
    """Counts observations into cumulative buckets, as Prometheus histograms do."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = sorted(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Record one observation."""
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def family(self, name: str, help: str) -> Family:
        """The histogram as a family: cumulative ``_bucket``s, ``_sum`` and ``_count``."""
        family = Family(name, help, "histogram")
        running = 0
        for bound, count in zip([*self.bounds, math.inf], self.counts, strict=True):
            running += count
            family.add(running, (("le", format_value(bound)),), "_bucket")
        family.add(self.sum, suffix="_sum")
        family.add(self.count, suffix="_count")
        return family


def format_value(value: float) -> str:
    """A sample value as the format spells it (integers without a decimal point)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_labels(labels: Labels) -> str:
    """``{name="value",...}``, or nothing without labels."""
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def render(families: Iterable[Family]) -> str:
    """The exposition text for ``families``."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help.replace(chr(92), chr(92) * 2)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for name, labels, value in family.samples:
            lines.append(f"{name}{format_labels(labels)} {format_value(value)}")
    return "\n".join(lines) + "\n"


def merge(parts: Iterable[tuple[Labels, str]]) -> str:
    """Join several processes' exposition texts, adding each one's labels to its samples.

    Each family's HELP and TYPE appear once, with the samples of every part under them (the
    format allows a family only once). Only text written by ``render`` is understood.
    """
    order: list[str] = []
    heads: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    for labels, text in parts:
        current = ""
        extra = format_labels(labels)[1:-1]
        for line in text.splitlines():
            if line.startswith("# HELP "):
                current = line.split(" ", 3)[2]
                if current not in heads:
                    order.append(current)
                    heads[current] = [line]
                    samples[current] = []
            elif line.startswith("# TYPE "):
                if len(heads.get(current, [])) == 1:
                    heads[current].append(line)
            elif line and current:
                samples[current].append(_with_labels(line, extra))
    lines = [line for name in order for line in (*heads[name], *samples[name])]
    return "\n".join(lines) + "\n" if lines else ""


def _with_labels(line: str, extra: str) -> str:
    if not extra:
        return line
    name, _, rest = line.partition(" ")
    if name.endswith("}"):
        return f"{name[:-1]},{extra}}} {rest}"
    return f"{name}{{{extra}}} {rest}"
