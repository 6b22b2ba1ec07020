"""A search's SELECT statements run on psycopg's cursor, compiled once per shape (issue 24).

A search builds its statements as SQLAlchemy expressions (`search/sql.py`): their SQL text
depends on the search's shape (its parameters, modifiers, number of OR-ed values, sort,
restriction …), never on the values it binds. `Connection.execute` then keys the statement
(SQLAlchemy's cache key), finds its compiled form, and builds an execution context and a
result object around psycopg's cursor, about a third of a search's statement in CPU.

`select_rows` keeps the first step, SQLAlchemy's own cache key, as the shape: it names
everything that changes the text, and carries the values bound in this statement
(`extracted_parameters`). The compiled form is kept here under that key (with the
dialect), its parameters built from the key's values as SQLAlchemy builds them (expanding
`IN` lists and bind processors included), and the statement sent on the driver's cursor:
the same SQL text with the same values, without the execution context and result. The
rows come in binary (a `bytea` as it is stored, without a text result's hex decoding),
the same values as SQLAlchemy's (`text`, integers, `bytea` as bytes).

As `reader.driver_rows`: on PostgreSQL outside a write transaction only (a write
connection's statement events insert the rows its writers queued before anything reads);
SQLite and write connections run the statement through SQLAlchemy, unless the caller says
it runs in a write transaction (`in_write_transaction`): the queued rows are then inserted
first (`index_buffer.flush_for_read`). Errors are raised as
SQLAlchemy raises a statement's; SQLAlchemy's cursor events are told of the statement.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Select
from sqlalchemy.sql.compiler import SQLCompiler

from samhandling.store.database import is_sqlite
from samhandling.store.index_buffer import flush_for_read
from samhandling.store.sqlite_driver import statement_error

#: a SELECT of any columns
AnySelect = Select[*tuple[Any, ...]]

#: compiled forms kept; beyond it the oldest go (a search's shapes are few, an odd one
#: must not grow the process)
MAX_SHAPES = 1000

_compiled: dict[tuple[Any, Any], SQLCompiler] = {}
_lock = threading.Lock()


def select_rows(
    connection: Connection, statement: AnySelect, *, in_write_transaction: bool = False
) -> list[tuple[Any, ...]]:
    """Every row of `statement` (plain values, as `Connection.execute(…).all()` gives them).
    A write connection's statement goes through SQLAlchemy, whose statement events insert
    the rows its writers queued; `in_write_transaction` (the caller may run in one) sends
    it on the driver there too, after those rows are inserted here
    (`index_buffer.flush_for_read`; nothing where no writer queued rows)."""
    if is_sqlite(connection):
        return [tuple(row) for row in connection.execute(statement)]
    if in_write_transaction:
        flush_for_read(connection)
    elif connection.get_execution_options().get("write"):
        return [tuple(row) for row in connection.execute(statement)]
    cache_key = statement._generate_cache_key()
    if cache_key is None:  # an element SQLAlchemy does not cache: its own way
        return [tuple(row) for row in connection.execute(statement)]
    sql, params = _driver_form(connection, statement, cache_key)
    if not connection.in_transaction():
        connection.begin()  # as SQLAlchemy's autobegin would: the statement is ours
    driver: Any = connection.connection.dbapi_connection
    try:
        with driver.cursor(binary=True) as cursor:
            _note(connection, "before_cursor_execute", cursor, sql, params)
            cursor.execute(sql, params)
            rows = list(cursor.fetchall())
            _note(connection, "after_cursor_execute", cursor, sql, params)
            return rows
    except psycopg.Error as failure:
        raise statement_error(connection, sql, failure) from failure


def _note(connection: Connection, event: str, cursor: Any, sql: str, params: Any) -> None:
    """SQLAlchemy's cursor event `event` to its listeners, if any (tests that watch the
    statements a search sends; none listens in the server on PostgreSQL)."""
    listeners = getattr(connection.dispatch, event)
    if listeners:
        listeners(connection, cursor, sql, params, None, False)


def compiled_shapes() -> int:
    """How many statement shapes are kept compiled (for tests)."""
    return len(_compiled)


def _driver_form(
    connection: Connection, statement: AnySelect, cache_key: Any
) -> tuple[str, dict[str, Any]]:
    """The SQL text and the parameters the driver is given for `statement`, as
    SQLAlchemy's `DefaultExecutionContext._init_compiled` makes them."""
    compiled = _compiled_form(connection, statement, cache_key)
    values: Mapping[str, Any] = compiled.construct_params(
        extracted_parameters=cache_key.bindparams, escape_names=False
    )
    sql, processors = compiled.string, cast(dict[str, Any], compiled._bind_processors)
    if compiled.literal_execute_params or compiled.post_compile_params:
        expanded = compiled._process_parameters_for_postcompile(values)  # type: ignore[arg-type]
        sql, values = expanded.statement, expanded.parameters
        processors = {**processors, **expanded.processors}
    escaped: Mapping[str, str] = compiled.escaped_bind_names or {}
    params = {
        escaped.get(key, key): processors[key](value) if key in processors else value
        for key, value in values.items()
    }
    return _text_arrays_binary(sql, params), params


def _text_arrays_binary(sql: str, params: Mapping[str, Any]) -> str:
    """`sql` with each parameter that is a list of strings sent in binary (`%(name)b`).

    In text, psycopg tests every element of a list against a regular expression for the
    quotes it may need (`ListDumper`; a batch chunk's codes, up to a hundred, ≈ 2% of a
    measurement's instructions with chunks of fifty); in binary the elements go as they
    are, a `text[]`
    (bench/RESULTS.md, "The server's instructions per measurement: four cuts")."""
    for name, value in params.items():
        if type(value) is list and value and all(type(item) is str for item in value):
            sql = sql.replace(f"%({name})s", f"%({name})b")
    return sql


def _compiled_form(connection: Connection, statement: AnySelect, cache_key: Any) -> SQLCompiler:
    dialect = connection.dialect
    key = (dialect, cache_key.key)
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = dialect.statement_compiler(dialect, statement, cache_key=cache_key)
        with _lock:
            if len(_compiled) >= MAX_SHAPES:
                del _compiled[next(iter(_compiled))]
            _compiled[key] = compiled
    return compiled
