"""The reads of one resource by id on the event loop (PostgreSQL; issue 24).

`LoopReads` sends the prebuilt statements of `store/reader.py` (the current version, a
given version, the live version a deletion deleted) on psycopg's asyncio connections of a
`LoopPool`, in autocommit: each statement is its own snapshot, as on the thread pool's
`statement_connection`. The answers are the same `StoredVersion`s `store/reader.py` gives.
A request that reads through here makes no hop to a worker thread and back, which cost a
third of the server's time per read on the 2-core host (bench/RESULTS.md).

Like `store.database.statement_connection`: a statement stopped by the statement timeout
answers 503 `too-costly`; a dead pooled connection is replaced and the read run again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from samhandling.fhir.outcome import FhirError, error
from samhandling.store.database import is_sqlite
from samhandling.store.loop_pool import LoopPool
from samhandling.store.reader import PREBUILT, current_version, version_of_row
from samhandling.store.records import StoredVersion

APPLICATION_NAME = "samhandling reads on the event loop"  # in pg_stat_activity


class LoopReads:
    """Reads by id on the running event loop, from a pool of `size` connections per loop;
    `statements` counts the statements it answered (the tests' proof of the path)."""

    def __init__(self, engine: Engine, *, size: int = 10, statement_timeout_ms: int = 0) -> None:
        compiled = {name: stmt.compile(dialect=engine.dialect) for name, stmt in PREBUILT.items()}
        self.sql = {name: str(form) for name, form in compiled.items()}
        # the values the statements carry themselves (a LIMIT's)
        self.fixed = {
            name: {key: value for key, value in form.params.items() if value is not None}
            for name, form in compiled.items()
        }
        self.pool = LoopPool(
            engine, APPLICATION_NAME, size=size, statement_timeout_ms=statement_timeout_ms
        )
        self.statements = 0

    @classmethod
    def of(cls, engine: Engine, *, statement_timeout_ms: int = 0) -> LoopReads | None:
        """Reads on the loop for `engine`: None on SQLite (in-process, its reads are cheap
        and stay on the thread pool)."""
        if is_sqlite(engine):
            return None
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
        import psycopg
        from psycopg.rows import dict_row

        sql, params = self.sql[name], {**self.fixed[name], **params}

        async def fetch(connection: Any) -> dict[str, Any] | None:
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(sql, params)
            row: dict[str, Any] | None = await cursor.fetchone()
            return row

        try:
            row = await self.pool.run(fetch)
        except psycopg.errors.QueryCanceled as exc:
            message = "The request took longer than the statement timeout and was stopped"
            raise FhirError(503, error("too-costly", message)) from exc
        self.statements += 1
        return row


def _version(row: dict[str, Any] | None) -> StoredVersion | None:
    return version_of_row(row) if row is not None else None
