"""Writing the audit trail: write transactions' rows, and chained batches.

* A write transaction inserts its audit rows as it commits, without their link in the
  hash chain (`append_unlinked`): no lock, so concurrent writes commit in parallel.
* A chained batch (`chain_in`, or `ChainWriter` in a transaction of its own: the request
  journal) takes the chain lock until its transaction ends, reads the head and the rows
  still waiting for their link, and lets the caller link those first and then its new
  rows. It is the only place that links rows, so the chain has one writer at a time
  across all processes.

On PostgreSQL this goes straight through psycopg in two round trips (`store/audit_sql.py`);
the journal's `ChainWriter` keeps a connection of its own in autocommit mode, sends BEGIN
with the first and COMMIT with the second, and usually needs only one (see there). On
SQLite the write transaction holds the database write lock, the ids follow the largest
one, and SQLAlchemy does the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from samhandling.store import audit_sql
from samhandling.store.audit_sql import Row, Statement
from samhandling.store.audit_tables import audit_event, audit_patient
from samhandling.store.database import is_sqlite, lock_number, write_connection

Head = tuple[int, str] | None  # (chain position, hash) of the newest link; None: empty
SEAL_LIMIT = 1000  # rows waiting for their link that one batch takes
SPARE_IDS = 64  # event ids the journal reserves ahead (gaps in the ids are harmless)
SPARE_IDS_SECONDS = 1.0  # how long they may be used: ids follow time order roughly only


@dataclass
class Batch:
    """What a chained batch writes: new rows (linked), their patients, and the links of the
    rows that were waiting (event_id, chain_pos, prev_hash, hash)."""

    events: list[Row] = field(default_factory=list)
    patients: list[Row] = field(default_factory=list)
    links: list[Row] = field(default_factory=list)


# (new ids, head, waiting rows with their "patients") -> the batch
BatchFor = Callable[[list[int], Head, list[Row]], Batch]
RowsFor = Callable[[list[int]], tuple[list[Row], list[Row]]]  # ids -> events, patients


def append_unlinked(connection: Connection, count: int, rows_for: RowsFor) -> None:
    """Insert `count` rows in the caller's transaction, to be linked by the next batch."""
    if is_sqlite(connection):
        events, patients = rows_for(_sqlite_ids(connection, count))
        _insert_sqlite(connection, events, patients)
        return
    import psycopg

    dbapi: Any = connection.connection.dbapi_connection  # psycopg, in this transaction
    try:
        if count == 1:  # a single write: one round trip, the id from the column's default
            (event,), patients = rows_for([0])
            names = [row["patient_id"] for row in patients]
            _execute(dbapi, [audit_sql.insert_one_statement(event, names)], commit=False)
            return
        with dbapi.cursor() as cursor:
            cursor.execute(audit_sql.next_ids_sql(count))
            ids = [int(row[0]) for row in cursor.fetchall()]
        _execute(dbapi, audit_sql.insert_statements(*rows_for(ids)), commit=False)
    except psycopg.Error as exc:
        raise _wrapped(exc) from exc


def chain_in(connection: Connection, count: int, lock: str, batch_for: BatchFor) -> int:
    """A chained batch in the caller's transaction; returns how many waiting rows it linked."""
    if is_sqlite(connection):
        return _chain_sqlite(connection, count, batch_for, SEAL_LIMIT)
    import psycopg

    dbapi: Any = connection.connection.dbapi_connection
    try:
        batch = batch_for(*_reserve(dbapi, lock, count, SEAL_LIMIT, begin=False))
        _execute(dbapi, _statements(batch), commit=False)
    except psycopg.Error as exc:
        raise _wrapped(exc) from exc
    return len(batch.links)


class ChainWriter:
    """Chained batches in transactions of their own, for one thread (the journal's).

    Usually a batch is one round trip: it links after the head its previous batch left
    and takes its ids from a stock, sending BEGIN, the lock, the INSERT and COMMIT as one
    pipeline. If another appender came in between, the INSERT meets an existing chain
    position (the unique index), nothing is written, and the batch goes the general way:
    lock, ids and head (and the rows waiting for their link) read first, then the rest.
    A connection found broken before anything was committed (the database restarted) is
    replaced and the batch tried once more.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._fairy: Any = None  # the pool's wrapper of our connection, detached from it
        self._head: Head = None  # where our previous batch left the chain
        self._head_known = False
        self._ids: list[int] = []  # reserved, unused event ids
        self._ids_until = 0.0  # used only until then: ids stay close to time order

    def append(self, count: int, lock: str, batch_for: BatchFor, link_waiting: bool) -> int:
        """Commit a chained batch (linking the waiting rows only when `link_waiting`: the
        query for them is saved otherwise); returns how many waiting rows it linked."""
        limit = SEAL_LIMIT if link_waiting else 0
        if is_sqlite(self.engine):
            with write_connection(self.engine) as connection:
                return _chain_sqlite(connection, count, batch_for, limit)
        stock = 0 < count <= len(self._ids) and time.monotonic() < self._ids_until
        known = not limit and self._head_known and stock
        if known and self._append_after_known_head(count, lock, batch_for):
            return 0
        try:
            return self._append(count, lock, batch_for, limit)
        except _StaleConnection:
            try:
                return self._append(count, lock, batch_for, limit)
            except _StaleConnection as again:
                raise _wrapped(again.__cause__) from again.__cause__

    def close(self) -> None:
        self._head_known = False
        if self._fairy is not None:
            self._fairy.close()
            self._fairy = None

    def _append_after_known_head(self, count: int, lock: str, batch_for: BatchFor) -> bool:
        """The one-round-trip batch; False when it wrote nothing (take the general way)."""
        import psycopg

        ids, self._ids = self._ids[:count], self._ids[count:]
        batch = batch_for(ids, self._head, [])
        lock_sql = f"SELECT pg_advisory_xact_lock({lock_number(lock)})"
        dbapi = self._connection()
        try:
            _execute(dbapi, [("BEGIN", []), (lock_sql, []), *_statements(batch)], commit=True)
        except psycopg.errors.UniqueViolation:  # another appender came in between
            self._abandon(dbapi)
            self._head_known = False
            return False
        except psycopg.OperationalError:
            self.close()  # was it committed before the connection broke?
            return self._committed(batch.events[0])
        except psycopg.Error as exc:
            self._abandon(dbapi)
            self._head_known = False
            raise _wrapped(exc) from exc
        self._remember(batch, self._head)
        return True

    def _append(self, count: int, lock: str, batch_for: BatchFor, limit: int) -> int:
        import psycopg

        dbapi = self._connection()
        try:
            ids, head, waiting = _reserve(dbapi, lock, count + SPARE_IDS, limit, begin=True)
        except psycopg.OperationalError as exc:
            self.close()
            raise _StaleConnection from exc
        except psycopg.Error as exc:
            self._abandon(dbapi)
            raise _wrapped(exc) from exc
        try:
            batch = batch_for(ids[:count], head, waiting)
            _execute(dbapi, _statements(batch), commit=True)
        except psycopg.Error as exc:
            self._abandon(dbapi)
            raise _wrapped(exc) from exc
        except BaseException:
            self._abandon(dbapi)
            raise
        self._ids, self._ids_until = ids[count:], time.monotonic() + SPARE_IDS_SECONDS
        self._remember(batch, head)
        return len(batch.links)

    def _remember(self, batch: Batch, head: Head) -> None:
        rows = batch.events or batch.links
        self._head = (rows[-1]["chain_pos"], rows[-1]["hash"]) if rows else head
        self._head_known = True

    def _committed(self, first: Row) -> bool:
        """Whether the batch whose first row is `first` was committed (a new connection)."""
        query = "SELECT 1 FROM audit_event WHERE chain_pos = %s AND hash = %s"
        try:
            found = self._connection().execute(query, [first["chain_pos"], first["hash"]])
            return found.fetchone() is not None
        except Exception:
            self.close()
            return False

    def _connection(self) -> Any:
        if self._fairy is None:
            import psycopg

            try:
                fairy = self.engine.raw_connection()  # checked (pre-ping) like any checkout
            except psycopg.Error as exc:  # the pool passes the driver's error on unwrapped
                raise _wrapped(exc) from exc
            fairy.detach()
            fairy.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            self._fairy = fairy
        return self._fairy.dbapi_connection

    def _abandon(self, dbapi: Any) -> None:
        """End a failed transaction; a connection that cannot do that is dropped."""
        try:
            dbapi.execute("ROLLBACK")
        except Exception:
            self.close()


class _StaleConnection(Exception):
    """The journal's connection broke before the batch was sent."""


def chain_head(connection: Connection) -> Head:
    """The chain head as the connection sees it now (the caller holds the chain lock)."""
    return _head(connection.execute(text(audit_sql.HEAD_SQL)).first())


def _reserve(
    dbapi: Any, lock: str, count: int, limit: int, *, begin: bool
) -> tuple[list[int], Head, list[Row]]:
    """Lock, new ids, head and (up to `limit`) waiting rows in one simple-protocol round
    trip."""
    with dbapi.cursor() as cursor:
        cursor.execute(audit_sql.chain_sql(lock_number(lock), count, limit, begin=begin))
        if begin:
            cursor.nextset()  # past BEGIN
        cursor.nextset()  # past the lock
        ids = [int(row[0]) for row in cursor.fetchall()]
        cursor.nextset()
        head = _head(cursor.fetchone())
        waiting: list[Row] = []
        if limit:
            cursor.nextset()
            names = [column.name for column in cursor.description]
            waiting = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return ids, head, waiting


def _statements(batch: Batch) -> list[Statement]:
    links = audit_sql.link_statements(batch.links)
    return links + audit_sql.insert_statements(batch.events, batch.patients)


def _execute(dbapi: Any, statements: list[Statement], *, commit: bool) -> None:
    """The statements (and COMMIT) in one round trip."""
    import psycopg

    if len(statements) == 1 and not commit:
        with psycopg.RawCursor(dbapi) as raw:
            raw.execute(*statements[0])
        return
    with dbapi.pipeline(), psycopg.RawCursor(dbapi) as raw:
        for sql, params in statements:
            raw.execute(sql, params)
        if commit:
            raw.execute("COMMIT")


def _chain_sqlite(connection: Connection, count: int, batch_for: BatchFor, limit: int) -> int:
    ids = _sqlite_ids(connection, count)
    waiting = [
        dict(row)
        for row in connection.execute(
            select(audit_event)
            .where(audit_event.c.chain_pos.is_(None))
            .order_by(audit_event.c.event_id)
            .limit(limit)
        ).mappings()
    ]
    patients = _patients_of(connection, [row["event_id"] for row in waiting])
    for row in waiting:
        row["patients"] = patients.get(row["event_id"], [])
    batch = batch_for(ids, chain_head(connection), waiting)
    if batch.links:
        connection.execute(_LINK, [{f"b_{k}": v for k, v in link.items()} for link in batch.links])
    _insert_sqlite(connection, batch.events, batch.patients)
    return len(batch.links)


_LINK = (
    update(audit_event)
    .where(audit_event.c.event_id == bindparam("b_event_id"))
    .values(
        chain_pos=bindparam("b_chain_pos"),
        prev_hash=bindparam("b_prev_hash"),
        hash=bindparam("b_hash"),
    )
)


def _sqlite_ids(connection: Connection, count: int) -> list[int]:
    last = connection.execute(select(func.max(audit_event.c.event_id))).scalar() or 0
    return list(range(last + 1, last + 1 + count))


def _insert_sqlite(connection: Connection, events: list[Row], patients: list[Row]) -> None:
    if events:
        connection.execute(insert(audit_event), events)
    if patients:
        connection.execute(insert(audit_patient), patients)


def _patients_of(connection: Connection, event_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if event_ids:
        query = select(audit_patient.c.event_id, audit_patient.c.patient_id)
        for event_id, patient_id in connection.execute(
            query.where(audit_patient.c.event_id.in_(event_ids))
        ):
            found.setdefault(int(event_id), []).append(patient_id)
    return found


def _head(row: Any) -> Head:
    return (int(row[0]), str(row[1])) if row else None


def _wrapped(exc: BaseException | None) -> BaseException:
    """A driver error as SQLAlchemy's, which the API maps (outage 503, conflict 409)."""
    import psycopg

    if not isinstance(exc, psycopg.Error):
        return exc or RuntimeError("audit append failed")
    broken = isinstance(exc, psycopg.OperationalError)
    wrapped = DBAPIError.instance(
        "audit append", None, exc, psycopg.Error, connection_invalidated=broken
    )
    return wrapped if isinstance(wrapped, BaseException) else exc
