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

A write transaction (`store.database.write_connection`) takes the lock before it takes a
connection from the pool and gives it back once the connection went back to the pool, so
the next writer gets the connection that made the last commit, whose page cache is still
valid (the pool hands out the connection returned last); other write transactions take it
before `BEGIN IMMEDIATE` and give it back right after the dialect's COMMIT or ROLLBACK
(`releasing`; at the pool's checkin only if neither ran). A thread that holds it and opens
a second write transaction is not stopped by it (SQLite's lock decides). The
event loop never waits on it: the journal's batch, which every read of the moment waits
for, takes it when it is free or reserves the next turn (`next_turn`): the releasing writer
hands it over.

Checkpoints are off the requests' path: by default the writer whose commit fills the WAL
past 1000 pages copies it into the database file and waits for the fsyncs inside its
COMMIT, holding this lock (and its request) meanwhile. The engine's connections do not
checkpoint (`wal_autocheckpoint=0`); every so many releases (`every`, adapted to find about
CHECKPOINT_FRAMES) a thread of its own runs a passive checkpoint (which waits for no reader
or writer), then takes this lock for a moment to copy what was written meanwhile, so that
the WAL starts again from its beginning (`checkpoint`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

log = logging.getLogger("samhandling.store")
# SQLite's own default (wal_autocheckpoint) is every 1000 WAL pages, by the committing writer
CHECKPOINT_COMMITS = 100  # at first; then adapted to find about CHECKPOINT_FRAMES
CHECKPOINT_FRAMES = 1000
# How long a checkpoint waits for the writers before it (it tries again next time)
SQLITE_LOCK_WAIT_SECONDS = 5.0
HOLDS_LOCK = "sqlite_write_lock"  # in a pooled connection's info: the lock it holds
_LOCKS: dict[str, WriteLock] = {}
_LOCKS_GUARD = threading.Lock()


class WriteLock:
    """A lock on one database file's writes, shared by every engine of the process.

    Worker threads queue for it (`acquire`); the event loop never waits on it: its journal
    batch takes it when free (`try_acquire`) or reserves the next turn (`next_turn`), so one
    batch, which many reads wait for, goes before the queued writers.
    """

    def __init__(self, database: str = "") -> None:
        self.database = database  # checkpointed here after CHECKPOINT_COMMITS releases
        self._commits = 0  # releases since the last checkpoint began
        self.every = CHECKPOINT_COMMITS  # releases between checkpoints (adapted to the WAL)
        self._checkpointing = False
        self._lock = threading.Lock()
        self._guard = threading.Lock()  # over the reservation and the hand-over
        self.owner: int | None = None  # the thread holding it
        self._reserved: tuple[asyncio.AbstractEventLoop, asyncio.Future[None], int] | None = None
        self._handed_to: int | None = None  # the loop's thread: held for its batch

    def acquire(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the lock; False when this thread holds it
        already or the time ran out (take SQLite's lock without it)."""
        if self.owner == threading.get_ident():
            return False
        if not self._lock.acquire(timeout=timeout):
            return False
        self.owner = threading.get_ident()
        return True

    def try_acquire(self) -> bool:
        """Take the lock if it is free or was handed to this thread (never waits)."""
        me = threading.get_ident()
        with self._guard:
            if self._handed_to == me:
                self._handed_to = None
            elif not self._lock.acquire(blocking=False):
                return False
        self.owner = me
        return True

    def release(self, *, counted: bool = True) -> None:
        """Give the lock back, to the loop that reserved the next turn if one did (any
        thread: a connection may be returned by another); `counted`: towards the next
        checkpoint (the journal's loop batches checkpoint by themselves)."""
        with self._guard:
            self.owner = None
            if counted:
                self._count_commit()
            reserved, self._reserved = self._reserved, None
            if reserved is not None:
                loop, turn, thread = reserved
                # A stopped loop (a test client's, a server shutting down) would never run
                # the hand-over: the lock would stay held until the writers' timeout.
                if loop.is_running():
                    try:
                        loop.call_soon_threadsafe(self._hand_over, turn, thread)
                        return  # still locked: the loop's now
                    except RuntimeError:  # its loop closed meanwhile
                        pass
            self._lock.release()

    async def next_turn(self) -> bool:
        """Wait until the lock is free or handed to this loop: True when it was handed over
        (take it with `try_acquire`, or give it back with `give_back_unused`)."""
        loop = asyncio.get_running_loop()
        with self._guard:
            if not self._lock.locked() or self._reserved is not None:
                return False  # free (or another loop is next: queue as before)
            turn = loop.create_future()
            self._reserved = (loop, turn, threading.get_ident())
        try:
            await turn
        except asyncio.CancelledError:
            with self._guard:
                if self._reserved is not None and self._reserved[1] is turn:
                    self._reserved = None  # not handed over: nothing to give back
            raise  # else `_hand_over` sees the cancelled turn and releases
        return True

    def give_back_unused(self) -> None:
        """Release the lock if it was handed to this thread and not taken."""
        with self._guard:
            if self._handed_to != threading.get_ident():
                return
            self._handed_to = None
        self.release()

    def held(self) -> bool:
        """Whether a writer of this process holds the lock now."""
        return self._lock.locked()

    def _count_commit(self) -> None:
        """Every CHECKPOINT_COMMITS releases a checkpoint on a thread of its own (guarded)."""
        self._commits += 1
        if self._commits < self.every or self._checkpointing or not self.database:
            return
        self._commits, self._checkpointing = 0, True
        threading.Thread(target=self._checkpoint, name="sqlite-checkpoint", daemon=True).start()

    def _checkpoint(self) -> None:
        try:
            frames = checkpoint(self.database, self)
        except sqlite3.Error as exc:  # the next one tries again
            log.warning("SQLite WAL checkpoint failed: %s", exc)
            frames = CHECKPOINT_FRAMES
        finally:
            with self._guard:
                self._checkpointing = False
                self.every = adapted(self.every, frames)

    def _hand_over(self, turn: asyncio.Future[None], thread: int) -> None:
        """On the loop: the lock is its thread's (released from another thread)."""
        if turn.cancelled():  # nobody waits for it any more
            self.release()
            return
        with self._guard:
            self._handed_to = thread
        turn.set_result(None)


def checkpoint(database: str, lock: WriteLock | None = None) -> int:
    """Copy the WAL into the database file, on a connection of its own; the WAL's frames.

    PASSIVE both times (it waits for no reader or writer): first without the lock, then,
    briefly, with `lock` taken (this process's writers queue behind it) for the frames
    written meanwhile. SQLite starts the WAL again from its beginning at the next write only
    when every frame has been copied (and no reader still reads older ones; a reader that
    began after the copy reads the database file), so under writes that never paused the
    first copy alone never caught up: the WAL grew by every page every commit wrote (4 GB
    within a minute of the create benchmark; bench/RESULTS.md, "The SQLite WAL starts
    again"), and each write extended the file instead of writing over it. A reader on older
    frames is not waited for: the next checkpoint tries again.
    """
    # mode=rw: a file removed meanwhile (a test's) is not created anew, empty
    uri = f"file:{quote(database)}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        frames = int(row[1]) if row and row[1] is not None and row[1] >= 0 else CHECKPOINT_FRAMES
        if lock is not None and lock.acquire(timeout=SQLITE_LOCK_WAIT_SECONDS):
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                lock.release(counted=False)
        return frames
    finally:
        connection.close()


def adapted(every: int, frames: int) -> int:
    """Releases until the next checkpoint, so that it finds about CHECKPOINT_FRAMES frames
    (SQLite's own default: fewer, larger checkpoints copy a page written again and again
    once, not at each; more frames make readers search a longer WAL index)."""
    if frames < CHECKPOINT_FRAMES // 2:
        return min(every * 2, 10_000)
    if frames > CHECKPOINT_FRAMES * 2:
        return max(every // 2, 10)
    return every


def write_lock(database: str) -> WriteLock | None:
    """The process's write lock on the SQLite file `database`; None for an in-memory one."""
    if database in ("", ":memory:") or "mode=memory" in database:
        return None
    key = os.path.realpath(database.removeprefix("file:").split("?", 1)[0])
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = WriteLock(key)
        return lock


def database_of(engine: Any) -> str:
    """The database name of a SQLite engine as sqlite3 is given it."""
    args, _options = engine.dialect.create_connect_args(engine.url)
    return str(args[0]) if args else ":memory:"


def releasing(end: Callable[[Any], None]) -> Callable[[Any], None]:
    """`end` (the dialect's COMMIT or ROLLBACK), then the write lock the connection holds
    released."""

    def ended(dbapi_connection: Any) -> None:
        try:
            end(dbapi_connection)
        finally:
            try:
                info = dbapi_connection.info  # the pool's connection (not at the first connect)
            except (AttributeError, NotImplementedError):
                info = {}
            release_held(info)

    return ended


def release_held(info: dict[str, Any]) -> None:
    """Release the write lock a pooled connection's `info` says it holds, if any."""
    held = info.pop(HOLDS_LOCK, None)
    if held is not None:
        held.release()
