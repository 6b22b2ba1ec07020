"""The request journal's chained batches on SQLite, on the event loop: `LoopSqliteBatches`.

A read's audit record is committed before its response; on SQLite a batch of them is a
few hundred microseconds of SQLite's own work (the largest id, the chain head, the
INSERTs, the commit: WAL with `synchronous=NORMAL` does not wait for the disk). Sent to a
worker thread, it costs the hop there and back besides (wake the thread, win the GIL back
from the busy event loop, wake the loop) and an engine connection's checkout, transaction
events and execution contexts. So a batch that links nothing runs on a SQLite connection
of the journal's own, synchronously on the loop's thread, straight on the driver — as the
loop's reads do (`store/loop_sqlite.py`).

What must not happen on the loop: waiting. The connection's busy timeout is 0: when
another connection holds the write lock (a write transaction on a worker thread, another
process), `BEGIN IMMEDIATE` fails at once and the batch goes to a worker thread as before
(`writes.chain_sqlite` on the engine's connection, with the engine's busy timeout); so
does a batch that links the rows write transactions left waiting (their values go through
SQLAlchemy's types before they are hashed: one implementation of that). Nor does the loop
copy the WAL into the database and wait for its fsync: the connection does not checkpoint
(`wal_autocheckpoint=0`); after every CHECKPOINT_BATCHES batches a worker thread runs the
checkpoint the engine's writers get (`sqlite_lock.checkpoint`: a passive copy, then the
rest under the write lock, so that the WAL starts again).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from samhandling.audit.storage import sql as audit_sql
from samhandling.audit.storage.tables import audit_event, audit_patient
from samhandling.audit.storage.writes import BatchFor, Head, head_of
from samhandling.store.database import SQLITE_WAL_SIZE_LIMIT
from samhandling.store.loop_sqlite import sqlite_file
from samhandling.store.sqlite_lock import checkpoint, write_lock

log = logging.getLogger("samhandling.audit")
CHECKPOINT_BATCHES = 200  # a batch adds a few pages to the WAL; 1000 pages trigger SQLite's
# as the engine's connections (store/database.py), but never waiting or checkpointing
_PRAGMAS = (
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "busy_timeout=0",
    "wal_autocheckpoint=0",
    f"journal_size_limit={SQLITE_WAL_SIZE_LIMIT}",
)
_LAST_ID = f"SELECT max(event_id) FROM {audit_event.name}"
Known = tuple[int, int, "Head"]  # data_version, the largest event id, the chain head


class LoopSqliteBatches:
    """Chained batches that link nothing, on one SQLite connection of the loop's own."""

    def __init__(self, database: str, options: dict[str, Any]) -> None:
        self.database = database
        self.options = {**options, "check_same_thread": False, "isolation_level": None}
        self._connection: _JournalConnection | None = None
        self._batches = 0  # since the last checkpoint
        self._checkpoint: asyncio.Future[None] | None = None
        self.lock = write_lock(database)  # the process's writers' queue (store/sqlite_lock.py)

    @classmethod
    def of_file(cls, engine: Engine) -> LoopSqliteBatches | None:
        """Batches on the loop for a SQLite file; None for an in-memory database (a second
        connection would see another database) or PostgreSQL."""
        found = sqlite_file(engine)
        return cls(*found) if found is not None else None

    def append(self, count: int, batch_for: BatchFor) -> bool:
        """Commit a batch of `count` new rows; False when the write lock is held elsewhere
        (nothing written: send the batch to a thread)."""
        if self.lock is not None and not self.lock.try_acquire():
            return False  # a writer of this process holds it
        try:
            return self._append(count, batch_for)
        finally:
            if self.lock is not None:  # not counted: the loop checkpoints its own batches
                self.lock.release(counted=False)

    def _append(self, count: int, batch_for: BatchFor) -> bool:
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                return False
            raise _as_engine_error(exc) from exc
        connection.after = None
        try:
            _insert(connection, count, batch_for)
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            connection.known = None
            connection.rollback()
            if isinstance(exc, sqlite3.OperationalError) and _busy(exc):
                return False
            raise _as_engine_error(exc) from exc
        except BaseException:
            connection.known = None
            connection.rollback()
            raise
        connection.known = connection.after
        self._checkpoint_now_and_then()
        return True

    def close(self) -> None:
        """Close the connection (any thread: it is used by its loop's only)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _connect(self) -> _JournalConnection:
        if self._connection is None:
            connection = sqlite3.connect(self.database, factory=_JournalConnection, **self.options)
            for pragma in _PRAGMAS:
                connection.execute(f"PRAGMA {pragma}")
            self._connection = connection
        return self._connection

    def _checkpoint_now_and_then(self) -> None:
        self._batches += 1
        if self._batches < CHECKPOINT_BATCHES or self._checkpoint is not None:
            return
        self._batches = 0
        self._checkpoint = asyncio.get_running_loop().run_in_executor(None, self._copy_wal)
        self._checkpoint.add_done_callback(self._checkpointed)

    def _copy_wal(self) -> None:
        if self.lock is not None:  # None only in memory, where there is no WAL
            checkpoint(self.lock.database, self.lock)

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not done.cancelled() and done.exception() is not None:
            log.warning("audit journal: WAL checkpoint failed", exc_info=done.exception())


class _JournalConnection(sqlite3.Connection):
    """The journal's connection, with what it knows after its last batch: (data_version,
    the largest id, the head) — still true while no other connection committed (SQLite's
    `data_version` unchanged): the head's query alone is ~50 µs."""

    known: Known | None = None  # after the last batch that committed
    after: Known | None = None  # after the batch in its transaction now


def _insert(connection: sqlite3.Connection, count: int, batch_for: BatchFor) -> None:
    """The new rows after the largest id, linked after the chain head (write lock held);
    the largest id and the head are what the connection knows if no other connection
    committed since (what it knows after these rows: `connection.after`)."""
    known: Known | None = getattr(connection, "known", None)
    version = connection.execute("PRAGMA data_version").fetchone()[0]
    if known is not None and known[0] == version:
        last, head = known[1], known[2]
    else:
        last = connection.execute(_LAST_ID).fetchone()[0] or 0
        head = head_of(connection.execute(audit_sql.HEAD_SQL).fetchone())
    batch = batch_for(list(range(last + 1, last + 1 + count)), head, [])
    for table, rows in ((audit_event.name, batch.events), (audit_patient.name, batch.patients)):
        if rows:
            columns = tuple(dict.fromkeys(c for row in rows for c in row))
            names = ", ".join(f'"{c}"' for c in columns)
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
            connection.executemany(sql, [[row.get(c) for c in columns] for row in rows])
    if isinstance(connection, _JournalConnection):
        connection.after = (version, last + count, _new_head(batch.events, head))


def _new_head(events: list[dict[str, Any]], head: Head) -> Head:
    linked = [row for row in events if row.get("chain_pos") is not None]
    if not linked:
        return head
    newest = max(linked, key=lambda row: int(row["chain_pos"]))
    return int(newest["chain_pos"]), str(newest["hash"])


def _busy(exc: sqlite3.OperationalError) -> bool:
    return str(exc).startswith("database is locked")


def _as_engine_error(exc: sqlite3.Error) -> BaseException:
    """`exc` as the engine would have raised it (an outage is then answered 503)."""
    broken = isinstance(exc, sqlite3.OperationalError)
    wrapped = DBAPIError.instance(
        "audit append", None, exc, sqlite3.Error, connection_invalidated=broken
    )
    return wrapped if isinstance(wrapped, BaseException) else exc
