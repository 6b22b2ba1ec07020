"""SQLite's statement timeout, and statements run straight on its driver (sqlite3).

A write's buffered rows and an update's index deletes are a handful of fixed statements;
through SQLAlchemy each costs an execution context (and a compiled-cache look-up) many
times the time SQLite takes to run it in the process. `run_many` runs such a statement
on the driver, under the same statement timeout SQLAlchemy's statements get, and raises
its errors as SQLAlchemy would (a unique key's refusal is an `IntegrityError`;
`statement_error`, which PostgreSQL's driver statements use too).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError, StatementError

# SQLite calls the progress handler every this many virtual-machine instructions (~1 ms)
PROGRESS_STEPS = 10_000
UNBOUNDED = "no_statement_timeout"  # execution option: no timeout (schema migrations)
_LIMITS: WeakKeyDictionary[Engine, float] = WeakKeyDictionary()


def limit_statements(engine: Engine, seconds: float) -> None:
    """Stop any statement of `engine` that runs longer than `seconds` ("interrupted")."""
    _LIMITS[engine] = seconds

    @event.listens_for(engine, "before_cursor_execute")
    def _start(connection: Connection, *_args: Any) -> None:
        _bound(connection)


def _bound(connection: Connection) -> None:
    seconds = _LIMITS.get(connection.engine)
    if seconds is None:
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    if connection.get_execution_options().get(UNBOUNDED):
        raw.set_progress_handler(None, 0)
        return
    deadline = time.monotonic() + seconds
    # a true result makes SQLite stop the statement: "interrupted"
    raw.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)


def run_many(connection: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """`sql` once per row of parameters, on the driver, in the connection's transaction."""
    _bound(connection)
    raw: Any = connection.connection.dbapi_connection
    driver_error = connection.dialect.loaded_dbapi.Error
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, rows)
    except driver_error as failure:
        raise statement_error(connection, sql, failure) from failure
    finally:
        cursor.close()


def statement_error(connection: Connection, sql: str, failure: Exception) -> StatementError:
    """`failure` (the driver's error running `sql`) as SQLAlchemy raises a statement's
    error: callers tell a unique key's refusal (`IntegrityError`), a timeout or an outage
    apart as for any statement, and its text carries no parameter values (none given)."""
    driver_error = connection.dialect.loaded_dbapi.Error
    broken = isinstance(failure, connection.dialect.loaded_dbapi.OperationalError)
    return DBAPIError.instance(sql, None, failure, driver_error, connection_invalidated=broken)


def insert_rows(connection: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts by column; a column missing from a row is NULL) into `table`."""
    columns, values = column_values(rows)
    run_many(connection, _insert_sql(table, columns), values)


def insert_values(
    connection: Connection, table: str, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert `rows` (the values of `columns` each, in that order) into `table`."""
    run_many(connection, _insert_sql(table, columns), rows)


def column_values(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[tuple[str, ...], list[Sequence[Any]]]:
    """(every column some row names, in the order they first appear; each row's values in
    that order, None where a row lacks one).

    Rows of a table almost always name the same columns: when every row has as many as
    the first and `itemgetter` (in C) finds them all in each, they name exactly the
    first's; only otherwise is every row's every key looked at in Python (a transaction
    Bundle's ≈ 20,000 rows)."""
    if not rows:
        return (), []
    columns = tuple(rows[0])
    width = len(columns)
    if width > 1 and set(map(len, rows)) == {width}:
        try:
            return columns, list(map(itemgetter(*columns), rows))
        except KeyError:
            pass
    columns = tuple(dict.fromkeys(chain.from_iterable(rows)))
    return columns, [[row.get(c) for c in columns] for row in rows]


@lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
