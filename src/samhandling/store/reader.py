"""Reading stored resources: current version, a given version, and history pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, and_, bindparam, case, exists, func, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from samhandling.store.database import is_sqlite
from samhandling.store.records import StoredVersion
from samhandling.store.schema import RESOURCE_ROW, resource, resource_version
from samhandling.store.sqlite_driver import statement_error

# The hot reads' statements, built once: SQLAlchemy then finds their compiled form by a
# cache key it has already computed, instead of building and keying a new statement each time.
_CURRENT = select(*RESOURCE_ROW).where(
    resource.c.resource_type == bindparam("rtype"), resource.c.resource_id == bindparam("rid")
)
_VERSION = select(resource_version).where(
    resource_version.c.resource_type == bindparam("rtype"),
    resource_version.c.resource_id == bindparam("rid"),
    resource_version.c.version_id == bindparam("vid"),
)
# The newest version before a given one that is not a deletion (what a deletion deleted).
_LIVE_BEFORE = (
    select(resource_version)
    .where(
        resource_version.c.resource_type == bindparam("rtype"),
        resource_version.c.resource_id == bindparam("rid"),
        resource_version.c.version_id < bindparam("vid"),
        resource_version.c.deleted.is_(False),
    )
    .order_by(resource_version.c.version_id.desc())
    .limit(1)
)

# The statements above in the form the event loop's reads send (`store/loop_reads.py`):
# PostgreSQL's, with psycopg's named placeholders.
PREBUILT = {"current": _CURRENT, "version": _VERSION, "live_before": _LIVE_BEFORE}


def read_current(
    connection: Connection, resource_type: str, resource_id: str
) -> StoredVersion | None:
    """The current version (possibly a deletion marker), or None if it never existed."""
    row = (
        connection.execute(_CURRENT, {"rtype": resource_type, "rid": resource_id})
        .mappings()
        .first()
    )
    return current_version(resource_type, resource_id, row) if row is not None else None


def current_version(resource_type: str, resource_id: str, row: Any) -> StoredVersion:
    """The current version of a `resource` row (a mapping of its columns)."""
    return StoredVersion(
        resource_type,
        resource_id,
        row["version_id"],
        row["last_updated_us"],
        row["tx_id"],
        row["deleted"],
        row["content"],
    )


def read_version(
    connection: Connection, resource_type: str, resource_id: str, version_id: int
) -> StoredVersion | None:
    """One given version, or None."""
    params = {"rtype": resource_type, "rid": resource_id, "vid": version_id}
    row = connection.execute(_VERSION, params).mappings().first()
    return version_of_row(row) if row is not None else None


def read_versions_with_current(
    connection: Connection, resource_type: str, refs: list[tuple[str, int]]
) -> dict[tuple[str, int], tuple[StoredVersion, StoredVersion | None]]:
    """Given versions of resources of one type, each with its resource's current version
    (None when the given one is current), in one query: e.g. the statements a medication
    list references. Versions that do not exist are absent."""
    if not refs:
        return {}
    v, r = resource_version.c, resource.c
    wanted = tuple_(v.resource_id, v.version_id).in_(refs)
    later = r.version_id != v.version_id
    stmt = (
        select(
            resource_version,
            r.version_id.label("current_version_id"),
            r.last_updated_us.label("current_last_updated_us"),
            r.tx_id.label("current_tx_id"),
            r.deleted.label("current_deleted"),
            case((later, r.content), else_=None).label("current_content"),
        )
        .join(resource, and_(r.resource_type == v.resource_type, r.resource_id == v.resource_id))
        .where(v.resource_type == resource_type, wanted)
    )
    found: dict[tuple[str, int], tuple[StoredVersion, StoredVersion | None]] = {}
    for row in connection.execute(stmt).mappings():
        version = version_of_row(row)
        current = None
        if row["current_version_id"] != version.version_id:
            current = StoredVersion(
                resource_type,
                version.resource_id,
                row["current_version_id"],
                row["current_last_updated_us"],
                row["current_tx_id"],
                row["current_deleted"],
                row["current_content"],
            )
        found[(version.resource_id, version.version_id)] = (version, current)
    return found


def read_live_before(
    connection: Connection, resource_type: str, resource_id: str, version_id: int
) -> StoredVersion | None:
    """The newest version before `version_id` that is not a deletion, or None."""
    params = {"rtype": resource_type, "rid": resource_id, "vid": version_id}
    row = connection.execute(_LIVE_BEFORE, params).mappings().first()
    return version_of_row(row) if row is not None else None


def read_many_current(
    connection: Connection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], StoredVersion]:
    """Current, not deleted versions for (type, id) keys, in one query per type."""
    found: dict[tuple[str, str], StoredVersion] = {}
    by_type: dict[str, list[str]] = {}
    for rtype, rid in keys:
        by_type.setdefault(rtype, []).append(rid)
    for rtype, ids in by_type.items():
        rows = connection.execute(
            select(*RESOURCE_ROW).where(
                resource.c.resource_type == rtype,
                resource.c.resource_id.in_(ids),
                resource.c.deleted.is_(False),
            )
        ).mappings()
        for row in rows:
            found[(rtype, row["resource_id"])] = StoredVersion(
                rtype,
                row["resource_id"],
                row["version_id"],
                row["last_updated_us"],
                row["tx_id"],
                False,
                row["content"],
            )
    return found


def count_stored(connection: Connection, resource_type: str) -> int:
    """How many resources of a type the store holds (deleted ones included: their row stays)."""
    return int(
        connection.execute(
            select(func.count())
            .select_from(resource)
            .where(resource.c.resource_type == resource_type)
        ).scalar_one()
    )


def current_contents_after(
    connection: Connection, after: tuple[str, str], size: int
) -> list[tuple[str, str, str]]:
    """The next `size` current, not deleted resources after the key `after` as
    (type, id, content), in (type, id) order: a keyset walk over the whole store."""
    r = resource.c
    stmt = (
        select(r.resource_type, r.resource_id, r.content)
        .where(
            r.deleted.is_(False),
            or_(
                r.resource_type > after[0],
                and_(r.resource_type == after[0], r.resource_id > after[1]),
            ),
        )
        .order_by(r.resource_type, r.resource_id)
        .limit(size)
    )
    return [(row[0], row[1], row[2]) for row in connection.execute(stmt)]


@dataclass(frozen=True)
class HistoryQuery:
    """A history request (R4 §3.1.0.6): scope, `_since`, `_at` and a keyset page cursor."""

    resource_type: str | None = None
    resource_id: str | None = None
    since_us: int | None = None
    at_range_us: tuple[int, int] | None = None
    count: int = 50
    snapshot_tx: int | None = None
    after: tuple[int, str, str, int] | None = None  # (tx_id, type, id, version) of last row


def latest_tx(connection: Connection) -> int:
    return int(
        connection.execute(
            select(func.coalesce(func.max(resource_version.c.tx_id), 0))
        ).scalar_one()
    )


def read_history(connection: Connection, query: HistoryQuery) -> tuple[list[StoredVersion], int]:
    """One page of versions, newest first, and the total number in the whole history."""
    conditions = _history_conditions(query)
    v = resource_version.c
    order = (v.tx_id.desc(), v.resource_type.desc(), v.resource_id.desc(), v.version_id.desc())
    page_conditions = list(conditions)
    if query.after is not None:
        tx, rtype, rid, ver = query.after
        page_conditions.append(
            or_(
                v.tx_id < tx,
                and_(v.tx_id == tx, v.resource_type < rtype),
                and_(v.tx_id == tx, v.resource_type == rtype, v.resource_id < rid),
                and_(
                    v.tx_id == tx,
                    v.resource_type == rtype,
                    v.resource_id == rid,
                    v.version_id < ver,
                ),
            )
        )
    rows = connection.execute(
        select(resource_version).where(*page_conditions).order_by(*order).limit(query.count)
    ).mappings()
    total = connection.execute(
        select(func.count()).select_from(resource_version).where(*conditions)
    ).scalar_one()
    return [version_of_row(row) for row in rows], int(total)


def _history_conditions(query: HistoryQuery) -> list[ColumnElement[bool]]:
    v = resource_version.c
    conditions: list[ColumnElement[bool]] = []
    if query.resource_type is not None:
        conditions.append(v.resource_type == query.resource_type)
    if query.resource_id is not None:
        conditions.append(v.resource_id == query.resource_id)
    if query.snapshot_tx is not None:
        conditions.append(v.tx_id <= query.snapshot_tx)
    if query.since_us is not None:
        conditions.append(v.last_updated_us >= query.since_us)
    if query.at_range_us is not None:
        conditions.extend(_current_during(*query.at_range_us))
    return conditions


def _current_during(low_us: int, high_us: int) -> list[ColumnElement[bool]]:
    """Versions that were current at some moment of [low, high) (the `_at` parameter)."""
    v = resource_version.c
    later = resource_version.alias("later")
    superseded_before = exists().where(
        later.c.resource_type == v.resource_type,
        later.c.resource_id == v.resource_id,
        later.c.version_id > v.version_id,
        later.c.last_updated_us <= low_us,
    )
    return [v.last_updated_us < high_us, ~superseded_before]


def version_of_row(row: object) -> StoredVersion:
    """The version of a `resource_version` row (a mapping of its columns)."""
    r = dict(row)  # type: ignore[call-overload]
    return StoredVersion(
        r["resource_type"],
        r["resource_id"],
        r["version_id"],
        r["last_updated_us"],
        r["tx_id"],
        r["deleted"],
        r["content"],
        r["method"],
    )


def driver_rows(connection: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Every row of a fixed read statement written for the driver (psycopg's `%s`, SQLite's
    `?`), run inside the connection's transaction.

    On PostgreSQL outside a write transaction the rows come from psycopg's cursor in binary
    (a `bytea` arrives as stored, without the hex decoding of a text result) and without
    SQLAlchemy's result object: a search's page of 50 Observations read in 0.27 ms of CPU
    instead of 0.50 (bench/RESULTS.md, "A search's statements"). A write connection keeps
    SQLAlchemy's execution: its statement events insert the rows the writers queued
    (`index_buffer`) before anything reads; no writer queues rows on a read connection.
    Errors are raised as SQLAlchemy raises a statement's.
    """
    if is_sqlite(connection) or connection.get_execution_options().get("write"):
        return list(connection.exec_driver_sql(sql, tuple(params)))
    if not connection.in_transaction():
        connection.begin()  # as SQLAlchemy's autobegin would: the statement is ours
    driver: Any = connection.connection.dbapi_connection
    try:
        with driver.cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    except psycopg.Error as failure:
        raise statement_error(connection, sql, failure) from failure
