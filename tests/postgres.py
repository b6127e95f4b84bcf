"""A throwaway PostgreSQL server for the tests (Debian's ``postgresql`` package).

It listens on a Unix socket in its own temporary folder only (no TCP at all), runs as the
``postgres`` user when the tests run as root (PostgreSQL refuses to run as root), and is
stopped and deleted at the end of the session. ``make test`` installs the package.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

try:
    import psycopg
except ImportError:  # pragma: no cover - the test extras install it
    psycopg = None  # type: ignore[assignment]


def binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` with initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    number = Path(path).parts[-3]
    return int(number) if number.isdigit() else 0


def missing_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    if psycopg is None:
        return "psycopg is not installed (pip install -e '.[test]')"
    if binaries() is None:
        return "PostgreSQL is not installed (make test-tools: apt-get install postgresql)"
    return None


@dataclass
class PostgresServer:
    """One initdb'd cluster in a temporary folder, reached through its socket."""

    folder: Path
    bin: Path
    user: str
    databases: int = 0
    prefix: list[str] = field(default_factory=list)

    @property
    def socket_dir(self) -> Path:
        """Where the server's Unix socket is."""
        return self.folder / "socket"

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for one database, through the socket."""
        return f"postgresql:///{database}?host={self.socket_dir}&user={self.user}"

    def run(self, *args: str) -> None:
        """Run one PostgreSQL program as the server's user."""
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """initdb and start (fsync off: nothing here needs to survive a power cut)."""
        data = self.folder / "data"
        self.run(str(self.bin / "initdb"), "-D", str(data), "-U", self.user, "-A", "trust")
        options = (
            f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = self.folder / "server.log"
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        """Stop the server (fast: disconnects everyone)."""
        data = self.folder / "data"
        subprocess.run(
            [*self.prefix, str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        assert psycopg is not None
        self.databases += 1
        name = f"test_{self.databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            # A file copy of the tiny template is quicker than the WAL-logged default.
            conn.execute(f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server for the session; skip the test when PostgreSQL is not installed."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    bin_dir = binaries()
    assert bin_dir is not None
    folder = Path(tempfile.mkdtemp(prefix="facilitator-pg-"))
    (folder / "socket").mkdir()
    prefix: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        # PostgreSQL will not run as root: the package's own user runs it.
        user = "postgres"
        entry = pwd.getpwnam(user)
        for path in (folder, folder / "socket"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    server = PostgresServer(folder, bin_dir, user, prefix=prefix)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        log = folder / "server.log"
        detail = log.read_text() if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r} {detail}") from exc
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
