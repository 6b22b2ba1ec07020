"""The version writer's statements on the current row, its index rows and the transaction
log, built once (a statement built per write is a new statement to SQLAlchemy each time:
constructing it and its cache key cost more than the round trip).

On PostgreSQL an update or a delete replaces the current row, removes the resource's index
and compartment rows and, the first time in its transaction, takes the transaction's id:
three statements, three round trips, each costing the server its driver's wait (about a
tenth of an update's CPU each, issue 24). `replace_current` sends them as one statement of
data-modifying CTEs: each runs once and to completion whether or not the statement reads
its rows, all on one snapshot, on tables none of the others touches. SQLite keeps its own
statements (in the process, one statement per table costs nothing more).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Connection,
    Delete,
    Table,
    bindparam,
    delete,
    insert,
    literal_column,
    select,
    update,
)

from samhandling.fhir.instants import now_us
from samhandling.store.loop_statements import DriverStatement
from samhandling.store.schema import (
    INDEX_TABLES,
    RESOURCE_ROW,
    compartment,
    resource,
    transaction_log,
)

# The queued rows' columns, in the order of their tuples (IndexBuffer.add_rows); the
# version row takes all but the last, `facts` (only the current row keeps them)
CURRENT_COLUMNS = (
    "resource_type", "resource_id", "patient_id", "shard_key", "version_id", "tx_id",
    "last_updated_us", "deleted", "content", "facts",
)  # fmt: skip


def _index_delete(table: Table) -> Delete:
    return delete(table).where(
        table.c.resource_type == bindparam("resource_type"),
        table.c.resource_id == bindparam("resource_id"),
    )


INDEX_DELETES = [_index_delete(table) for table in (*INDEX_TABLES.values(), compartment)]
INDEX_DELETE_IN_ONE = INDEX_DELETES[-1].add_cte(
    *(
        statement.returning(literal_column("1")).cte(f"removed_{number}")
        for number, statement in enumerate(INDEX_DELETES[:-1])
    )
)
# SQLite's, as text for its driver (store/sqlite_driver.py: no execution context each)
SQLITE_INDEX_DELETES = [
    f'DELETE FROM "{table.name}" WHERE resource_type = ? AND resource_id = ?'
    for table in (*INDEX_TABLES.values(), compartment)
]
INSERT_CURRENT = insert(resource)
UPDATE_CURRENT = update(resource).where(
    resource.c.resource_type == bindparam("key_type"),
    resource.c.resource_id == bindparam("key_id"),
)
# `samhandling reindex` writes the facts anew (rows from before migration 0027 have none)
UPDATE_FACTS = (
    update(resource)
    .where(
        resource.c.resource_type == bindparam("key_type"),
        resource.c.resource_id == bindparam("key_id"),
    )
    .values(facts=bindparam("facts"))
)
NEW_TRANSACTION = (
    insert(transaction_log)
    .values(committed_at_us=bindparam("committed_at_us"))
    .returning(transaction_log.c.tx_id)
)
CURRENT = select(*RESOURCE_ROW).where(
    resource.c.resource_type == bindparam("key_type"),
    resource.c.resource_id == bindparam("key_id"),
)
CURRENT_LOCKED = CURRENT.with_for_update()


def _replacing(tx_id: Any) -> Any:
    """The current row's UPDATE with every column from a parameter but `tx_id`."""
    values: dict[str, Any] = {
        name: bindparam(name) for name in CURRENT_COLUMNS[2:] if name != "tx_id"
    }
    return (
        update(resource)
        .where(
            resource.c.resource_type == bindparam("resource_type"),
            resource.c.resource_id == bindparam("resource_id"),
        )
        .values(**values, tx_id=tx_id)
    )


_REMOVED = [statement.cte(f"removed_{number}") for number, statement in enumerate(INDEX_DELETES)]
_TAKEN = NEW_TRANSACTION.cte("new_transaction")
# a new transaction's id, the current row replaced with it, the index rows removed; its id
_NEW_AND_REPLACE = DriverStatement(
    select(_TAKEN.c.tx_id).add_cte(
        _replacing(select(_TAKEN.c.tx_id).scalar_subquery()).cte("replaced"), *_REMOVED
    )
)
# the current row replaced in a transaction that has its id, the index rows removed
_REPLACE = DriverStatement(_replacing(bindparam("tx_id")).add_cte(*_REMOVED))


def replace_current(connection: Connection, row: Mapping[str, Any], tx_id: int | None) -> int:
    """Replace the current row (`row`: the values of `CURRENT_COLUMNS` but `tx_id`) and
    remove the resource's index and compartment rows, in one statement on PostgreSQL; with
    `tx_id` None, the transaction's id taken by the same statement. The transaction's id."""
    if tx_id is not None:
        _REPLACE.run(connection, {**row, "tx_id": tx_id})
        return tx_id
    taken = _NEW_AND_REPLACE.run(connection, {**row, "committed_at_us": now_us()})
    assert taken is not None  # the INSERT's RETURNING gives its one row
    return int(taken[0])
