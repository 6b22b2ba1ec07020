"""The process's own queue for a SQLite file's write lock: `WriteLock` (issue 24).

SQLite lets one connection write at a time; a connection that finds the write lock taken
waits in SQLite's busy handler, which polls with growing sleeps (1, 2, 5, 10, 15, 20, 25,
25, 25, 50, 50, 100 ms). A write transaction that met a held lock then sleeps up to 100 ms
at a time after the lock came free, while the journal's batches on the event loop (which
never wait: `audit/storage/sqlite_batches.py`) take the free lock again and again between
its polls: the CRUD mix's p99 grew with them. So the writers of one process queue for the
file on a lock of the process's first (`threading.Lock`: a waiter wakes when it is
released, not at its next poll), and only then take SQLite's; SQLite's busy handler is
left for other processes (the command line, a second worker).

The lock is taken before `BEGIN IMMEDIATE` and given back when the connection goes back
to the pool (after its COMMIT or ROLLBACK). A thread that holds it and opens a second write
transaction is not stopped by it (SQLite's lock decides, as before).
"""

from __future__ import annotations

import os
import threading
from typing import Any

_LOCKS: dict[str, WriteLock] = {}
_LOCKS_GUARD = threading.Lock()


class WriteLock:
    """A lock on one database file's writes, shared by every engine of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.owner: int | None = None  # the thread holding it
        self.waiters = 0  # threads queued for it (the event loop does not queue)

    def acquire(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the lock; False when this thread holds it
        already or the time ran out (take SQLite's lock without it)."""
        if self.owner == threading.get_ident():
            return False
        self.waiters += 1  # racy counts are fine: a hint for the loop
        try:
            taken = self._lock.acquire(timeout=timeout)
        finally:
            self.waiters -= 1
        if taken:
            self.owner = threading.get_ident()
        return taken

    def try_acquire(self) -> bool:
        """Take the lock if it is free and nobody queues for it (never waits)."""
        if self.waiters or not self._lock.acquire(blocking=False):
            return False
        self.owner = threading.get_ident()
        return True

    def release(self) -> None:
        """Give the lock back (any thread: a connection may be returned by another)."""
        self.owner = None
        self._lock.release()

    def held(self) -> bool:
        """Whether a writer of this process holds the lock now."""
        return self._lock.locked()


def write_lock(database: str) -> WriteLock | None:
    """The process's write lock on the SQLite file `database`; None for an in-memory one."""
    if database in ("", ":memory:") or "mode=memory" in database:
        return None
    key = os.path.realpath(database.removeprefix("file:").split("?", 1)[0])
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = WriteLock()
        return lock


def database_of(engine: Any) -> str:
    """The database name of a SQLite engine as sqlite3 is given it."""
    args, _options = engine.dialect.create_connect_args(engine.url)
    return str(args[0]) if args else ":memory:"
