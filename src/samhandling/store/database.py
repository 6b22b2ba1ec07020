"""Engines for the two supported databases and the few places where they differ.

SQLite (embedded default) and PostgreSQL (production) share one schema and one query
builder (SQLAlchemy Core). The dialect differences live here: SQLite pragmas and write
locking, PostgreSQL advisory locks, the statement timeout and cancelling a statement from
another thread (the URLs' spelling: `database_url.py`).

`Connection` and `Engine` are the store's handles: services take them from here, never
from SQLAlchemy, so the import contract can forbid SQLAlchemy (and so SQL building) in
services while their functions still receive a connection to pass to the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError

from samhandling.fhir.outcome import FhirError, error
from samhandling.store.database_url import normalise_url
from samhandling.store.liveness import DEAD_AFTER_MS, note, options_for
from samhandling.store.sqlite_driver import UNBOUNDED, limit_statements
from samhandling.store.sqlite_lock import (
    HOLDS_LOCK,
    WriteLock,
    database_of,
    release_held,
    releasing,
    write_lock,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL keeps when it starts again
# A pooled connection idle longer than this is pinged when taken (a restart of the database
# shows after an idle spell); one in steady use is not: a read meeting a dead connection is
# run once more on a fresh one (`run_read`), a write answers 503 and the pool is renewed.
PING_AFTER_IDLE_SECONDS = 1.0
T = TypeVar("T")


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    statement_timeout_ms: int = 0,
    dead_after_ms: int = DEAD_AFTER_MS,
) -> Engine:
    """An engine for `url` with the settings this platform relies on.

    `statement_timeout_ms` > 0 stops any statement running longer (PostgreSQL's
    `statement_timeout`; on SQLite a progress handler): the request then gets a 503.
    A PostgreSQL connection silent for `dead_after_ms` is ended (`store/liveness.py`).
    """
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # a file's pool hands out the connection returned last (`_configure_sqlite`);
        # an in-memory database has one connection per thread
        lifo = {"pool_use_lifo": True} if _is_sqlite_file(url) else {}
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, hide_parameters=True, **lifo
        )
        _configure_sqlite(engine)
        if statement_timeout_ms > 0:
            limit_statements(engine, statement_timeout_ms / 1000)
        return engine
    liveness = options_for(make_url(url), dead_after_ms)
    options = {**liveness, "options": f"-c statement_timeout={statement_timeout_ms}"}
    engine = create_engine(
        url,
        # A database error's text must not carry the statement's values into a log line:
        # they may be national ID numbers or clinical content.
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args=options if statement_timeout_ms > 0 else liveness,
    )
    note(engine, dead_after_ms)
    _ping_after_idle(engine)
    return engine


def _is_sqlite_file(url: str) -> bool:
    """A SQLite database in a file (SQLAlchemy pools its connections), not in memory."""
    parsed = make_url(url)
    database = parsed.database
    return bool(database) and database != ":memory:" and parsed.query.get("mode") != "memory"


def _ping_after_idle(engine: Engine) -> None:
    """Instead of `pool_pre_ping` (a round trip before every transaction): a ping only for
    a connection that has lain idle in the pool (SQLAlchemy's pessimistic disconnect
    handling by the checkout event; a failed ping makes the pool connect anew)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # in autocommit: leaves no transaction
        except Exception as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def lift_statement_timeout(connection: Connection) -> None:
    """No statement timeout for the rest of this transaction (schema migrations)."""
    if is_sqlite(connection):
        connection.execution_options(**{UNBOUNDED: True})
    else:
        connection.execute(text("SET LOCAL statement_timeout = 0"))


def is_cancelled_statement(exc: BaseException) -> bool:
    """Whether `exc` is a statement stopped by the timeout or `cancel_statement`."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) == "57014":  # PostgreSQL query_canceled
        return True
    return type(exc.orig).__name__ == "OperationalError" and "interrupted" in str(exc.orig)


def is_unique_violation(exc: BaseException) -> bool:
    """Whether `exc` is a unique key (or primary key) refusing a row."""
    if not isinstance(exc, IntegrityError):
        return False
    if getattr(exc.orig, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        return True
    return "UNIQUE constraint failed" in str(exc.orig)  # SQLite


def cancel_statement(connection: Connection) -> None:
    """Stop the statement `connection` runs now (safe to call from another thread)."""
    raw = connection.connection.dbapi_connection
    if raw is None:
        return
    if is_sqlite(connection):
        raw.interrupt()
    else:
        raw.cancel_safe()


@contextmanager
def _cancelled_as_outcome() -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        if not is_cancelled_statement(exc):
            raise
        message = "The request took longer than the statement timeout and was stopped"
        raise FhirError(503, error("too-costly", message)) from exc


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is switched off so that BEGIN is ours: write
    # transactions take the write lock up front (BEGIN IMMEDIATE), which serialises
    # read-check-write sequences such as conditional create (R4 §3.1.0.8.1).
    lock = write_lock(database_of(engine))  # the writers of this process queue on it
    _set_pragmas_on_connect(engine, lock)
    _begin_with_write_lock(engine, lock)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        release_held(record.info)  # if neither COMMIT nor ROLLBACK did (a connection lost)

    if lock is not None:
        _release_lock_at_transaction_end(engine, lock)


def _set_pragmas_on_connect(engine: Engine, lock: WriteLock | None) -> None:
    """Each new SQLite connection: our own BEGIN, WAL, and the pragmas the store relies on."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # a WAL that had grown (a long reader kept it from starting again) is cut back to
        # this size when it does start again, not kept at its largest
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_SIZE_LIMIT}")
        if lock is not None:  # a writer does not copy the WAL back at its commit: the lock's
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # thread does (store/sqlite_lock.py)
        cursor.close()


def _begin_with_write_lock(engine: Engine, lock: WriteLock | None) -> None:
    """BEGIN IMMEDIATE for a write transaction, which takes the process's write lock first
    unless its thread holds it already (a `write_connection`); BEGIN DEFERRED for a read."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("write")
        if write and lock is not None and lock.acquire(SQLITE_BUSY_TIMEOUT_MS / 1000):
            connection.connection.info[HOLDS_LOCK] = lock  # given back at the COMMIT
        connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if write else 'DEFERRED'}")


def _release_lock_at_transaction_end(engine: Engine, lock: WriteLock) -> None:
    """The write lock is given back at COMMIT and ROLLBACK, and known for `write_connection`.

    A `write_connection` takes the lock before it takes a connection from the pool and
    gives it back after the connection went back, and the pool hands out the connection
    returned last: so the next writer writes on the connection that made the last commit.
    In WAL mode a connection that did not drops its whole page cache at its next
    transaction and reads every page it touches again (`pread`); taking turns over the
    pool's connections cost a create ≈ 95 page reads instead of ≈ 17 and ≈ 0.2 ms of CPU
    in process (bench/RESULTS.md, "One connection for the writers"). A writer waiting for
    its turn holds no connection. Other write transactions (the migrations') take the
    lock at BEGIN and give it back right after COMMIT or ROLLBACK (SQLAlchemy's events
    come before them).
    """
    _WRITE_LOCKS[engine] = lock
    dialect = engine.dialect
    dialect.do_commit = releasing(dialect.do_commit)  # type: ignore[method-assign,assignment]
    dialect.do_rollback = releasing(dialect.do_rollback)  # type: ignore[method-assign,assignment]


_WRITE_LOCKS: WeakKeyDictionary[Engine, WriteLock] = WeakKeyDictionary()  # SQLite files
PreCommitHook = Callable[[Connection], None]
_PRE_COMMIT: WeakKeyDictionary[Connection, list[PreCommitHook]] = WeakKeyDictionary()
_SAVEPOINT_AWARE: WeakKeyDictionary[Connection, list[SavepointAware]] = WeakKeyDictionary()


class SavepointAware(Protocol):
    """What a transaction keeps outside the database (rows queued for insert, audit records
    waiting for the commit) and must forget with a rolled-back savepoint."""

    def mark(self) -> object:
        """A mark of what is kept now."""

    def rollback_to(self, mark: object | None) -> None:
        """Forget what was kept after `mark` (None: everything, kept since before it)."""


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one write transaction: committed on success, else rolled back.

    Hooks registered with `before_commit` run in the transaction after the caller's work,
    before the commit (cheaper than SQLAlchemy's per-connection `commit` listeners). On a
    SQLite file the writer waits for its turn before it takes a connection (`_write_turn`).
    """
    with (
        _write_turn(engine),
        _cancelled_as_outcome(),
        engine.connect().execution_options(write=True) as connection,
        connection.begin(),
    ):
        hooks = _PRE_COMMIT.setdefault(connection, [])
        try:
            yield connection
            while hooks:
                hooks.pop(0)(connection)
        finally:
            _PRE_COMMIT.pop(connection, None)
            _SAVEPOINT_AWARE.pop(connection, None)


@contextmanager
def _write_turn(engine: Engine) -> Iterator[None]:
    """SQLite: the process's write lock, taken before a connection is taken from the pool
    and given back after it went back (see `_configure_sqlite`); nothing on PostgreSQL."""
    lock = _WRITE_LOCKS.get(engine)
    if lock is None or not lock.acquire(SQLITE_BUSY_TIMEOUT_MS / 1000):
        yield  # none, this thread's already, or the wait ran out: SQLite's lock decides
        return
    try:
        yield
    finally:
        lock.release()


def before_commit(connection: Connection, hook: PreCommitHook) -> bool:
    """Run `hook(connection)` before the transaction of a `write_connection` commits; a hook
    that raises rolls it back. False (nothing registered) for any other connection."""
    hooks = _PRE_COMMIT.get(connection)
    if hooks is None:
        return False
    hooks.append(hook)
    return True


def keep_with_savepoints(connection: Connection, kept: SavepointAware) -> None:
    """Let `kept` forget what a savepoint of `connection` that rolls back added to it."""
    _SAVEPOINT_AWARE.setdefault(connection, []).append(kept)


@contextmanager
def savepoint(connection: Connection) -> Iterator[None]:
    """A savepoint around the block: an exception rolls the database back to it, and with it
    what the transaction keeps outside the database (`keep_with_savepoints`), then goes on;
    otherwise the savepoint is released."""
    kept = _SAVEPOINT_AWARE.setdefault(connection, [])
    marks = [k.mark() for k in kept]
    nested = connection.begin_nested()
    try:
        yield
    except BaseException:
        if nested.is_active:
            nested.rollback()
        for index, keeper in enumerate(kept):
            keeper.rollback_to(marks[index] if index < len(marks) else None)
        raise
    nested.commit()


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one read transaction (a consistent snapshot on both engines)."""
    with _cancelled_as_outcome(), engine.connect() as connection, connection.begin():
        yield connection


@contextmanager
def statement_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads that need no snapshot spanning statements: on PostgreSQL in
    autocommit (no BEGIN and COMMIT round trips; each statement sees the database as of
    its start), on SQLite a read transaction as `read_connection` (in-process, cheap)."""
    if is_sqlite(engine):
        with read_connection(engine) as connection:
            yield connection
        return
    with (
        _cancelled_as_outcome(),
        engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection,
    ):
        yield connection


def run_read(engine: Engine, action: Callable[[Connection], T], *, snapshot: bool = True) -> T:
    """`action(connection)` in a read transaction (`snapshot`) or on a `statement_connection`;
    when the pooled connection turns out dead (the database restarted), once more on a fresh
    one: a read has changed nothing, so running it again is safe."""
    opened = read_connection if snapshot else statement_connection
    try:
        with opened(engine) as connection:
            return action(connection)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with opened(engine) as connection:
        return action(connection)


_PRIMARY_OF: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def register_replica(replica: Engine, primary: Engine) -> None:
    """Note that `replica` is a read-only standby of `primary` (`store/read_routing.py`)."""
    _PRIMARY_OF[replica] = primary


def primary_of(connection: Connection) -> Engine | None:
    """The primary of the replica `connection` reads, or None when it is not a replica's.

    What a read on a replica must write (a search's paging cache) is written there."""
    return _PRIMARY_OF.get(connection.engine)


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
