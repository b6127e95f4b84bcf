"""PostgreSQL storage: the same data as the SQLite store, in a database several machines share.

Needs the ``postgres`` extra (``pip install 'facilitator[postgres]'``: psycopg 3). The URL is
psycopg's, e.g. ``postgresql://facilitator:secret@db.example.org/facilitator``. Every node runs
the same migrations at start; an advisory lock makes them run once when nodes start together.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from .base import SchemaTooNew, StoreError
from .sql import Cursor, SqlStore, numbered

T = TypeVar("T")

MIGRATION_LOCK = 0x6661_6369
"""The advisory lock nodes take while migrating (any constant that other apps do not use)."""

MIGRATIONS: tuple[str, ...] = (
    # 1: meetings and sessions, as in SQLite.
    """
    CREATE TABLE meetings (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        person_id TEXT NOT NULL,
        facilitator INTEGER NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL,
        joined INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_meeting ON sessions(meeting_id)
    """,
    # 2: leases: which node runs each meeting (see leases.py).
    """
    ALTER TABLE meetings ADD COLUMN lease_owner TEXT;
    ALTER TABLE meetings ADD COLUMN lease_url TEXT;
    ALTER TABLE meetings ADD COLUMN lease_expires DOUBLE PRECISION;
    ALTER TABLE meetings ADD COLUMN lease_wanted TEXT
    """,
    # 3: sessions remember the role their token was handed out for (a role change replaces it).
    "ALTER TABLE sessions ADD COLUMN role TEXT NOT NULL DEFAULT ''",
)


class PostgresStore(SqlStore):
    """One connection to the database at ``url``, used by the store's thread."""

    TIMES_QUERY = (
        "SELECT id, (snapshot::jsonb #>> '{clock,ended_at}')::float8, updated_at,"
        " (snapshot::jsonb #>> '{scheduled_at}')::float8 FROM meetings"
    )

    NOW_SQL = "EXTRACT(EPOCH FROM clock_timestamp())::float8"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._conn: Any = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        # psycopg's errors become StoreError, so callers need not import the driver.
        import psycopg

        try:
            return await super()._run(fn, *args)
        except psycopg.Error as exc:
            raise StoreError(str(exc).strip(), exc.sqlstate) from exc

    @property
    def conn(self) -> Any:
        """The connection, opened again if it broke (the database restarted, say)."""
        import psycopg

        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        return self._conn

    async def open(self) -> None:
        """Connect and bring the tables up to date."""
        await self._run(self._migrate)

    async def migrate(self) -> tuple[int, int]:
        """Run the migrations this database has not had; return (version before, after)."""
        return await self._run(self._migrate)

    def _migrate(self) -> tuple[int, int]:
        with self.transaction():
            self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self.execute("SELECT MAX(version) FROM schema_version").fetchone()
            before = int(row[0] or 0)
            if before > len(MIGRATIONS):
                raise SchemaTooNew(
                    f"the database is at schema version {before}, but this facilitator knows "
                    f"only {len(MIGRATIONS)}: run a newer facilitator"
                )
            for number, migration in numbered(MIGRATIONS):
                if number > before:
                    for statement in migration.split(";"):
                        if statement.strip():
                            self.execute(statement)
            self.execute("DELETE FROM schema_version")
            self.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS),))
        return before, len(MIGRATIONS)

    async def close(self) -> None:
        """Disconnect."""

        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await self._run(close)
        self.shutdown()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; ``?`` becomes psycopg's ``%s`` (no query has a literal ``?``)."""
        cursor: Cursor = self.conn.execute(sql.replace("?", "%s"), params)
        return cursor

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction (rolled back when the block raises)."""
        with self.conn.transaction():
            yield

    async def purge(self) -> None:
        """Reclaim deleted rows now (PostgreSQL has no secure delete: VACUUM frees them for
        reuse; the operator's disk encryption and backups policy cover the rest)."""

        def vacuum() -> None:
            self.execute("VACUUM meetings")
            self.execute("VACUUM sessions")

        await self._run(vacuum)
