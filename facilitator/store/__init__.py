"""Where meetings and sessions are kept: SQLite by default, PostgreSQL for several machines.

``open_store`` picks the engine from ``--database``: a plain path or ``sqlite:///path`` is a
SQLite file, ``postgresql://...`` a PostgreSQL database (the ``postgres`` extra).
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    SESSION_SECONDS,
    STORE_ERRORS,
    UNJOINED_SESSION_SECONDS,
    Lease,
    LeaseLost,
    MeetingTimes,
    SchemaTooNew,
    Session,
    Store,
    StoredMeeting,
    StoreError,
    is_disk_full,
)
from .sqlite import SqliteStore

__all__ = [
    "SESSION_SECONDS",
    "STORE_ERRORS",
    "UNJOINED_SESSION_SECONDS",
    "Lease",
    "LeaseLost",
    "MeetingTimes",
    "NoDriver",
    "SchemaTooNew",
    "Session",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoredMeeting",
    "is_disk_full",
    "is_shared",
    "open_store",
]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite://"
SQLITE_FILE = "facilitator.sqlite3"


class NoDriver(RuntimeError):
    """A PostgreSQL URL was given but psycopg is not installed."""


def is_shared(url: str | None) -> bool:
    """True when ``url`` names a database that several processes may share (PostgreSQL)."""
    return url is not None and url.startswith(POSTGRES_SCHEMES)


def sqlite_path(url: str | None, data_dir: Path) -> Path:
    """The SQLite file of ``url`` (``sqlite:///path``, a plain path, or None: under --data)."""
    if url is None:
        return data_dir / SQLITE_FILE
    return Path(url.removeprefix(SQLITE_SCHEME))


def open_store(url: str | None, data_dir: Path) -> Store:
    """The store for ``--database`` (not yet opened)."""
    if is_shared(url):
        assert url is not None
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise NoDriver(
                "PostgreSQL needs psycopg: pip install 'facilitator[postgres]'"
            ) from None
        from .postgres import PostgresStore

        return PostgresStore(url)
    return SqliteStore(sqlite_path(url, data_dir))
