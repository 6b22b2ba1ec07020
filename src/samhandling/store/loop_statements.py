"""Statements sent at libpq level on the event loop (issue 24): `PreparedRead` for the
loop's reads by id, `execute_prepared` for the audit journal's usual batch.

A read by id sends one statement. Through psycopg's `AsyncCursor.execute` that statement
cost ~80 µs of Python on the server's core, a sixth of the whole read (bench/RESULTS.md,
"Statements at libpq level"): a cursor and its adapters map, a Transformer,
the query's conversion and the prepared-statement cache, the generator driven by
`wait_async` with a timer per wait. The few fixed statements of `store/loop_reads.py`
need none of it: each is prepared once per connection under a name of its own, then sent
with `PQsendQueryPrepared` (parameters as text, the types are the statement's casts),
awaited with the loop's reader on the connection's socket, and its row loaded by the
connection's own psycopg `Transformer` from a binary result (the content's bytea arrives
as it is stored, without the hex decoding of a text result).

The connection is a `store.loop_pool` connection in autocommit mode used by one task at a
time (a read the pool lent it to, the journal's batch): nothing else sends on it while a
statement is in flight. Errors are psycopg's (`psycopg.errors.error_from_result`: a
statement timeout is `QueryCanceled`, a terminated connection an `OperationalError`), so
the pool's reconnect, the reads' 503 and the journal's handling of a conflict hold as they
were. A wait on the socket is noted on the connection (`connection.waiting`), so that the
loop pool's deadline can end it (`silenced`: `DatabaseSilent`, an OperationalError) when
the database stops answering without closing anything.

`DriverStatement` is the same idea for a thread's SQLAlchemy connection: a fixed statement
of the write path (an update's four) run, prepared, on psycopg's `RawCursor` inside the
connection's transaction, its errors raised as SQLAlchemy raises them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping, Sequence
from typing import Any, cast

import psycopg
from psycopg import errors, generators
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus, Format, TransactionStatus
from sqlalchemy import Connection, Select
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from samhandling.store.sqlite_driver import statement_error

# libpq's placeholders ($1, $2, …): the statements go to PQprepare as they are
_NUMBERED = psycopg_dialect.dialect(paramstyle="numeric_dollar")
_ANSWERED = (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK, ExecStatus.PIPELINE_SYNC)


class PreparedRead:
    """One statement that reads at most one row, prepared as `name` on each connection
    it runs on; `row(connection, params)` gives the row as a dict, or None."""

    def __init__(self, name: str, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=_NUMBERED)
        self.name = f"samhandling_{name}".encode()
        self.sql = str(compiled).encode()
        self.order = tuple(compiled.positiontup or ())
        self.fixed = {k: v for k, v in compiled.params.items() if v is not None}
        self.keys = tuple(str(column.key) for column in statement.selected_columns)

    async def row(self, connection: Any, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The row the statement finds with `params` (and the values it carries itself)."""
        try:
            return await self._row(connection, params)
        except errors.InvalidSqlStatementName:
            connection.prepared.clear()  # see `execute_prepared`
            return await self._row(connection, params)

    async def _row(self, connection: Any, params: Mapping[str, Any]) -> dict[str, Any] | None:
        pgconn = connection.pgconn
        if self.sql not in connection.prepared:
            await _prepare_fixed(connection, self.name, self.sql)
        given = {**self.fixed, **params} if self.fixed else params
        values = [_text(given[key]) for key in self.order]
        pgconn.send_query_prepared(self.name, values, result_format=Format.BINARY)
        result = await result_of(connection)
        if not result.ntuples:
            return None
        transformer = connection.transformer
        transformer.set_pgresult(result)
        return dict(zip(self.keys, transformer.load_row(0, tuple), strict=True))


class DriverStatement:
    """A fixed statement run straight on psycopg in a SQLAlchemy connection's transaction,
    prepared on the server (psycopg keeps it per connection): no execution context,
    compiled-cache look-up or result object per run (an update's statements cost a fifth
    of its server CPU through SQLAlchemy; bench/RESULTS.md, update24). `columns` are the
    keys an INSERT's or UPDATE's parameters set.

    It sends its statement without SQLAlchemy's `before_execute` event, so without the
    write buffer's flush (`store/index_buffer.py`): the caller does what that event would
    have done (the version writer flushes the queued `resource` rows before it reads or
    updates one; its blind writes need nothing)."""

    def __init__(self, statement: ClauseElement, columns: Sequence[str] | None = None) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=_NUMBERED, column_keys=columns))
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup or ())
        self.sql_bytes = self.sql.encode()

    def run(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run with `params` (by name); the first row it returns, if any. The first
        statement of a transaction carries its BEGIN (`_begin_and_run`)."""
        if not connection.in_transaction():
            connection.begin()  # as SQLAlchemy's autobegin would: the statement is ours
        dbapi: Any = connection.connection.dbapi_connection
        values = [params[key] for key in self.order]
        try:
            if dbapi.pgconn.transaction_status == _IDLE and not dbapi.autocommit:
                return self._begin_and_run(dbapi, values)
            with psycopg.RawCursor(dbapi) as cursor:
                cursor.execute(self.sql, values, prepare=True)
                return cursor.fetchone() if cursor.description else None
        except psycopg.Error as failure:
            raise statement_error(connection, self.sql, failure) from failure

    def _begin_and_run(self, dbapi: Any, values: list[Any]) -> tuple[Any, ...] | None:
        """BEGIN and the statement in one round trip (libpq's pipeline mode), where
        psycopg would send its BEGIN alone first and wait for it. The statement goes
        unnamed, parsed each time: a name of ours would not survive psycopg's `DEALLOCATE
        ALL` after a rollback on the connection (only the first statement of a write
        takes this path; the others run prepared on psycopg's cursor)."""
        pgconn = dbapi.pgconn
        transformer = Transformer(dbapi)
        dumped = transformer.dump_sequence(values, [PyFormat.AUTO] * len(values))
        pgconn.enter_pipeline_mode()
        try:
            pgconn.send_query_params(b"BEGIN", None)
            pgconn.send_query_params(
                self.sql_bytes,
                dumped,
                param_types=transformer.types,
                param_formats=transformer.formats,
                result_format=Format.BINARY,
            )
            pgconn.pipeline_sync()
            answers = dbapi.wait(_pipeline_answers(pgconn, 3))
        except BaseException:
            dbapi.close()  # answers unread in pipeline mode: the connection cannot go on
            raise  # (SQLAlchemy's pool sees it closed and discards it)
        pgconn.exit_pipeline_mode()
        for answer in answers:
            _checked(dbapi, answer)
        result = answers[1][-1]
        if not result.ntuples:
            return None
        transformer.set_pgresult(result)
        row: tuple[Any, ...] = transformer.load_row(0, tuple)
        return row


_IDLE = TransactionStatus.IDLE


def _pipeline_answers(pgconn: Any, count: int) -> Generator[Any, Any, list[list[Any]]]:
    """The results of the `count` queries (the sync included) sent in pipeline mode."""
    yield from generators.send(pgconn)
    answers = []
    for _ in range(count):
        answers.append((yield from generators.fetch_many(pgconn)))
    return answers


async def execute_prepared(connection: Any, sql: str, params: Sequence[Any]) -> Any:
    """`sql` (with `$n` placeholders) with `params`, prepared on `connection` the first
    time it meets that text (the audit journal's inserts: a few shapes, one per batch
    size); its result. Values go as text, bytes as binary (a bytea's as it is): the
    statement's casts and target columns give their types, so the one prepared form
    takes any value of them.

    psycopg deallocates every prepared statement of the connection, ours too, when it
    drops its own (`DEALLOCATE ALL`, e.g. after the ROLLBACK the journal sends when
    another appender came in between): a statement found missing is prepared again and
    sent once more (its Bind failed: nothing ran; the connection is in autocommit)."""
    try:
        return await _execute_prepared(connection, sql, params)
    except errors.InvalidSqlStatementName:
        connection.prepared.clear()
        return await _execute_prepared(connection, sql, params)


async def _execute_prepared(connection: Any, sql: str, params: Sequence[Any]) -> Any:
    pgconn = connection.pgconn
    name = connection.prepared.get(sql)
    if name is None:
        # A name is never given twice on a connection: after a miss has cleared the names
        # remembered, the server may still hold statements prepared since its DEALLOCATE
        # ALL, and a name counted from what is remembered collided with one of them.
        name = f"samhandling_s{next(connection.statement_names)}".encode()
        pgconn.send_prepare(name, sql.encode())
        await result_of(connection)
        connection.prepared[sql] = name
    formats = [PyFormat.BINARY if type(p) is bytes else PyFormat.TEXT for p in params]
    values = connection.transformer.dump_sequence(params, formats)
    pgconn.send_query_prepared(name, values, param_formats=connection.transformer.formats)
    return await result_of(connection)


async def result_of(connection: Any) -> Any:
    """The last result of the statement just sent on `connection` (a `PGresult`), once
    the server has answered it all; raises the error the server answered instead.

    The socket is registered with the loop for each wait and removed after it, as psycopg
    does. Keeping it registered from one statement to the next saved 5–7 µs of a read
    (read24g) but left uvloop watching a socket number libpq had closed when the server
    ended connections under load; whoever opened that number next (the audit journal's
    new connection) waited on it for ever, and so did every request waiting for its
    audit record (tests/e2e/test_connection_kills.py; bench/RESULTS.md, "The socket
    watch taken out")."""
    pgconn = connection.pgconn
    loop = asyncio.get_running_loop()
    while pgconn.flush():  # the socket's buffer was full: wait until it can take the rest
        await _ready(loop, connection, pgconn.socket, write=True)
    # One turn of the loop first: under load the other requests' work of that turn takes
    # longer than the database's answer, which is then read without watching the socket
    # (a future, a reader added and removed: dearer than the turn).
    await asyncio.sleep(0)
    results: list[Any] = []
    while True:
        try:
            pgconn.consume_input()
        except errors.OperationalError:
            # the server closed the connection after an error it sent (as psycopg: that
            # error is the answer, e.g. an administrator's shutdown)
            if any(r.status == ExecStatus.FATAL_ERROR for r in results):
                break
            raise
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                return _checked(connection, results)
            results.append(result)
        await _ready(loop, connection, pgconn.socket)
    return _checked(connection, results)


async def _prepare_fixed(connection: Any, name: bytes, sql: bytes) -> None:
    """Prepare `sql` as `name`, a name only ever given to that text: one the server still
    holds (the names remembered were cleared after another was found missing) is used."""
    connection.pgconn.send_prepare(name, sql)
    try:
        await result_of(connection)
    except errors.DuplicatePreparedStatement:
        if connection.pgconn.transaction_status != _IDLE:
            raise  # in a transaction the error has ended it: not to be passed over
    connection.prepared[sql] = name


def _checked(connection: Any, results: list[Any]) -> Any:
    for result in results:
        if result.status == ExecStatus.FATAL_ERROR:
            raise errors.error_from_result(result, encoding=connection.info.encoding)
        if result.status not in _ANSWERED:
            raise errors.InternalError(f"unexpected result status {result.status}")
    if not results:
        raise errors.InternalError("got no result from the statement")
    return results[-1]


async def _ready(
    loop: asyncio.AbstractEventLoop, connection: Any, fd: int, *, write: bool = False
) -> None:
    """Until `fd`, `connection`'s socket, can be read (or written), or `silenced` ends
    the wait."""
    ready = connection.waiting = loop.create_future()
    if write:
        loop.add_writer(fd, _resolve, ready)
    else:
        loop.add_reader(fd, _resolve, ready)
    try:
        await ready
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


class DatabaseSilent(psycopg.OperationalError):
    """The database did not answer a statement on the event loop in time (an outage:
    `api/database_errors.py` answers 503 for an OperationalError without a SQLSTATE)."""


def silenced(connection: Any, seconds: float) -> bool:
    """End `connection`'s wait on its socket with `DatabaseSilent` (the loop pool's
    deadline, `store/loop_pool.py`); False when it is not waiting."""
    waiting = connection.waiting
    if waiting is None or waiting.done():
        return False
    message = f"the database did not answer within {seconds:g} s; the connection is dropped"
    waiting.set_exception(DatabaseSilent(message))
    return True


def _resolve(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


def _text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format (the statement's casts give its type)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    raise TypeError(f"no text form for a {type(value).__name__} parameter")
