"""The writers of one process queue for a SQLite file on a lock of the process's own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from samhandling.store import sqlite_lock
from samhandling.store.database import make_engine, read_connection, write_connection
from samhandling.store.sqlite_lock import WriteLock, write_lock


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    with write_connection(engine) as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def _lock(engine: Engine) -> WriteLock:
    lock = write_lock(str(engine.url.database))
    assert lock is not None
    return lock


def test_one_lock_per_file_none_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    assert write_lock(str(path)) is write_lock(str(tmp_path / "." / "a.db"))
    assert write_lock(str(path)) is not write_lock(str(tmp_path / "b.db"))
    assert write_lock(":memory:") is None


def test_a_write_transaction_holds_it_until_its_connection_returns(
    sqlite_engine: Engine,
) -> None:
    lock = _lock(sqlite_engine)
    with read_connection(sqlite_engine):
        assert not lock.held()  # reads do not queue
    with write_connection(sqlite_engine) as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert lock.held() and not lock.try_acquire()
    assert not lock.held()
    with sqlite_engine.connect().execution_options(write=True) as connection:
        with connection.begin():
            assert lock.held()
        assert not lock.held()  # at the COMMIT, before the connection goes back
        with connection.begin():
            assert lock.held()
            connection.rollback()
        assert not lock.held()
    with pytest.raises(ValueError), write_connection(sqlite_engine):
        assert lock.held()
        raise ValueError("rolled back")
    assert not lock.held()


def test_a_queued_writer_waits_on_the_process_lock_not_in_sqlite(
    sqlite_engine: Engine,
) -> None:
    """While the lock is held, a writer waits for it before BEGIN IMMEDIATE (SQLite's write
    lock stays free), and goes on as soon as it is released."""
    lock = _lock(sqlite_engine)
    assert lock.try_acquire()
    done = threading.Event()

    def writer() -> None:
        with write_connection(sqlite_engine) as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert not done.wait(0.2)
        other = sqlite3.connect(str(sqlite_engine.url.database), isolation_level=None)
        other.execute("PRAGMA busy_timeout=0")
        other.execute("BEGIN IMMEDIATE")  # SQLite's lock is not held by the queued writer
        other.execute("ROLLBACK")
        other.close()
    finally:
        lock.release()
    assert done.wait(5)
    thread.join()
    assert not lock.held()


def test_the_holding_thread_is_not_stopped_by_it() -> None:
    lock = WriteLock()
    assert lock.acquire(timeout=1)
    started = time.monotonic()
    assert not lock.acquire(timeout=5)  # SQLite's own lock decides, as before
    assert time.monotonic() - started < 1
    lock.release()
    assert not lock.held()


def test_the_loop_reserves_the_next_turn() -> None:
    """A loop's `next_turn` gets the lock straight from the releasing thread, before the
    threads queued for it; a cancelled turn leaves the lock free."""
    lock = WriteLock()
    order: list[str] = []

    def queued_writer() -> None:
        assert lock.acquire(timeout=5)
        order.append("thread")
        lock.release()

    async def loop_side() -> None:
        assert not await lock.next_turn()  # free: nothing to wait for
        assert lock.acquire(timeout=1)
        writer = threading.Thread(target=queued_writer)
        writer.start()
        releaser = threading.Timer(0.1, lock.release)
        releaser.start()
        assert await lock.next_turn()
        assert lock.try_acquire()
        order.append("loop")
        lock.release()
        await asyncio.to_thread(writer.join)
        assert lock.acquire(timeout=1)  # now a cancelled turn
        waiting = asyncio.ensure_future(lock.next_turn())
        await asyncio.sleep(0.01)
        waiting.cancel()
        lock.release()
        await asyncio.sleep(0.01)
        assert not lock.held()
        assert lock.acquire(timeout=1)  # handed over, then not taken
        releaser = threading.Timer(0.05, lock.release)
        releaser.start()
        assert await lock.next_turn()
        lock.give_back_unused()
        assert not lock.held()

    asyncio.run(loop_side())
    assert order == ["loop", "thread"]


def test_a_turn_reserved_by_a_loop_that_stopped_is_not_handed_over() -> None:
    """A loop that stopped while its batch waited for the lock never runs the hand-over: the
    lock goes to the next writer at once, not after the writers' timeout."""
    lock = WriteLock()
    assert lock.acquire(timeout=1)
    loop = asyncio.new_event_loop()
    reserved = threading.Event()

    async def reserve() -> None:
        reserved.set()
        await lock.next_turn()

    tasks: list[asyncio.Task[None]] = []

    def run_loop() -> None:
        tasks.append(loop.create_task(reserve()))
        loop.run_until_complete(asyncio.sleep(0.05))  # reserved, then the loop stops

    runner = threading.Thread(target=run_loop)
    runner.start()
    runner.join(timeout=5)
    assert reserved.is_set() and not tasks[0].done() and not loop.is_running()
    lock.release()
    assert lock.acquire(timeout=0.5)  # free now, not held for the stopped loop
    lock.release()
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


def test_writers_do_not_checkpoint_a_thread_does(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit leaves its pages in the WAL; after CHECKPOINT_COMMITS write transactions a
    thread of the lock's copies them into the database file."""
    database = str(sqlite_engine.url.database)
    lock = _lock(sqlite_engine)
    monkeypatch.setattr(lock, "every", 3)

    def in_file() -> int:  # immutable: the file alone, the WAL ignored
        with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as file_only:
            return int(file_only.execute("SELECT count(*) FROM t").fetchone()[0])

    with sqlite3.connect(database):  # another connection: the WAL stays after the writers'
        sqlite_engine.dispose()  # a fresh pool: connections opened with this setup
        lock._commits = 0
        for value in range(3):
            assert in_file() == 0
            with write_connection(sqlite_engine) as connection:
                connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
        for _ in range(500):
            if in_file() == 3:
                break
            time.sleep(0.01)
        assert in_file() == 3


def test_checkpoints_come_about_every_thousand_frames() -> None:
    """Fewer frames than half the aim double the releases between checkpoints, more than
    twice halve them (within bounds)."""
    frames = sqlite_lock.CHECKPOINT_FRAMES
    assert sqlite_lock.adapted(100, frames // 10) == 200
    assert sqlite_lock.adapted(100, frames) == 100
    assert sqlite_lock.adapted(100, frames * 3) == 50
    assert sqlite_lock.adapted(10_000, 0) == 10_000
    assert sqlite_lock.adapted(10, frames * 10) == 10


def test_the_loops_batches_do_not_count_towards_a_checkpoint() -> None:
    """The journal's loop batches checkpoint by themselves (every CHECKPOINT_BATCHES):
    their releases are not counted twice."""
    lock = WriteLock()
    assert lock.try_acquire()
    lock.release(counted=False)
    assert lock._commits == 0
    assert lock.acquire(timeout=1)
    lock.release()
    assert lock._commits == 1


def test_a_checkpoint_of_a_removed_file_creates_nothing(tmp_path: Path) -> None:
    gone = tmp_path / "gone?#.db"
    with pytest.raises(sqlite3.OperationalError):
        sqlite_lock.checkpoint(str(gone))
    assert not gone.exists()
    kept = tmp_path / "a b?#.db"
    writer = sqlite3.connect(kept)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.commit()
    assert sqlite_lock.checkpoint(str(kept)) >= 1  # the frames of the CREATE
    writer.close()


def _wal_frames(connection: sqlite3.Connection) -> int:
    """The frames in the WAL now (a passive checkpoint's second column)."""
    return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def test_a_checkpoint_lets_the_wal_start_again_though_writes_came_meanwhile(
    tmp_path: Path,
) -> None:
    """Frames written while the passive copy ran are copied under the lock, so the next
    write starts the WAL from its beginning: under writes that never pause, passive
    checkpoints alone never caught up and the WAL grew without end."""
    database = str(tmp_path / "wal.db")
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (x BLOB)")

    def write(times: int) -> None:
        for _ in range(times):
            writer.execute("INSERT INTO t VALUES (randomblob(3000))")

    write(50)
    lock = WriteLock(database)
    assert lock.acquire(timeout=1)  # a writer of this process holds it
    copied = threading.Event()
    acquire = lock.acquire

    def after_the_passive_copy(timeout: float) -> bool:
        copied.set()
        return acquire(timeout)

    lock.acquire = after_the_passive_copy  # type: ignore[method-assign]
    found: list[int] = []
    checkpointing = threading.Thread(
        target=lambda: found.append(sqlite_lock.checkpoint(database, lock))
    )
    checkpointing.start()
    assert copied.wait(5)
    write(50)  # while the checkpoint waits for the lock
    lock.release()
    checkpointing.join(5)
    assert found and found[0] >= 50
    assert not lock.held()
    write(1)
    assert _wal_frames(writer) <= 3  # started again: only the last write's pages
    writer.close()


def test_a_checkpoint_that_cannot_have_the_lock_copies_what_it_can(tmp_path: Path) -> None:
    database = str(tmp_path / "busy.db")
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (x INTEGER)")
    lock = WriteLock(database)
    assert lock.acquire(timeout=1)  # held: here by the checkpointing thread itself
    try:
        assert sqlite_lock.checkpoint(database, lock) >= 1  # the passive copy alone
        assert lock.held() and lock.owner == threading.get_ident()  # not released by it
    finally:
        lock.release()
    writer.close()


def test_the_engines_connections_cut_a_grown_wal_back_when_it_starts_again(
    sqlite_engine: Engine,
) -> None:
    from samhandling.store.database import SQLITE_WAL_SIZE_LIMIT

    with read_connection(sqlite_engine) as connection:
        limit = connection.exec_driver_sql("PRAGMA journal_size_limit").scalar()
    assert limit == SQLITE_WAL_SIZE_LIMIT


def test_a_writer_waits_for_its_turn_without_a_connection_then_writes_on_the_last_ones(
    sqlite_engine: Engine,
) -> None:
    """The next writer takes the connection that made the last commit (its page cache is
    still valid); while it waits for the lock it holds no connection of the pool."""
    lock = _lock(sqlite_engine)
    spare = [sqlite_engine.connect() for _ in range(3)]  # the pool has several idle ones
    for connection in spare:
        connection.close()
    used: list[Any] = []
    inside, leave = threading.Event(), threading.Event()

    def first() -> None:
        with write_connection(sqlite_engine) as connection:
            used.append(connection.connection.dbapi_connection)
            inside.set()
            assert leave.wait(5)
            connection.execute(text("INSERT INTO t VALUES (1)"))

    def second() -> None:
        with write_connection(sqlite_engine) as connection:
            used.append(connection.connection.dbapi_connection)
            connection.execute(text("INSERT INTO t VALUES (2)"))

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(5)
    two = threading.Thread(target=second)
    two.start()
    try:
        time.sleep(0.2)  # the second writer is queued on the lock by now
        assert sqlite_engine.pool.checkedout() == 1  # the first writer's only
        assert lock.held() and len(used) == 1
    finally:
        leave.set()
    one.join(5)
    two.join(5)
    assert len(used) == 2 and used[0] is used[1]
    assert not lock.held()
    with write_connection(sqlite_engine) as connection:  # and so on, one after another
        assert connection.connection.dbapi_connection is used[0]
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2
