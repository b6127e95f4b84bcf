"""``facilitator migrate`` and serve's --database and --node-url on the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from facilitator.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_migrate_runs_the_migrations_once(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--database", database, "--data", str(tmp_path)]) == 0
    assert "Migrated the database from schema version 0 to " in capsys.readouterr().out
    assert main(["migrate", "--database", database, "--data", str(tmp_path)]) == 0
    assert "The database is up to date (schema version " in capsys.readouterr().out


def test_migrate_says_when_the_database_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"postgresql:///nothing?host={tmp_path}&connect_timeout=2"
    assert main(["migrate", "--database", missing]) == 1
    assert "cannot migrate the database" in capsys.readouterr().err


def test_a_shared_database_needs_a_node_url(tmp_path: Path) -> None:
    shared = f"postgresql:///x?host={tmp_path}"  # never reached: refused before that
    serve = [sys.executable, "-m", "facilitator", "serve", "--data", str(tmp_path)]
    done = subprocess.run(
        [*serve, "--database", shared],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "needs --node-url" in done.stderr
