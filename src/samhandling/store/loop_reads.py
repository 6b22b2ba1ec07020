"""The reads of one resource by id on the event loop (issue 24).

`LoopReads` sends the prebuilt statements of `store/reader.py` (the current version, a
given version, the live version a deletion deleted) on psycopg's asyncio connections of a
`LoopPool`, in autocommit: each statement is its own snapshot, as on the thread pool's
`statement_connection`. They go at libpq level, prepared once per connection
(`store/loop_statements.py`): psycopg's cursor machinery cost more than the rest of the
statement. The answers are the same `StoredVersion`s `store/reader.py` gives.
A request that reads through here makes no hop to a worker thread and back, which cost a
third of the server's time per read on the 2-core host (bench/RESULTS.md).

Like `store.database.statement_connection`: a statement stopped by the statement timeout
answers 503 `too-costly`; a dead pooled connection is replaced and the read run again. A
read the database leaves unanswered past the statement timeout and its dead-after bound
fails as an outage (503 `transient`), its connection dropped (`store/loop_pool.py`).
On SQLite `LoopReads.of` gives `store.loop_sqlite.SqliteLoopReads`: the same statements and
answers, from a connection of the loop's own, synchronously.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import Dialect, Engine

from samhandling.fhir.outcome import FhirError, error
from samhandling.store.database import is_sqlite
from samhandling.store.loop_pool import LoopPool
from samhandling.store.loop_statements import PreparedRead
from samhandling.store.reader import PREBUILT, current_version, version_of_row
from samhandling.store.records import StoredVersion

APPLICATION_NAME = "samhandling reads on the event loop"  # in pg_stat_activity


class LoopReads:
    """Reads by id on the running event loop, from a pool of `size` connections per loop;
    `statements` counts the statements it answered (the tests' proof of the path)."""

    def __init__(self, engine: Engine, *, size: int = 10, statement_timeout_ms: int = 0) -> None:
        self.prepared = {name: PreparedRead(name, stmt) for name, stmt in PREBUILT.items()}
        self.pool = LoopPool(
            engine, APPLICATION_NAME, size=size, statement_timeout_ms=statement_timeout_ms
        )
        self.statements = 0

    @classmethod
    def of(cls, engine: Engine, *, statement_timeout_ms: int = 0) -> LoopReads | None:
        """Reads on the loop for `engine`: on PostgreSQL psycopg's asyncio connections, on
        a SQLite file a connection of each loop's own; None for an in-memory SQLite
        database (another connection would see another database)."""
        if is_sqlite(engine):
            from samhandling.store.loop_sqlite import SqliteLoopReads  # it builds on this one

            return SqliteLoopReads.of_file(engine, statement_timeout_ms=statement_timeout_ms)
        return cls(engine, statement_timeout_ms=statement_timeout_ms)

    async def current(self, resource_type: str, resource_id: str) -> StoredVersion | None:
        """As `reader.read_current`: the current version (maybe a deletion), or None."""
        params = {"rtype": resource_type, "rid": resource_id}
        row = await self._one("current", params)
        return current_version(resource_type, resource_id, row) if row is not None else None

    async def version(
        self, resource_type: str, resource_id: str, version_id: int
    ) -> StoredVersion | None:
        """As `reader.read_version`: one given version, or None."""
        params = {"rtype": resource_type, "rid": resource_id, "vid": version_id}
        return _version(await self._one("version", params))

    async def live_before(
        self, resource_type: str, resource_id: str, version_id: int
    ) -> StoredVersion | None:
        """As `reader.read_live_before`: the newest version before `version_id` that is not
        a deletion, or None."""
        params = {"rtype": resource_type, "rid": resource_id, "vid": version_id}
        return _version(await self._one("live_before", params))

    async def close(self) -> None:
        """Close the running loop's connections (the server's shutdown)."""
        await self.pool.close()

    async def _one(self, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
        row = await self._fetch(name, params)
        self.statements += 1
        return row

    async def _fetch(self, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The row statement `name` finds with `params`, or None."""
        statement = self.prepared[name]
        try:
            return await self.pool.run(lambda connection: statement.row(connection, params))
        except psycopg.errors.QueryCanceled as exc:
            raise too_costly() from exc


def prebuilt_sql(dialect: Dialect) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The text of `reader.PREBUILT`'s statements in `dialect`, and the values they carry
    themselves (a LIMIT's), by name."""
    compiled = {name: stmt.compile(dialect=dialect) for name, stmt in PREBUILT.items()}
    sql = {name: str(form) for name, form in compiled.items()}
    fixed = {
        name: {key: value for key, value in form.params.items() if value is not None}
        for name, form in compiled.items()
    }
    return sql, fixed


def too_costly() -> FhirError:
    """The answer to a statement the statement timeout stopped (as the threaded read's)."""
    message = "The request took longer than the statement timeout and was stopped"
    return FhirError(503, error("too-costly", message))


def _version(row: dict[str, Any] | None) -> StoredVersion | None:
    return version_of_row(row) if row is not None else None
