"""psycopg's asyncio connections on the event loop that serves the requests (PostgreSQL).

The audit journal keeps one such connection per event loop (`audit/storage/chain_writer.py`);
the reads by id that run on the loop (`store/loop_reads.py`, issue 24) take theirs from a
small bounded pool per event loop, `LoopPool`. Both open them here, with the engine's
connection arguments (a multi-host URL's hosts and `target_session_attrs` included) and
libpq options (connect timeout, keepalives, TCP user timeout: `store/liveness.py`), so a
connection on the loop reaches the same database as the engine's and ends as soon.

Why not the engine's pool, or psycopg_pool: the engine's connections are synchronous (a
read on them needs a worker thread, the hop issue 24 removes), and psycopg_pool is not a
dependency; what is needed here is a stack of idle connections and a bound.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import TimeoutError as PoolTimeout

from samhandling.store.liveness import dead_after_ms, loop_options
from samhandling.store.loop_statements import DatabaseSilent, silenced

T = TypeVar("T")
POOL_TIMEOUT_SECONDS = 30.0  # as SQLAlchemy's pool: then the request is a 503
RECHECK_SECONDS = 0.001  # the deadline's check of work caught between two waits
# stopped for their time: the server's statement timeout, or the loop's deadline
_TIMED_OUT = (psycopg.errors.QueryCanceled, DatabaseSilent)


@cache  # one class for every connection (it was made anew for each)
def _connection_class() -> Any:
    from psycopg.adapt import Transformer

    class LoopConnection(psycopg.AsyncConnection[Any]):
        """Closes itself when collected: an app dropped without its shutdown (tests) leaves
        no warning behind; the server's shutdown closes it properly. Carries what the
        statements sent at libpq level need (`store/loop_statements.py`): the names of
        those prepared on it and a Transformer to load their rows."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.prepared: dict[str | bytes, bytes] = {}  # statement text: prepared name
            self.statement_names = itertools.count()  # numbers of the names given on it
            self.transformer = Transformer(self)
            self.waiting: asyncio.Future[None] | None = None  # its socket's latest wait

        def __del__(self, *_args: Any) -> None:
            if getattr(self, "pgconn", None) is not None and not self.closed:
                self.pgconn.finish()

    return LoopConnection


async def connect_on_loop(
    engine: Engine, application_name: str, *, statement_timeout_ms: int = 0
) -> Any:
    """A `psycopg.AsyncConnection` in autocommit mode to `engine`'s database, on the
    running event loop, with the engine's libpq options (`store/liveness.py`);
    `statement_timeout_ms` > 0 bounds its statements as the engine's."""
    args, params = engine.dialect.create_connect_args(engine.url)
    params = {**params, **loop_options(engine), "application_name": application_name}
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
    safe (as `store.database.run_read`). A fresh connection's failure is the answer, and so
    is a statement stopped for its time: it would take as long again.

    Work lent a connection for longer than the statement timeout and the database's
    dead-after bound (`store/liveness.py`) fails with `DatabaseSilent` (an outage: 503)
    and the connection is dropped: the server's statement timeout would have answered
    by then, so the database or the way to it is frozen, which no TCP option sees while
    the far end still acknowledges. One timer per loop watches every lent connection
    (`_LoopConnections.lend`), not a timer per statement on the path of every read.
    """

    def __init__(
        self, engine: Engine, application_name: str, *, size: int, statement_timeout_ms: int = 0
    ) -> None:
        self.engine = engine
        self.application_name = application_name
        self.size = size
        self.statement_timeout_ms = statement_timeout_ms
        self.deadline = (statement_timeout_ms + dead_after_ms(engine)) / 1000
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = (
            WeakKeyDictionary()
        )

    async def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work(connection)` on a connection of this loop's pool."""
        here = self._here()
        await here.acquire()
        try:
            connection, fresh = await here.take(self)
            try:
                return await here.lend(connection, work)
            except psycopg.OperationalError as exc:
                if fresh or isinstance(exc, _TIMED_OUT):
                    raise
            connection, _ = await here.take(self, fresh=True)
            return await here.lend(connection, work)
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
            here = self._loops[loop] = _LoopConnections(self.size, self.deadline, loop)
        return here

    async def connect(self) -> Any:
        return await connect_on_loop(
            self.engine, self.application_name, statement_timeout_ms=self.statement_timeout_ms
        )


class _LoopConnections:
    """One event loop's idle connections, the bound on those lent out and their deadline."""

    def __init__(self, size: int, deadline: float, loop: asyncio.AbstractEventLoop) -> None:
        self.idle: list[Any] = []
        self.slots = asyncio.Semaphore(size)
        self.deadline = deadline
        # kept (`asyncio.get_running_loop` costs ~0.2 µs on uvloop): the pool's weak key
        # stays alive with it, so a closed loop's entry goes when another comes (`_here`)
        self.loop = loop
        self.lent: dict[Any, float] = {}  # connection: when it was lent
        self.watchdog: asyncio.TimerHandle | None = None

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

    async def lend(self, connection: Any, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work(connection)`, watched; the connection is then idle again, or dropped if
        the work failed or was cancelled (its state is unknown)."""
        lent = self.lent
        lent[connection] = since = self.loop.time()
        if self.watchdog is None:
            self.watchdog = self.loop.call_at(since + self.deadline, self._on_watchdog)
        try:
            result = await work(connection)
        except BaseException:
            finish(connection)  # after its wait is over: no socket watched once closed
            raise
        finally:
            del lent[connection]
        self.idle.append(connection)
        return result

    def _on_watchdog(self) -> None:
        """Fail the wait of each connection lent for longer than the deadline; then watch
        the oldest of the others. One caught between two waits (its answer has just come)
        stays watched, checked again a millisecond later (not in every turn of the loop
        while its work awaits something else): its next wait fails."""
        self.watchdog = None
        now, oldest = self.loop.time(), None
        for connection, since in self.lent.items():
            if since + self.deadline <= now and silenced(connection, self.deadline):
                continue
            oldest = since if oldest is None else min(oldest, since)
        if oldest is not None:
            due = max(oldest + self.deadline, now + RECHECK_SECONDS)
            self.watchdog = self.loop.call_at(due, self._on_watchdog)

    def discard(self) -> None:
        for connection in self.idle:
            finish(connection)
        self.idle.clear()

    async def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        idle, self.idle = self.idle, []
        for connection in idle:
            await connection.close()
