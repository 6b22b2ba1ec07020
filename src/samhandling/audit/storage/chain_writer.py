"""The request journal's chained batches, sent from the event loop: `ChainWriter`.

The journal commits a batch for every group of requests, and every request waits for it:
its round trip is on the path of every read. It therefore runs on the event loop that
serves the requests (psycopg's asyncio connection), not on a thread of its own: a thread
would have to be woken for every batch, win the GIL back from the busy event loop to send
it, and wake the loop again (`call_soon_threadsafe`) with the result — context switches
that cost more than the batch on a machine where they are dear (see bench/RESULTS.md,
2026-12-03). On SQLite a batch that links nothing runs on the loop as well, on a SQLite
connection of its own (`audit/storage/sqlite_batches.py`) unless another connection holds
the write lock; that one, and a batch that links, run in a worker thread (`write_connection`
is synchronous; SQLite is the single-process development store).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import Engine

from samhandling.audit.storage import sql as audit_sql
from samhandling.audit.storage.sqlite_batches import LoopSqliteBatches
from samhandling.audit.storage.writes import (
    IN_DATABASE,
    SEAL_LIMIT,
    SPARE_IDS,
    SPARE_IDS_SECONDS,
    Batch,
    BatchFor,
    Head,
    chain_sqlite,
    head_of,
    linked_and_head,
    statements_of,
    wrapped,
)
from samhandling.store.advisory_locks import lock_number
from samhandling.store.database import is_sqlite, write_connection
from samhandling.store.loop_pool import connect_on_loop, finish
from samhandling.store.loop_statements import execute_prepared

APPLICATION_NAME = "samhandling audit journal"  # in pg_stat_activity
# After another process's batch came between two of ours, how long the database links
# our batches (then a batch tries linking after the head it knows again).
SHARED_SECONDS = 5.0


class ChainWriter:
    """Chained batches in transactions of their own, for one event loop (the journal's).

    Usually a batch is one round trip: one statement that takes the chain lock and inserts
    the rows, in a transaction of its own (a larger batch: its statements and COMMIT in a
    pipeline), with ids from a stock. Alone on the chain, a process links its rows itself
    after the head its previous batch left; if another appender came in between, that
    INSERT meets an existing chain position (the unique index), nothing is written, the
    batch goes the general way and, for SHARED_SECONDS, the database links the batches
    instead (`samhandling_audit_chain`, migration 0028: the statement takes the lock, reads
    the head and links the rows from the canonical bytes Python built), so that two server
    processes do not fail each other's batches one after the other. The general way —
    lock, ids and head first (with the rows write transactions left waiting linked by the
    database, `samhandling_audit_link_waiting`, migration 0030, when a link is due), then
    the rows — takes new ids. A connection found broken before anything was committed (the
    database restarted) is replaced and the batch tried once more.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None  # psycopg.AsyncConnection in autocommit mode
        self._head: Head = None  # where our previous batch left the chain
        self._head_known = False
        self._shared_until = 0.0  # another process appended lately: the database links
        self._ids: list[int] = []  # reserved, unused event ids
        self._ids_until = 0.0  # used only until then: ids stay close to time order
        self._sqlite = LoopSqliteBatches.of_file(engine)  # None: not a SQLite file

    async def append(self, count: int, lock: str, batch_for: BatchFor, link_waiting: bool) -> int:
        """Commit a chained batch (linking the waiting rows only when `link_waiting`: the
        query for them is saved otherwise); returns how many waiting rows it linked."""
        limit = SEAL_LIMIT if link_waiting else 0
        if is_sqlite(self.engine):
            if not limit and self._sqlite is not None and self._sqlite.append(count, batch_for):
                return 0
            return await asyncio.to_thread(_sqlite_batch, self.engine, count, batch_for, limit)
        now = time.monotonic()
        if not limit and 0 < count <= len(self._ids) and now < self._ids_until:
            shared = now < self._shared_until
            if (shared or self._head_known) and await self._append_in_one(
                count, lock, batch_for, shared=shared
            ):
                return 0
        try:
            return await self._append(count, lock, batch_for, limit)
        except _StaleConnection:
            try:
                return await self._append(count, lock, batch_for, limit)
            except _StaleConnection as again:
                raise wrapped(again.__cause__) from again.__cause__

    async def close(self) -> None:
        """Close the connection (on the event loop it was opened on)."""
        self._head_known = False
        if self._sqlite is not None:
            self._sqlite.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    def discard(self) -> None:
        """Drop the connection without its event loop (which may be closed)."""
        self._head_known = False
        if self._sqlite is not None:
            self._sqlite.close()
        connection, self._connection = self._connection, None
        finish(connection)

    async def _append_in_one(
        self, count: int, lock: str, batch_for: BatchFor, *, shared: bool
    ) -> bool:
        """The one-round-trip batch, linked here after the head this process's previous
        batch left or, `shared`, by the database after whichever batch came last. False
        when it wrote nothing (another process appended in between: the database links
        the batches for a while) or the connection broke before it was committed."""
        import psycopg

        ids, self._ids = self._ids[:count], self._ids[count:]
        head = self._head
        batch = batch_for(ids, IN_DATABASE if shared else head, [])
        self._head_known = False  # known again once this batch, linked here, is committed
        connection = await self._connect()
        try:
            await (_send_chained if shared else _send_locked)(connection, lock_number(lock), batch)
        except psycopg.errors.UniqueViolation:  # another appender came in between
            await self._abandon(connection)
            self._shared_until = time.monotonic() + SHARED_SECONDS
            return False
        except psycopg.OperationalError:
            self.discard()  # was it committed before the connection broke?
            return await self._committed(ids[0])
        except psycopg.Error as exc:
            await self._abandon(connection)
            raise wrapped(exc) from exc
        except BaseException:  # cancelled: the connection's state is unknown
            self.discard()
            raise
        if not shared:
            self._remember(batch, head)
        return True

    async def _append(self, count: int, lock: str, batch_for: BatchFor, limit: int) -> int:
        import psycopg

        connection = await self._connect()
        reserved = False
        try:
            ids, linked, head = await _reserve(connection, lock, count + SPARE_IDS, limit)
            reserved = True
            batch = batch_for(ids[:count], head, [])
            await _commit(connection, statements_of(batch))
        except psycopg.OperationalError as exc:
            if not reserved:  # broken before anything was sent: worth another try
                self.discard()
                raise _StaleConnection from exc
            await self._abandon(connection)
            raise wrapped(exc) from exc
        except psycopg.Error as exc:
            await self._abandon(connection)
            raise wrapped(exc) from exc
        except BaseException:  # cancelled: the connection's state is unknown
            self.discard()
            raise
        self._ids, self._ids_until = ids[count:], time.monotonic() + SPARE_IDS_SECONDS
        self._remember(batch, head)
        return linked

    def _remember(self, batch: Batch, head: Head) -> None:
        rows = batch.events or batch.links
        self._head = (rows[-1]["chain_pos"], rows[-1]["hash"]) if rows else head
        self._head_known = True

    async def _committed(self, first_id: int) -> bool:
        """Whether the batch whose first row has the id `first_id` was committed (on a new
        connection; the ids are reserved: no other batch has it)."""
        query = "SELECT 1 FROM audit_event WHERE event_id = %s"
        try:
            connection = await self._connect()
            found = await connection.execute(query, [first_id])
            return await found.fetchone() is not None
        except Exception:
            self.discard()
            return False

    async def _connect(self) -> Any:
        if self._connection is None or self._connection.closed:
            import psycopg

            try:
                self._connection = await connect_on_loop(self.engine, APPLICATION_NAME)
            except psycopg.Error as exc:
                raise wrapped(exc) from exc
        return self._connection

    async def _abandon(self, connection: Any) -> None:
        """End a failed transaction; a connection that cannot do that is dropped."""
        try:
            await connection.execute("ROLLBACK")
        except Exception:
            self.discard()


class _StaleConnection(Exception):
    """The journal's connection broke before the batch was sent."""


def _sqlite_batch(engine: Engine, count: int, batch_for: BatchFor, limit: int) -> int:
    with write_connection(engine) as connection:
        return chain_sqlite(connection, count, batch_for, limit)


async def _reserve(
    connection: Any, lock: str, count: int, limit: int
) -> tuple[list[int], int, Head]:
    """BEGIN, the lock, new ids and the head — with `limit`, the one the database left after
    linking up to that many waiting rows, and their count — in one simple-protocol round
    trip."""
    sql = audit_sql.chain_sql(lock_number(lock), count, limit, begin=True)
    async with connection.cursor() as cursor:
        await cursor.execute(sql)
        cursor.nextset()  # past BEGIN
        cursor.nextset()  # past the lock
        ids = [int(row[0]) for row in await cursor.fetchall()]
        cursor.nextset()
        found = await cursor.fetchone()
    if limit:
        linked, head = linked_and_head(found)
        return ids, linked, head
    return ids, 0, head_of(found)


async def _send_locked(connection: Any, lock: int, batch: Batch) -> None:
    """Lock, insert and commit `batch` (no links) in one round trip: a small batch as one
    statement in a transaction of its own, a larger one in a pipeline."""
    statement = audit_sql.locked_insert_statement(lock, batch.events, batch.patients)
    if statement is not None:  # the usual batch: sent at libpq level, as the loop's reads
        await execute_prepared(connection, *statement)
        return
    lock_sql = f"SELECT pg_advisory_xact_lock({lock})"
    await _commit(connection, [("BEGIN", []), (lock_sql, []), *statements_of(batch)])


async def _send_chained(connection: Any, lock: int, batch: Batch) -> None:
    """`batch` (no links: its canonical bytes) linked by the database under the lock and
    committed in one round trip: a small batch as one statement, a larger one in a
    pipeline."""
    statements = audit_sql.chained_insert_statements(
        lock, batch.events, batch.patients, batch.canonical
    )
    if len(statements) == 1:  # in autocommit: a transaction of its own
        await execute_prepared(connection, *statements[0])
        return
    await _commit(connection, [("BEGIN", []), *statements])


async def _commit(connection: Any, statements: list[audit_sql.Statement]) -> None:
    """The statements and COMMIT in one round trip."""
    import psycopg

    async with connection.pipeline(), psycopg.AsyncRawCursor(connection) as raw:
        for sql, params in statements:
            await raw.execute(sql, params)
        await raw.execute("COMMIT")
