"""Version, outbox, index and compartment rows of a write transaction, inserted in bulk.

A transaction Bundle of 500 resources writes some 20,000 index rows. Inserted one
statement (or one executemany row) at a time they cost a round trip each; buffered, they
go in with one `COPY … FROM STDIN` per table on PostgreSQL (binary, with the column types
set once, for every table whose types psycopg can write so: all but `index_text`), all
tables' COPY statements in one exchange (`store/copy_tables.py`) — a single write's few
rows with one statement for all tables (`rows_in_one`), the write's audit row in the same
exchange (`send_with_commit`) — and an
`executemany` per table on SQLite's driver, when the transaction is about to read or to
commit. Rows are tuples in the order of their columns (`add_rows`; the version writer's
come so from `index_rows`), queued per table and column tuple:

* before any statement runs on the connection (SQLAlchemy `before_execute`) except the
  version writer's own inserts, updates and deletes of resource, version, outbox and index
  rows — those read nothing — so a search, a conditional reference or a
  `SELECT … FOR UPDATE` inside the transaction always sees every row written before it;
* when the transaction commits (SQLAlchemy's `commit` event runs inside the transaction,
  before the database commit; a failing insert rolls everything back).

A statement run with the execution option `READS_CURRENT_ROWS` reads only `resource`
rows, which are written at once except a bulk load's creates (`VersionWriter(…,
bulk_creates=True)`) and a batch chunk's creates at server-assigned ids (`queued_creates`):
only queued `resource` rows are inserted before it, the index rows stay queued (the
version writer's `SELECT … FOR UPDATE` of the current row, before each update of a
resource).

A rollback empties the buffer. Rows of a resource written again in the same transaction
are dropped from the buffer (`discard`) before its old rows are deleted, so a stale
version's rows are never inserted.

Savepoints (`database.savepoint`, a batch Bundle's entries): the buffer marks what it holds
when a savepoint begins (a copy of its lists) and a savepoint rolled back puts that back.
Rows queued before the savepoint and inserted inside it (a read flushed them) are thereby
queued again, which is right: the database rolled their insert back with the savepoint.
The savepoint statements themselves flush nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from sqlalchemy import Connection, Delete, Engine, Insert, Table, Update, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import (
    ReleaseSavepointClause,
    RollbackToSavepointClause,
    SavepointClause,
)

from samhandling.store import statistics
from samhandling.store.copy_tables import TableRows, copy_tables
from samhandling.store.database import is_sqlite, keep_with_savepoints
from samhandling.store.rows_in_one import Statement, raise_as_statement_error, send_in_one
from samhandling.store.schema import (
    INDEX_TABLES,
    compartment,
    outbox,
    patient_identity,
    resource,
    resource_version,
    transaction_log,
)
from samhandling.store.sqlite_driver import column_values, insert_values

Key = tuple[str, str]
Row = tuple[Any, ...]
# where rows wait: per table and the columns their tuples hold, in that order
Queue = tuple[Table, tuple[str, ...]]
READS_CURRENT_ROWS = "samhandling_reads_current_rows"
# the buffer of each connection's transaction, and the engines whose events reach them
_BUFFERS: WeakKeyDictionary[Connection, IndexBuffer] = WeakKeyDictionary()
_HEARING: WeakSet[Engine] = WeakSet()
# At most this many rows go in as one statement (parameters: a few thousand, far below
# PostgreSQL's 65,535); more go in by COPY (`IndexBuffer.flush`).
_ONE_STATEMENT_ROWS = 200
_POSTGRESQL = postgresql.dialect()
_REPLACED_TABLES = frozenset({compartment, *INDEX_TABLES.values()})
_SAVEPOINT_STATEMENTS = (SavepointClause, RollbackToSavepointClause, ReleaseSavepointClause)
_WRITER_TABLES = frozenset(
    {
        resource,
        resource_version,
        outbox,
        transaction_log,
        compartment,
        patient_identity,
        *INDEX_TABLES.values(),
    }
)


@dataclass(frozen=True)
class _Mark:
    rows: dict[Queue, list[Row]]
    keys: set[Key]
    statements: int


class IndexBuffer:
    """Rows waiting to be inserted, per table, in the order they were added. The current
    `resource` row is written at once (its unique key detects concurrent creates) unless
    its id cannot be anyone else's (`VersionWriter` `bulk_creates`, `queued_creates`)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._rows: dict[Queue, list[Row]] = {}
        self._keys: set[Key] = set()
        self._statements: list[Statement] = []  # sent with the rows (`send_with_commit`)
        self._flushing = False
        # The transaction is over once it commits or rolls back: a later one on the same
        # connection is not ours.
        self._closed = False
        keep_with_savepoints(connection, self)

    @property
    def closed(self) -> bool:
        """Whether its transaction is over (committed or rolled back)."""
        return self._closed

    @classmethod
    def of(cls, connection: Connection) -> IndexBuffer:
        """The buffer of the connection's current transaction (one for all its writers)."""
        found = _BUFFERS.get(connection)
        if found is not None and not found._closed:
            return found
        _hear(connection.engine)
        buffer = cls(connection)
        _BUFFERS[connection] = buffer
        return buffer

    def add(self, table: Table, key: Key, rows: Iterable[dict[str, Any]]) -> None:
        """Queue rows of the resource `key` for `table`, as dicts by column (a column a
        row lacks is NULL)."""
        names, values = column_values(list(rows))
        self.add_rows(table, names, key, map(tuple, values))

    def add_rows(
        self, table: Table, columns: tuple[str, ...], key: Key, rows: Iterable[Row]
    ) -> None:
        """Queue rows of the resource `key` for `table`: tuples of the values of `columns`,
        in that order (the version writer's: no dict per row)."""
        if self._closed:
            raise RuntimeError("the transaction of this buffer is over")
        self._rows.setdefault((table, columns), []).extend(rows)
        self._keys.add(key)

    def queued(self, table: Table) -> int:
        """How many rows of `table` are queued."""
        return sum(len(rows) for (t, _), rows in self._rows.items() if t is table)

    def discard(self, key: Key) -> None:
        """Forget the queued index and compartment rows of one resource (it is being
        written again); its queued versions and outbox events stay."""
        if key not in self._keys:
            return
        for queue, rows in self._rows.items():
            table, columns = queue
            if table in _REPLACED_TABLES and rows:
                of = itemgetter(columns.index("resource_type"), columns.index("resource_id"))
                self._rows[queue] = [r for r in rows if of(r) != key]

    def mark(self) -> object:
        """What is queued now (`database.SavepointAware`)."""
        rows = {queue: list(queued) for queue, queued in self._rows.items()}
        return _Mark(rows, set(self._keys), len(self._statements))

    def rollback_to(self, mark: object | None) -> None:
        """Queue again exactly what was queued at `mark` (None: nothing)."""
        if self._closed:
            return
        if mark is None:
            self._rows, self._keys, self._statements = {}, set(), []
            return
        assert isinstance(mark, _Mark)
        self._rows = {queue: list(queued) for queue, queued in mark.rows.items()}
        self._keys = set(mark.keys)
        del self._statements[mark.statements :]

    def flush(self) -> None:
        """Insert everything queued."""
        if self._flushing or self._closed or not (self._rows or self._statements):
            return
        self._flushing = True
        try:
            pending, self._rows, self._keys = self._rows, {}, set()
            statements, self._statements = self._statements, []
            pending = {q: rows for q, rows in pending.items() if rows}
            _insert_all(self.connection, pending, statements)
        finally:
            self._flushing = False

    def flush_current_rows(self) -> None:
        """Insert the queued `resource` rows only (a bulk load's creates), for a statement
        that reads nothing else."""
        queues = [queue for queue in self._rows if queue[0] is resource]
        current = {queue: self._rows.pop(queue) for queue in queues}
        if not self._closed and any(current.values()):
            _insert_all(self.connection, {q: rows for q, rows in current.items() if rows}, [])

    def before_execute(self, statement: Any, options: Any) -> None:
        """Insert what a statement about to run on the connection may read."""
        if isinstance(statement, Insert | Update | Delete) and statement.table in _WRITER_TABLES:
            return  # the writer's own blind writes: nothing they do reads the index
        if isinstance(statement, _SAVEPOINT_STATEMENTS):
            return
        if options.get(READS_CURRENT_ROWS):
            self.flush_current_rows()
            return
        self.flush()

    def at_commit(self) -> None:
        """Insert everything queued: the transaction is about to commit."""
        if not self._closed:
            self.flush()
        self._closed = True

    def at_rollback(self) -> None:
        """Forget everything queued: the transaction rolled back."""
        self._rows, self._keys, self._statements = {}, set(), []
        self._closed = True


def send_with_commit(connection: Connection, sql: str, params: list[Any]) -> bool:
    """Send a statement of the driver's (PostgreSQL) with the rows this transaction's
    buffer inserts when it commits, in the same exchange (one pipeline): a single write's
    audit row (`audit/storage/writes.py`) goes with its version and index rows, one round
    trip instead of two. False when no open buffer of the transaction will insert at its
    commit (none queued anything, it flushed for the commit already, or SQLite): the
    caller runs the statement itself."""
    buffer = _running(connection)
    if buffer is None or buffer._flushing or is_sqlite(connection):
        return False
    buffer._statements.append((sql, params))
    return True


def _hear(engine: Engine) -> None:
    """Send the engine's statements, commits and rollbacks to the buffer of their connection.

    The listeners are the engine's, added once: listening on each transaction's connection
    cost a write more than its COPY (SQLAlchemy builds the connection's own dispatch)."""
    if engine in _HEARING:
        return
    event.listen(engine, "before_execute", _before_execute)
    event.listen(engine, "commit", _at_commit)
    event.listen(engine, "rollback", _at_rollback)
    _HEARING.add(engine)


def _running(connection: Connection) -> IndexBuffer | None:
    found = _BUFFERS.get(connection)
    return None if found is None or found._closed else found


def flush_for_read(connection: Connection) -> None:
    """Insert what the writers of the connection's transaction queued, before a statement
    sent past SQLAlchemy (whose statement events would do it) reads (`select_driver`)."""
    buffer = _running(connection)
    if buffer is not None:
        buffer.flush()


def _before_execute(
    connection: Connection, statement: Any, _multi: Any, _params: Any, options: Any
) -> None:
    buffer = _running(connection)
    if buffer is not None:
        buffer.before_execute(statement, options)


def _at_commit(connection: Connection) -> None:
    buffer = _running(connection)
    if buffer is not None:
        buffer.at_commit()


def _at_rollback(connection: Connection) -> None:
    buffer = _running(connection)
    if buffer is not None:
        buffer.at_rollback()


def _insert_all(
    connection: Connection, pending: dict[Queue, list[Row]], statements: list[Statement]
) -> None:
    if is_sqlite(connection):
        for (table, columns), rows in pending.items():
            _count_written(connection, table, rows)
            insert_values(connection, table.name, columns, rows)
    elif pending and not _in_one_statement(pending):
        _copy_all(connection, pending)  # COPY cannot share a pipeline
        send_in_one(connection, [], statements)
    else:
        for (table, _columns), rows in pending.items():
            _count_written(connection, table, rows)
        tables = [(table.name, columns, rows) for (table, columns), rows in pending.items()]
        send_in_one(connection, tables, statements)


def _in_one_statement(pending: dict[Queue, list[Row]]) -> bool:
    """Whether the rows go in with one multi-row INSERT per table in one statement (on
    PostgreSQL): for a few rows (a single write's). A COPY per table costs a round trip
    each, more than the statement's parameters for a few rows; a Bundle's thousands of
    rows go in by COPY."""
    return sum(len(rows) for rows in pending.values()) <= _ONE_STATEMENT_ROWS


def _count_written(connection: Connection, table: Table, rows: list[Row]) -> None:
    """Count the rows for the planner's statistics (store/statistics.py) before the commit:
    a rolled-back write makes the next ANALYZE come a little early, which is harmless. A
    queued current `resource` row is not counted: its version row counts for it."""
    if table is not resource:
        statistics.note_written(connection.engine, table.name, len(rows))


def _copy_all(connection: Connection, pending: dict[Queue, list[Row]]) -> None:
    """Every table's rows by COPY, all in one exchange (`copy_tables`): binary where
    psycopg can write the table's types, text for `index_text`."""
    tables = []
    for (table, columns), rows in pending.items():
        _count_written(connection, table, rows)
        tables.append(TableRows(table.name, columns, _binary_types(table, columns), rows))
    driver: Any = connection.connection.driver_connection
    try:
        copy_tables(driver, tables)
    except connection.dialect.loaded_dbapi.Error as failure:
        statement = "; ".join(rows.statement for rows in tables)
        raise_as_statement_error(connection, statement, failure)


# PostgreSQL's types of the columns the buffer writes, by their SQLAlchemy spelling (a
# VARCHAR's binary form is text's); a table with any other column type (index_text's
# tsvector, which psycopg cannot write in binary) goes in by text COPY.
_BINARY_TYPES = {
    "VARCHAR": "text",
    "TEXT": "text",
    "BIGINT": "int8",
    "INTEGER": "int4",
    "FLOAT": "float8",
    "BOOLEAN": "bool",
    "BYTEA": "bytea",
}


@lru_cache(maxsize=256)
def _binary_types(table: Table, columns: tuple[str, ...]) -> list[str] | None:
    """The types of `columns` for a binary COPY, or None: the table takes a text COPY.

    Binary, with the types set once per COPY, PostgreSQL parses no text and psycopg
    formats none: 10–25% less of the writer's CPU for a Bundle's COPY, and less of the
    database's (bench/RESULTS.md, "Index rows as tuples, binary COPY")."""
    found = []
    for name in columns:
        spelled = table.c[name].type.compile(dialect=_POSTGRESQL).split("(")[0]
        if spelled not in _BINARY_TYPES:
            return None
        found.append(_BINARY_TYPES[spelled])
    return found
