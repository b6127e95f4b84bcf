"""SQLite storage for meetings and sessions (the default: one machine, a file under ``--data``).

The meeting itself is stored as a JSON snapshot (agenda, clock deadlines, people and roles,
removals, chat, event log): restoring it after a crash gives back the meeting with the downtime
counted as elapsed time. Deleted rows are overwritten with zeros and the write-ahead log is
emptied after deletions, so what was deleted cannot be read back from the files.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .base import SchemaTooNew
from .sql import Cursor, SqlStore, numbered

Migration = str | Callable[[sqlite3.Connection], None]

TABLES = """
CREATE TABLE IF NOT EXISTS meetings (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    person_id TEXT NOT NULL,
    facilitator INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    joined INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_meeting ON sessions(meeting_id);
"""


def _joined_column(db: sqlite3.Connection) -> None:
    columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
    if "joined" not in columns:  # a database from before sessions were cleaned up
        db.execute("ALTER TABLE sessions ADD COLUMN joined INTEGER NOT NULL DEFAULT 1")


MIGRATIONS: tuple[Migration, ...] = (
    # 1: the tables (a database from before versions already has them).
    TABLES,
    # 2: sessions remember whether their browser joined.
    _joined_column,
    # 3: leases: which process runs each meeting (see leases.py).
    "ALTER TABLE meetings ADD COLUMN lease_owner TEXT;"
    "ALTER TABLE meetings ADD COLUMN lease_url TEXT;"
    "ALTER TABLE meetings ADD COLUMN lease_expires REAL;"
    "ALTER TABLE meetings ADD COLUMN lease_wanted TEXT;",
    # 4: sessions remember the role their token was handed out for (a role change replaces it).
    "ALTER TABLE sessions ADD COLUMN role TEXT NOT NULL DEFAULT '';",
)


class SqliteStore(SqlStore):
    """The SQLite database file at ``path``, in WAL mode, written by one thread."""

    TIMES_QUERY = (
        "SELECT id, json_extract(snapshot, '$.clock.ended_at'), updated_at,"
        " json_extract(snapshot, '$.scheduled_at') FROM meetings"
    )

    NOW_SQL = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create the folder, the file and the tables if needed."""
        await self._run(self._open)

    def _open(self) -> tuple[int, int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, not just unlinked (see ``purge``).
        db.execute("PRAGMA secure_delete=ON")
        self._db = db
        return self._migrate()

    async def migrate(self) -> tuple[int, int]:
        """Run the migrations this file has not had; return (version before, after)."""
        if self._db is None:
            return await self._run(self._open)  # opening migrates
        return await self._run(self._migrate)

    def _migrate(self) -> tuple[int, int]:
        db = self.db
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        before = int(row[0] or 0)
        if before > len(MIGRATIONS):
            raise SchemaTooNew(
                f"{self.path} is at schema version {before}, but this facilitator knows only "
                f"{len(MIGRATIONS)}: run a newer facilitator, or restore an older copy"
            )
        for number, migration in numbered(MIGRATIONS):
            if number <= before:
                continue
            # Several workers may open a new file at once: take the write lock first, then
            # look again whether another one has applied this migration meanwhile.
            with self.db:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
                if int(row[0] or 0) >= number:
                    continue
                if callable(migration):
                    migration(db)
                else:
                    for statement in migration.split(";"):
                        if statement.strip():
                            db.execute(statement)
                db.execute("DELETE FROM schema_version")
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        return before, len(MIGRATIONS)

    async def close(self) -> None:
        """Finish pending writes and close the database."""
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self.shutdown()

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection (only ever used on the store's thread)."""
        assert self._db is not None, "Store.open() first"
        return self._db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement on the store's thread."""
        return self.db.execute(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT (ROLLBACK when the block raises)."""
        with self.db:
            self.db.execute("BEGIN")
            yield

    async def purge(self) -> None:
        """Move everything into the database file and empty the write-ahead log.

        Called after deletions: with ``secure_delete`` the freed pages are zeroed in the
        database file, and the old copies of those pages in the WAL are gone with it.
        """

        def checkpoint() -> None:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._run(checkpoint)
