"""The attack benchmark (``facilitator loadtest --attacks``), run small: two cheap attacks for
2 s each through the same code, measured and tabled (the speed targets live in the benchmark)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from facilitator.bench.attacks import run, table


def test_two_cheap_attacks_make_rows_with_numbers(tmp_path: Path) -> None:
    path = tmp_path / "attacks.json"
    rows, saved = run(["page-loop", "oversized-names"], 2.0, path, quiet=True)
    assert saved == path
    assert [row.attack for row in rows] == ["page-loop", "oversized-names"]
    for row in rows:
        assert not row.error, row.error
        assert row.controls >= 5 and row.control_ms_p50 is not None, row
        assert row.control_ms_p99 is not None and row.control_ms_p99 > 0
        assert row.pages >= 2 and row.page_ms_p99 is not None
        assert row.server_cpu_pct is not None and row.server_rss_mb is not None
        assert row.loop_lag_ms_p99 is not None
        assert row.tracebacks == 0
        assert row.full_collections is not None and row.full_collections >= 0
    # What the server did: the page flood was limited, the oversized names were cut off.
    pages, names = rows
    assert pages.counts["429"] > 0 and pages.counts["200"] > 0, pages.counts
    assert names.counts["closed 4422"] > 0 and names.counts["bad-name"] > 0, names.counts
    text = table(rows)
    lines = text.splitlines()
    assert len(lines) == 4
    for line, row in zip(lines[2:], rows, strict=True):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[0] == row.attack
        assert "429" in cells[1] or "4422" in cells[1]
        assert all(re.fullmatch(r"[\d.]+( \*\*slow\*\*)?", c) for c in (cells[2], cells[3])), cells
        assert re.fullmatch(r"\d+/\d+", cells[4]) and re.fullmatch(r"\d+/\d+", cells[6]), cells
    saved_rows = json.loads(path.read_text())["results"]
    assert [r["attack"] for r in saved_rows] == ["page-loop", "oversized-names"]
    assert saved_rows[0]["counts"] == dict(pages.counts)
