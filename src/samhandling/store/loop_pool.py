"""psycopg's asyncio connections on the event loop that serves the requests (PostgreSQL).

The audit journal keeps one such connection per event loop (`audit/storage/chain_writer.py`);
the reads by id that run on the loop (`store/loop_reads.py`, issue 24) take theirs from a
small bounded pool per event loop, `LoopPool`. Both open them here, with the engine's
connection arguments (a multi-host URL's hosts and `target_session_attrs` included), so a
connection on the loop reaches the same database as the engine's.

Why not the engine's pool, or psycopg_pool: the engine's connections are synchronous (a
read on them needs a worker thread, the hop issue 24 removes), and psycopg_pool is not a
dependency; what is needed here is a stack of idle connections and a bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.exc import TimeoutError as PoolTimeout

T = TypeVar("T")
POOL_TIMEOUT_SECONDS = 30.0  # as SQLAlchemy's pool: then the request is a 503


def _connection_class() -> Any:
    import psycopg
    from psycopg.adapt import Transformer

    class LoopConnection(psycopg.AsyncConnection[Any]):
        """Closes itself when collected: an app dropped without its shutdown (tests) leaves
        no warning behind; the server's shutdown closes it properly. Carries what the
        statements sent at libpq level need (`store/loop_statements.py`): the names of
        those prepared on it and a Transformer to load their rows."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.prepared: dict[str | bytes, bytes] = {}  # statement text: prepared name
            self.transformer = Transformer(self)

        def __del__(self, *_args: Any) -> None:
            if getattr(self, "pgconn", None) is not None and not self.closed:
                self.pgconn.finish()

    return LoopConnection


async def connect_on_loop(
    engine: Engine, application_name: str, *, statement_timeout_ms: int = 0
) -> Any:
    """A `psycopg.AsyncConnection` in autocommit mode to `engine`'s database, on the
    running event loop; `statement_timeout_ms` > 0 bounds its statements as the engine's."""
    args, params = engine.dialect.create_connect_args(engine.url)
    params = {**params, "application_name": application_name}
    if statement_timeout_ms > 0:
        params["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return await _connection_class().connect(*args, **params, autocommit=True)


def finish(connection: Any) -> None:
    """Drop a connection without awaiting anything (its loop may be gone or busy)."""
    if connection is not None and not connection.closed:
        connection.pgconn.finish()


class LoopPool:
    """At most `size` connections per event loop (a test client may run requests on loops
    of their own; a server has one), idle ones reused newest first.

    `run(work)` lends `work` a connection. A connection that breaks under work it has
    served before (the database restarted, the server terminated it) is dropped and the
    work run once more on a fresh one: only read-only work is lent, so running it again is
    safe (as `store.database.run_read`). A fresh connection's failure is the answer.
    """

    def __init__(
        self, engine: Engine, application_name: str, *, size: int, statement_timeout_ms: int = 0
    ) -> None:
        self.engine = engine
        self.application_name = application_name
        self.size = size
        self.statement_timeout_ms = statement_timeout_ms
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = (
            WeakKeyDictionary()
        )

    async def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work(connection)` on a connection of this loop's pool."""
        import psycopg

        here = self._here()
        await here.acquire()
        try:
            connection, fresh = await here.take(self)
            try:
                result = await work(connection)
            except psycopg.OperationalError:
                here.drop(connection)
                if fresh or not connection.broken:
                    raise
            except BaseException:
                here.drop(connection)  # cancelled or failed: its state is unknown
                raise
            else:
                here.give_back(connection)
                return result
            connection, _ = await here.take(self, fresh=True)
            try:
                result = await work(connection)
            except BaseException:
                here.drop(connection)
                raise
            here.give_back(connection)
            return result
        finally:
            here.release()

    async def close(self) -> None:
        """Close this loop's connections (at shutdown) and drop every other loop's."""
        here = self._loops.pop(asyncio.get_running_loop(), None)
        for other in self._loops.values():
            other.discard()
        self._loops.clear()
        if here is not None:
            await here.close()

    def _here(self) -> _LoopConnections:
        loop = asyncio.get_running_loop()
        here = self._loops.get(loop)
        if here is None:
            for other_loop, stale in list(self._loops.items()):
                if other_loop.is_closed():
                    stale.discard()
                    del self._loops[other_loop]
            here = self._loops[loop] = _LoopConnections(self.size)
        return here

    async def connect(self) -> Any:
        return await connect_on_loop(
            self.engine, self.application_name, statement_timeout_ms=self.statement_timeout_ms
        )


class _LoopConnections:
    """One event loop's idle connections and the bound on those lent out."""

    def __init__(self, size: int) -> None:
        self.idle: list[Any] = []
        self.slots = asyncio.Semaphore(size)

    async def acquire(self) -> None:
        if not self.slots.locked():
            # a free slot is taken without waiting: no `wait_for`, which wraps the wait in
            # a task of its own and a timer on every call
            await self.slots.acquire()
            return
        try:
            await asyncio.wait_for(self.slots.acquire(), POOL_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise PoolTimeout("no connection on the event loop free in time") from exc

    def release(self) -> None:
        self.slots.release()

    async def take(self, pool: LoopPool, *, fresh: bool = False) -> tuple[Any, bool]:
        """An idle connection (False), else a new one (True)."""
        while self.idle and not fresh:
            connection = self.idle.pop()
            if not connection.closed:
                return connection, False
        return await pool.connect(), True

    def give_back(self, connection: Any) -> None:
        self.idle.append(connection)

    def drop(self, connection: Any) -> None:
        finish(connection)

    def discard(self) -> None:
        for connection in self.idle:
            finish(connection)
        self.idle.clear()

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            await connection.close()
