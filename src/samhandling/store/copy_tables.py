"""Many tables' rows in one exchange of `COPY … FROM STDIN` statements, at libpq level.

A batch chunk's commit writes some 800 rows into ten tables. Through psycopg's
`cursor.copy()` each table cost a cursor, a `Copy` object, its Transformer and the
generators that drive the protocol (~0.2 ms of Python per table on this host, more
than formatting its rows) and each row a Python call (`Copy.write_row`): 5 ms of the
server's CPU per chunk (bench/RESULTS.md, "The commit's COPY in one exchange").

Here every table's payload is built first, in one pass per table with psycopg's own
row formatters (`format_row_binary`, `format_row_text`: what `Copy.write_row` calls, in
C), then all the `COPY` statements go to the server in one simple query. PostgreSQL runs
them in turn; libpq reports each as ready for its data (`COPY_IN`), and the payload of
that table follows. One Python pass per table, no per-row call through `Copy`, and the
database does what it did (a binary COPY per table but `index_text`'s text one).

The connection is a SQLAlchemy connection's psycopg connection inside its transaction;
its lock is held for the exchange, and every result is read until libpq has none, so the
connection is left as psycopg left it (idle in the transaction, or in a failed one after
an error, which is raised as psycopg would raise it).
"""

from __future__ import annotations

import select
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from psycopg import Connection as DriverConnection
from psycopg import errors
from psycopg._copy_base import format_row_binary, format_row_text
from psycopg.adapt import Transformer
from psycopg.pq import ExecStatus, Format

Row = tuple[Any, ...]
# the binary COPY's header (signature, flags, no extension) and its end of data
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
BINARY_TRAILER = b"\xff\xff"


class TableRows:
    """The rows of one table for one COPY: `types` are PostgreSQL's type names of the
    columns for a binary COPY, or None for a text one."""

    __slots__ = ("columns", "rows", "table", "types")

    def __init__(
        self, table: str, columns: tuple[str, ...], types: Sequence[str] | None, rows: list[Row]
    ) -> None:
        self.table, self.columns, self.types, self.rows = table, columns, types, rows

    @property
    def statement(self) -> str:
        return copy_statement(self.table, self.columns, self.types is not None)


@lru_cache(maxsize=256)
def copy_statement(table: str, columns: tuple[str, ...], binary: bool) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'COPY "{table}" ({names}) FROM STDIN{" (FORMAT BINARY)" if binary else ""}'


def payload(driver: DriverConnection[Any], rows: TableRows) -> bytearray:
    """The COPY data of `rows` as psycopg's `Copy.write_row` would send it, whole."""
    transformer = Transformer(driver)
    if rows.types is None:
        data = bytearray()
        for row in rows.rows:
            format_row_text(row, transformer, data)
        return data
    transformer.set_dumper_types(_oids(driver, tuple(rows.types)), Format.BINARY)
    data = bytearray(BINARY_HEADER)
    for row in rows.rows:
        format_row_binary(row, transformer, data)
    data += BINARY_TRAILER
    return data


def _oids(driver: DriverConnection[Any], types: tuple[str, ...]) -> list[int]:
    registry = driver.adapters.types
    return [registry.get_oid(name) for name in types]


def copy_tables(driver: DriverConnection[Any], tables: Sequence[TableRows]) -> None:
    """COPY every table's rows, in order, in one simple query; raises the first error
    the server answered (psycopg's exception for it) once the exchange is over."""
    payloads = [payload(driver, rows) for rows in tables]
    query = "; ".join(rows.statement for rows in tables).encode()
    pgconn = driver.pgconn
    failed = None
    with driver.lock:
        pgconn.send_query(query)
        sent = 0
        while (result := _next_result(pgconn)) is not None:
            if result.status == ExecStatus.COPY_IN:
                _send_copy(pgconn, payloads[sent] if sent < len(payloads) else b"")
                sent += 1
            elif result.status == ExecStatus.FATAL_ERROR and failed is None:
                failed = result
    if failed is not None:
        raise errors.error_from_result(failed, encoding=driver.info.encoding)
    if sent != len(tables):
        raise errors.InternalError(f"{sent} of {len(tables)} COPY statements took data")


def _send_copy(pgconn: Any, data: bytes | bytearray) -> None:
    # a non-blocking connection queues nothing while its buffer is full: wait for the socket
    while not pgconn.put_copy_data(data):
        _wait(pgconn.socket, write=True)
    while not pgconn.put_copy_end():
        _wait(pgconn.socket, write=True)


def _next_result(pgconn: Any) -> Any:
    """The next result of the query sent (None: there is none left)."""
    while pgconn.flush():
        _wait(pgconn.socket, write=True)
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return pgconn.get_result()
        _wait(pgconn.socket)


def _wait(socket: int, *, write: bool = False) -> None:
    poll = select.poll()
    poll.register(socket, select.POLLOUT if write else select.POLLIN)
    poll.poll()
