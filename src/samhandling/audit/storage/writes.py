"""Writing the audit trail: write transactions' rows, and chained batches.

* A write transaction inserts its audit rows as it commits, without their link in the
  hash chain (`append_unlinked`): no lock, so concurrent writes commit in parallel. A
  single write's row goes in the same exchange as its version and index rows
  (`index_buffer.send_with_commit`).
* A chained batch (`chain_in`, or `audit.storage.chain_writer.ChainWriter` in a transaction of its
  own: the request journal) takes the chain lock until its transaction ends, links the rows
  still waiting for their link and then its new rows. It is the only place that links rows,
  so the chain has one writer at a time across all processes. On PostgreSQL the database
  links the waiting rows (`samhandling_audit_link_waiting`, migration 0030: the hashes of
  `audit/chain.py` from the stored rows) and gives the batch the head they left; on SQLite
  the batch reads them and links them in Python.

On PostgreSQL this goes straight through psycopg in two round trips (`audit/storage/sql.py`);
the journal's `ChainWriter` keeps an asyncio connection of its own in autocommit mode, sends
BEGIN with the first and COMMIT with the second, and usually needs only one (see there). On
SQLite the write transaction holds the database write lock, the ids follow the largest
one, and SQLAlchemy does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text, update
from sqlalchemy.exc import DBAPIError

from samhandling.audit.storage import sql as audit_sql
from samhandling.audit.storage.sql import Row, Statement
from samhandling.audit.storage.tables import audit_event, audit_patient
from samhandling.store.advisory_locks import lock_number
from samhandling.store.database import is_sqlite
from samhandling.store.index_buffer import send_with_commit
from samhandling.store.sqlite_driver import insert_rows

Head = tuple[int, str] | None  # (chain position, hash) of the newest link; None: empty
# The head a batch is built after when the database links its rows (`sql.py`'s
# chained insert): no position is known beforehand, the rows carry their canonical bytes.
IN_DATABASE: Head = (-1, "linked by the database under the chain lock")
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
    canonical: list[bytes] = field(default_factory=list)  # the events' (IN_DATABASE only)


# (new ids, head, waiting rows with their "patients") -> the batch
BatchFor = Callable[[list[int], Head, list[Row]], Batch]
# ids -> events, their patient rows, each event's patients sorted
RowsFor = Callable[[list[int]], tuple[list[Row], list[Row], list[list[str]]]]


def append_unlinked(connection: Connection, count: int, rows_for: RowsFor) -> None:
    """Insert `count` rows in the caller's transaction, to be linked by the next batch."""
    if is_sqlite(connection):
        events, patients, _ = rows_for(_sqlite_ids(connection, count))
        _insert_sqlite(connection, events, patients)
        return
    import psycopg

    dbapi: Any = connection.connection.dbapi_connection  # psycopg, in this transaction
    try:
        if count == 1:  # a single write: the id from the column's default, and the row
            (event,), patients, _ = rows_for([0])  # sent with the commit's version rows
            names = [row["patient_id"] for row in patients]
            statement = audit_sql.insert_one_statement(event, names)
            if not send_with_commit(connection, *statement):
                _execute(dbapi, [statement])
            return
        with dbapi.cursor() as cursor:
            cursor.execute(audit_sql.next_ids_sql(count))
            ids = [int(row[0]) for row in cursor.fetchall()]
        events, patients, _ = rows_for(ids)
        _execute(dbapi, audit_sql.insert_statements(events, patients))
    except psycopg.Error as exc:
        raise wrapped(exc) from exc


def chain_in(connection: Connection, count: int, lock: str, batch_for: BatchFor) -> int:
    """A chained batch in the caller's transaction; returns how many waiting rows it linked."""
    if is_sqlite(connection):
        return chain_sqlite(connection, count, batch_for, SEAL_LIMIT)
    import psycopg

    dbapi: Any = connection.connection.dbapi_connection
    try:
        with dbapi.cursor() as cursor:
            cursor.execute(audit_sql.chain_sql(lock_number(lock), count, SEAL_LIMIT, begin=False))
            cursor.nextset()  # past the lock
            ids = [int(row[0]) for row in cursor.fetchall()]
            cursor.nextset()
            linked, head = linked_and_head(cursor.fetchone())
        _execute(dbapi, statements_of(batch_for(ids, head, [])))
    except psycopg.Error as exc:
        raise wrapped(exc) from exc
    return linked


def chain_head(connection: Connection) -> Head:
    """The chain head as the connection sees it now (the caller holds the chain lock)."""
    return head_of(connection.execute(text(audit_sql.HEAD_SQL)).first())


def linked_and_head(row: Any) -> tuple[int, Head]:
    """How many waiting rows the database linked, and the head it left (`link_waiting_sql`)."""
    return int(row[0]), head_of(row[1:] if row[1] is not None else None)


def statements_of(batch: Batch) -> list[Statement]:
    """The INSERTs of the batch's new rows (on PostgreSQL the database links the waiting
    rows: a batch has no links to send)."""
    return audit_sql.insert_statements(batch.events, batch.patients)


def _execute(dbapi: Any, statements: list[Statement]) -> None:
    """The statements in one round trip, in the caller's transaction."""
    import psycopg

    if len(statements) == 1:
        with psycopg.RawCursor(dbapi) as raw:
            raw.execute(*statements[0])
        return
    with dbapi.pipeline(), psycopg.RawCursor(dbapi) as raw:
        for sql, params in statements:
            raw.execute(sql, params)


def chain_sqlite(connection: Connection, count: int, batch_for: BatchFor, limit: int) -> int:
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
    last = connection.execute(_LAST_EVENT_ID).scalar() or 0
    return list(range(last + 1, last + 1 + count))


_LAST_EVENT_ID = select(func.max(audit_event.c.event_id))


def _insert_sqlite(connection: Connection, events: list[Row], patients: list[Row]) -> None:
    # on the driver: an INSERT through SQLAlchemy costs a write more than SQLite's work
    if events:
        insert_rows(connection, audit_event.name, events)
    if patients:
        insert_rows(connection, audit_patient.name, patients)


def _patients_of(connection: Connection, event_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if event_ids:
        query = select(audit_patient.c.event_id, audit_patient.c.patient_id)
        for event_id, patient_id in connection.execute(
            query.where(audit_patient.c.event_id.in_(event_ids))
        ):
            found.setdefault(int(event_id), []).append(patient_id)
    return found


def head_of(row: Any) -> Head:
    return (int(row[0]), str(row[1])) if row else None


def wrapped(exc: BaseException | None) -> BaseException:
    """A driver error as SQLAlchemy's, which the API maps (outage 503, conflict 409)."""
    import psycopg

    if not isinstance(exc, psycopg.Error):
        return exc or RuntimeError("audit append failed")
    broken = isinstance(exc, psycopg.OperationalError)
    wrapped = DBAPIError.instance(
        "audit append", None, exc, psycopg.Error, connection_invalidated=broken
    )
    return wrapped if isinstance(wrapped, BaseException) else exc
