"""A write transaction's few rows in one statement, with the statements sent beside them,
in one exchange with PostgreSQL (`index_buffer`'s commit of a single write).

The rows of every table go in one statement of data-modifying CTEs
(`WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …`); statements queued to go with them
(`index_buffer.send_with_commit`: the write's audit row) follow in the same pipeline, so
the commit's inserts cost one round trip however many statements they are.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain
from typing import Any, NoReturn

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

Statement = tuple[str, list[Any]]  # SQL with $n placeholders and its parameters
TableRows = tuple[str, tuple[str, ...], list[tuple[Any, ...]]]  # table, columns, rows


def send_in_one(
    connection: Connection, tables: list[TableRows], statements: list[Statement]
) -> None:
    """Insert `tables`' rows in one statement and run `statements` after it, in one
    exchange, in the connection's transaction (PostgreSQL's driver)."""
    sent = list(statements)
    if tables:
        shape = tuple((name, columns, len(rows)) for name, columns, rows in tables)
        values = list(chain.from_iterable(chain.from_iterable(rows for _, _, rows in tables)))
        sent.insert(0, (_statement_of(shape), values))
    if not sent:
        return
    import psycopg

    dbapi: Any = connection.connection.dbapi_connection  # psycopg, in this transaction
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        if len(sent) == 1:
            with psycopg.RawCursor(dbapi) as cursor:
                cursor.execute(*sent[0])
            return
        with dbapi.pipeline(), psycopg.RawCursor(dbapi) as cursor:
            for sql, params in sent:
                cursor.execute(sql, params)
    except driver_error as failure:  # a pipeline's error does not say which statement
        raise_as_statement_error(connection, "; ".join(sql for sql, _ in sent), failure)


@lru_cache(maxsize=512)
def _statement_of(shape: tuple[tuple[str, tuple[str, ...], int], ...]) -> str:
    """`WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …` for tables of (name, columns,
    rows), the parameters ($1…) row by row, table by table."""
    inserts, number = [], 0
    for name, columns, count in shape:
        rows = []
        for _ in range(count):
            rows.append("(" + ", ".join(f"${number + i + 1}" for i in range(len(columns))) + ")")
            number += len(columns)
        names = ", ".join(f'"{c}"' for c in columns)
        inserts.append(f'INSERT INTO "{name}" ({names}) VALUES {", ".join(rows)}')
    if len(inserts) == 1:
        return inserts[0]
    ctes = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(inserts[:-1]))
    return f"WITH {ctes} {inserts[-1]}"


def raise_as_statement_error(
    connection: Connection, statement: str, failure: Exception
) -> NoReturn:
    """Raise the driver's `failure` as SQLAlchemy raises a statement's error, so callers
    tell a unique key's refusal (IntegrityError) or an outage apart as for any statement."""
    driver_error = connection.dialect.loaded_dbapi.Error
    broken = isinstance(failure, connection.dialect.loaded_dbapi.OperationalError)
    raise DBAPIError.instance(
        statement, None, failure, driver_error, connection_invalidated=broken
    ) from failure
