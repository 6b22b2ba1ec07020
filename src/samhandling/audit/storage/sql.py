"""The PostgreSQL statements of the audit trail's hot path, as text for psycopg.

`audit/storage/writes.py` sends them straight through psycopg: the chain lock, the new ids
and the chain head — read, or left by the database's linking of the rows still waiting
for their link — as one simple-protocol query (each statement runs with its own snapshot,
so everything after the lock is read after it is held), and the inserts with `$n`
parameters, which psycopg passes on without parsing the text. Statements have a bounded
size (PostgreSQL takes at most 65,535 parameters): a small batch is one statement, a
larger one goes in chunks.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from samhandling.audit.storage.tables import audit_event

Row = dict[str, Any]
Statement = tuple[str, list[Any]]
EVENT_COLUMNS = tuple(c.name for c in audit_event.columns)
LINK_COLUMNS = ("event_id", "chain_pos", "prev_hash", "hash")
SMALL_BATCH = 8  # events one INSERT takes with their patients
CHUNK = 100  # events per statement of a larger batch; patients: four times
# The newest chained row or, when every row was archived, the newest archive anchor.
HEAD_SQL = (
    "SELECT chain_pos, hash FROM (SELECT chain_pos, hash FROM audit_event"
    " WHERE chain_pos IS NOT NULL ORDER BY chain_pos DESC LIMIT 1) AS newest_row"
    " UNION ALL SELECT chain_pos, hash FROM (SELECT chain_pos, hash FROM audit_anchor"
    " ORDER BY chain_pos DESC LIMIT 1) AS newest_anchor ORDER BY chain_pos DESC LIMIT 1"
)


def _placeholders(start: int, count: int) -> str:
    return "(" + ", ".join(f"${start + i + 1}" for i in range(count)) + ")"


def next_ids_sql(count: int) -> str:
    return (
        "SELECT nextval(pg_get_serial_sequence('audit_event', 'event_id'))"
        f" FROM generate_series(1, {int(count)})"
    )


def link_waiting_sql(lock: int, limit: int) -> str:
    """Up to `limit` rows waiting for their link (appended by write transactions), oldest
    first, linked by the database (`samhandling_audit_link_waiting`, migration 0030): one
    row of how many it linked and the head it left (NULLs: the chain is empty)."""
    return (
        "SELECT linked, head_pos, head_hash"
        f" FROM samhandling_audit_link_waiting({int(lock)}, {int(limit)})"
    )


def chain_sql(lock: int, count: int, pending: int, *, begin: bool) -> str:
    """Lock (until the transaction ends), `count` new ids, and the head: read, or, with
    `pending`, the one left by linking up to that many waiting rows (with their count)."""
    return ";".join(
        [
            *(["BEGIN"] if begin else []),
            f"SELECT pg_advisory_xact_lock({int(lock)})",
            next_ids_sql(count),
            link_waiting_sql(lock, pending) if pending else HEAD_SQL,
        ]
    )


def insert_statements(events: list[Row], patients: list[Row]) -> list[Statement]:
    """INSERTs of the event rows and their patient rows."""
    if len(events) <= SMALL_BATCH and len(patients) <= 4 * SMALL_BATCH:
        params = _event_params(events) + _patient_params(patients)
        return [(_insert_sql(len(events), len(patients)), params)] if params else []
    statements = [(_insert_sql(len(c), 0), _event_params(c)) for c in _chunks(events, CHUNK)]
    for chunk in _chunks(patients, 4 * CHUNK):
        statements.append((_insert_sql(0, len(chunk)), _patient_params(chunk)))
    return statements


def locked_insert_statement(lock: int, events: list[Row], patients: list[Row]) -> Statement | None:
    """One statement that takes the chain lock and then inserts a small batch (None for a
    larger one): sent in autocommit mode it is a transaction of its own, one message and
    one result instead of BEGIN, lock, INSERT and COMMIT. The lock is taken before any
    event row is made: each row to insert joins the lock's one-row CTE."""
    if not events or len(events) > SMALL_BATCH or len(patients) > 4 * SMALL_BATCH:
        return None
    params = _event_params(events) + _patient_params(patients)
    return _locked_insert_sql(lock, len(events), len(patients)), params


def insert_one_statement(event: Row, patients: list[str]) -> Statement:
    """INSERT of one event row (its id from the column's default) and its patients."""
    return _INSERT_ONE_SQL, [event.get(c) for c in _UNLINKED_COLUMNS] + [patients]


_UNLINKED_COLUMNS = tuple(c for c in EVENT_COLUMNS if c not in LINK_COLUMNS)
_INSERT_ONE_SQL = (
    f"WITH events AS (INSERT INTO audit_event ({', '.join(_UNLINKED_COLUMNS)})"
    f" VALUES {_placeholders(0, len(_UNLINKED_COLUMNS))} RETURNING event_id)"
    " INSERT INTO audit_patient (event_id, patient_id)"
    f" SELECT events.event_id, p FROM events, unnest(${len(_UNLINKED_COLUMNS) + 1}::VARCHAR[]) AS p"
)


@lru_cache(maxsize=256)
def _insert_sql(events: int, patients: int) -> str:
    width = len(EVENT_COLUMNS)
    pairs = ", ".join(_placeholders(events * width + 2 * i, 2) for i in range(patients))
    patient_sql = f"INSERT INTO audit_patient (event_id, patient_id) VALUES {pairs}"
    if not events:
        return patient_sql
    rows = ", ".join(_placeholders(i * width, width) for i in range(events))
    event_sql = f"INSERT INTO audit_event ({', '.join(EVENT_COLUMNS)}) VALUES {rows}"
    return f"WITH events AS ({event_sql}) {patient_sql}" if patients else event_sql


@lru_cache(maxsize=64)
def _locked_insert_sql(lock: int, events: int, patients: int) -> str:
    width = len(EVENT_COLUMNS)
    rows = ", ".join(
        "(" + ", ".join(f"${i * width + j + 1}::{_EVENT_TYPES[j]}" for j in range(width)) + ")"
        for i in range(events)
    )
    columns = ", ".join(EVENT_COLUMNS)
    event_sql = (
        f"INSERT INTO audit_event ({columns}) SELECT v.* FROM chain_lock,"
        f" (VALUES {rows}) AS v ({columns})"
    )
    lock_sql = f"chain_lock AS (SELECT pg_advisory_xact_lock({int(lock)}))"
    if not patients:
        return f"WITH {lock_sql} {event_sql}"
    pairs = ", ".join(_placeholders(events * width + 2 * i, 2) for i in range(patients))
    patient_sql = f"INSERT INTO audit_patient (event_id, patient_id) VALUES {pairs}"
    return f"WITH {lock_sql}, events AS ({event_sql}) {patient_sql}"


def _column_type(name: str) -> str:
    """The column's type for a cast; strings without their length (an explicit cast to
    VARCHAR(n) would cut a longer value silently, and the hash would no longer match)."""
    from sqlalchemy import String
    from sqlalchemy.dialects import postgresql

    column_type = audit_event.c[name].type
    if isinstance(column_type, String):
        return "VARCHAR"
    return str(column_type.compile(dialect=postgresql.dialect()))


_EVENT_TYPES = tuple(_column_type(c) for c in EVENT_COLUMNS)


def chained_insert_statements(
    lock: int, events: list[Row], patients: list[Row], canonical: list[bytes]
) -> list[Statement]:
    """INSERTs of `events` linked by the database (`samhandling_audit_chain`, migration
    0028: the chain lock, the head read after it, each row's link from its canonical
    bytes) and of their patients. A small batch is one statement (in autocommit, a
    transaction of its own); a larger one several, to be sent in one transaction."""
    if len(events) <= SMALL_BATCH and len(patients) <= 4 * SMALL_BATCH:
        params = _new_row_params(events) + canonical + _patient_params(patients)
        return [(_chained_sql(lock, len(events), len(patients)), params)]
    statements = [
        (_chained_sql(lock, len(chunk), 0), _new_row_params(chunk) + canonical[i : i + CHUNK])
        for i, chunk in zip(range(0, len(events), CHUNK), _chunks(events, CHUNK), strict=True)
    ]
    for chunk in _chunks(patients, 4 * CHUNK):
        statements.append((_insert_sql(0, len(chunk)), _patient_params(chunk)))
    return statements


# a new row's columns but its link (the event id included: the journal reserves ids)
_NEW_ROW_COLUMNS = tuple(c for c in EVENT_COLUMNS if c not in LINK_COLUMNS[1:])
_COLUMN_TYPES = dict(zip(EVENT_COLUMNS, _EVENT_TYPES, strict=True))


@lru_cache(maxsize=128)
def _chained_sql(lock: int, events: int, patients: int) -> str:
    width = len(_NEW_ROW_COLUMNS)
    rows = ", ".join(
        f"({i + 1}, "
        + ", ".join(
            f"${i * width + j + 1}::{_COLUMN_TYPES[c]}" for j, c in enumerate(_NEW_ROW_COLUMNS)
        )
        + ")"
        for i in range(events)
    )
    canonical = ", ".join(f"${events * width + i + 1}::BYTEA" for i in range(events))
    columns = ", ".join(_NEW_ROW_COLUMNS)
    chain = (
        "chain AS MATERIALIZED (SELECT * FROM"
        f" samhandling_audit_chain({int(lock)}, ARRAY[{canonical}]))"
    )
    event_sql = (
        f"INSERT INTO audit_event ({columns}, chain_pos, prev_hash, hash)"
        f" SELECT {', '.join(f'v.{c}' for c in _NEW_ROW_COLUMNS)},"
        " c.new_pos, c.new_prev, c.new_hash"
        f" FROM chain c JOIN (VALUES {rows}) AS v (ord, {columns}) ON v.ord = c.ord"
    )
    if not patients:
        return f"WITH {chain} {event_sql}"
    start = events * (width + 1)
    pairs = ", ".join(_placeholders(start + 2 * i, 2) for i in range(patients))
    patient_sql = f"INSERT INTO audit_patient (event_id, patient_id) VALUES {pairs}"
    return f"WITH {chain}, events AS ({event_sql}) {patient_sql}"


def _new_row_params(rows: list[Row]) -> list[Any]:
    return [row.get(c) for row in rows for c in _NEW_ROW_COLUMNS]


def _event_params(rows: list[Row]) -> list[Any]:
    return [row.get(c) for row in rows for c in EVENT_COLUMNS]


def _patient_params(rows: list[Row]) -> list[Any]:
    return [v for row in rows for v in (row["event_id"], row["patient_id"])]


def _chunks(rows: list[Row], size: int) -> list[list[Row]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]
