"""The reads by id on the event loop on SQLite (issue 24): `SqliteLoopReads`.

The same prebuilt statements and answers as `store.loop_reads.LoopReads` on PostgreSQL, but
run synchronously on the loop's thread, on a SQLite connection of each event loop's own
(`LoopSqlite`): a read of one row by primary key from the page cache takes tens of
microseconds, less than the hop to a worker thread and back that it replaces.

The connection is opened as the engine's (WAL, the database's file) but read-only
(`PRAGMA query_only`) and in autocommit: each statement is its own read transaction and
sees the latest commit (read-your-writes across requests). Each statement is stepped to
its end, so no read transaction stays open between requests (it would hold an old
snapshot and stop checkpoints). Only the loop's thread uses it.

What must not happen on the loop: waiting. A read that meets a lock (SQLITE_BUSY, rare in
WAL: a recovery, an exclusive locking mode) is not waited for on the loop (its busy timeout
is 0) but run again on a worker thread on the engine's connection, with the engine's busy
timeout: the answer is the threaded read's. A disk read of a page not in the OS's cache
does block the loop for its duration (docs/ARCHITECTURE.md). The statement timeout is the
engine's (a progress handler); other errors reach the handlers as the engine's do
(wrapped in SQLAlchemy's `DBAPIError`, so an outage answers 503).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import Boolean, Engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from samhandling.store.loop_reads import LoopReads, prebuilt_sql, too_costly
from samhandling.store.reader import PREBUILT
from samhandling.store.sqlite_driver import PROGRESS_STEPS

# sqlite3's named placeholders (`:rid`), so the statements take the same dict of values
_NAMED = sqlite.dialect(paramstyle="named")
# the boolean columns of each statement: SQLite stores them as 0/1
_BOOLEANS = {
    name: frozenset(c.name for c in stmt.selected_columns if isinstance(c.type, Boolean))
    for name, stmt in PREBUILT.items()
}


class SqliteLoopReads(LoopReads):
    """`LoopReads` on a SQLite file: `statements` counts the statements answered."""

    def __init__(self, engine: Engine, *, statement_timeout_ms: int = 0) -> None:
        self.engine = engine
        self.sql, self.fixed = prebuilt_sql(_NAMED)
        self.connections = LoopSqlite(engine, statement_timeout_ms=statement_timeout_ms)
        self.statements = 0

    @classmethod
    def of_file(cls, engine: Engine, *, statement_timeout_ms: int = 0) -> SqliteLoopReads | None:
        """Reads on the loop for a SQLite `engine`, or None for an in-memory database."""
        if sqlite_file(engine) is None:
            return None
        return cls(engine, statement_timeout_ms=statement_timeout_ms)

    async def close(self) -> None:
        """Close the running loop's connection (the server's shutdown)."""
        self.connections.close()

    async def _fetch(self, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
        sql, params = self.sql[name], {**self.fixed[name], **params}
        try:
            row = self.connections.row(sql, params)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise _as_engine_error(exc, sql, params) from exc
            row = await asyncio.to_thread(self._row_on_engine, sql, params)
        except sqlite3.Error as exc:
            raise _as_engine_error(exc, sql, params) from exc
        if row is not None:
            for column in _BOOLEANS[name]:
                row[column] = bool(row[column])
        return row

    def _row_on_engine(self, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The statement on one of the engine's connections (on a worker thread)."""
        from samhandling.store.database import run_read

        def fetch(connection: Any) -> dict[str, Any] | None:
            found = connection.exec_driver_sql(sql, params).mappings().first()
            return dict(found) if found is not None else None

        return run_read(self.engine, fetch, snapshot=False)


def sqlite_file(engine: Engine) -> tuple[str, dict[str, Any]] | None:
    """The database file of a SQLite `engine` and sqlite3's options to open it; None for an
    in-memory database (another connection would see another database) or PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    args, options = engine.dialect.create_connect_args(engine.url)
    name = str(args[0]) if args else ":memory:"
    if name in ("", ":memory:") or (options.get("uri") and "mode=memory" in name):
        return None
    return name, dict(options)


class LoopSqlite:
    """One read-only SQLite connection per event loop to the engine's database file."""

    def __init__(self, engine: Engine, *, statement_timeout_ms: int = 0) -> None:
        (database, *_), options = engine.dialect.create_connect_args(engine.url)
        self.database = str(database)
        # used by its loop's thread only; closed from another when its loop is gone
        self.options: dict[str, Any] = {
            **options,
            "check_same_thread": False,
            "isolation_level": None,
        }
        self.seconds = statement_timeout_ms / 1000
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _ReadConnection] = (
            WeakKeyDictionary()
        )

    def row(self, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The first row `sql` finds (as a dict of its columns), or None; stepped to the end."""
        here = self._here()
        if self.seconds > 0:
            here.deadline[0] = time.monotonic() + self.seconds
        cursor = here.connection.cursor()
        try:
            rows = cursor.execute(sql, params).fetchall()  # to its end: so is the transaction
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise too_costly() from exc
            raise
        finally:
            cursor.close()
        if not rows:
            return None
        return dict(zip([column[0] for column in cursor.description], rows[0], strict=True))

    def close(self) -> None:
        """Close the running loop's connection (the server's shutdown); forget every other
        loop's (each is its loop's thread's to use; collected, it closes itself)."""
        here = self._loops.pop(asyncio.get_running_loop(), None)
        self._loops.clear()
        if here is not None:
            here.connection.close()

    def _here(self) -> _ReadConnection:
        loop = asyncio.get_running_loop()
        here = self._loops.get(loop)
        if here is None:
            for other_loop, stale in list(self._loops.items()):
                if other_loop.is_closed():  # nothing runs on it any more
                    stale.connection.close()
                    del self._loops[other_loop]
            here = self._loops[loop] = self._connect()
        return here

    def _connect(self) -> _ReadConnection:
        connection = sqlite3.connect(self.database, **self.options)
        connection.execute("PRAGMA busy_timeout=0")  # a lock is waited for on a thread
        connection.execute("PRAGMA query_only=ON")
        deadline = [0.0]  # of the statement running now
        if self.seconds > 0:
            # a true result makes SQLite stop the statement: "interrupted" (as the engine's)
            connection.set_progress_handler(lambda: time.monotonic() > deadline[0], PROGRESS_STEPS)
        return _ReadConnection(connection, deadline)


class _ReadConnection(NamedTuple):
    connection: sqlite3.Connection
    deadline: list[float]


def _busy(exc: sqlite3.OperationalError) -> bool:
    return str(exc).startswith("database is locked")


def _as_engine_error(exc: sqlite3.Error, sql: str, params: dict[str, Any]) -> Exception:
    """`exc` as the engine would have raised it (an outage is then answered 503)."""
    wrapped: Exception = DBAPIError.instance(sql, params, exc, sqlite3.Error, hide_parameters=True)
    return wrapped
