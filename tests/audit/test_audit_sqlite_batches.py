"""On a SQLite file the journal's batches run on the event loop, never waiting there."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from fixtures.audit_records import read_record
from samhandling.audit.chain import verify
from samhandling.audit.records import AuditRecord
from samhandling.audit.storage import sqlite_batches
from samhandling.audit.storage.chain_writer import ChainWriter
from samhandling.audit.storage.tables import audit_event, audit_patient
from samhandling.audit.trail import commit
from samhandling.store import sqlite_lock
from samhandling.store.database import SQLITE_WAL_SIZE_LIMIT


def _commit_in_turn(engine: Engine, *batches: tuple[list[AuditRecord], bool]) -> None:
    """Commit each batch of records (linking what waits or not) through one chain writer."""

    async def run() -> None:
        writer = ChainWriter(engine)
        try:
            for records, link_waiting in batches:
                await commit(writer, records, link_waiting=link_waiting)
        finally:
            await writer.close()

    asyncio.run(run())


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_batches_that_link_nothing_commit_on_the_loop(
    sqlite_engine: Engine, threaded_batches: list[int]
) -> None:
    _commit_in_turn(
        sqlite_engine, ([read_record(0), read_record(1)], False), ([read_record(2)], False)
    )
    assert threaded_batches == []
    assert _count(sqlite_engine, audit_event) == 3
    assert _count(sqlite_engine, audit_patient) == 3
    report = verify(sqlite_engine)
    assert report.ok and report.checked == 3


def test_a_held_write_lock_sends_the_batch_to_a_thread(
    sqlite_engine: Engine, threaded_batches: list[int]
) -> None:
    """The loop does not wait for the lock: the batch waits on a worker thread and commits
    once the lock is free; the loop runs on meanwhile."""
    database = str(sqlite_engine.url.database)

    async def batches() -> None:
        writer = ChainWriter(sqlite_engine)
        holder = sqlite3.connect(database, isolation_level=None)
        try:
            await commit(writer, [read_record(0)], link_waiting=False)
            holder.execute("BEGIN IMMEDIATE")
            waiting = asyncio.ensure_future(commit(writer, [read_record(1)], link_waiting=False))
            done, _ = await asyncio.wait([waiting], timeout=0.3)  # the loop is not blocked
            assert not done, "the batch did not wait for the write lock"
            holder.execute("COMMIT")
            await asyncio.wait_for(waiting, timeout=10)
        finally:
            holder.close()
            await writer.close()

    asyncio.run(batches())
    assert threaded_batches == [1]
    report = verify(sqlite_engine)
    assert report.ok and report.checked == 2


def test_linking_batches_go_to_a_thread(sqlite_engine: Engine, threaded_batches: list[int]) -> None:
    _commit_in_turn(sqlite_engine, ([read_record(0)], True))
    assert threaded_batches == [1]
    assert verify(sqlite_engine).ok


def test_the_wal_is_checkpointed_off_the_loop(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's connection does not checkpoint; after CHECKPOINT_BATCHES batches a worker
    thread does, and the rows are then in the database file itself (not only the WAL),
    which the next batch starts again from its beginning."""
    monkeypatch.setattr(sqlite_batches, "CHECKPOINT_BATCHES", 3)
    database = str(sqlite_engine.url.database)
    copies: list[tuple[Any, str]] = []
    copied_frames: list[int] = []

    def checkpoint(path: str, lock: Any) -> int:  # the writers' checkpoint, with the lock
        copies.append((lock, path))
        copied_frames.append(sqlite_lock.checkpoint(path, lock))
        return copied_frames[-1]

    monkeypatch.setattr(sqlite_batches, "checkpoint", checkpoint)

    def in_file() -> int:  # immutable: the file alone, the WAL ignored
        with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as file_only:
            return int(file_only.execute("SELECT count(*) FROM audit_event").fetchone()[0])

    async def batches() -> None:
        writer = ChainWriter(sqlite_engine)
        try:
            for i in range(3):
                await commit(writer, [read_record(i)], link_waiting=False)
                if i < 2:
                    assert in_file() == 0
            loop_batches = writer._sqlite
            assert loop_batches is not None and loop_batches._checkpoint is not None
            await loop_batches._checkpoint
            assert in_file() == 3
            lock = loop_batches.lock
            assert lock is not None and copies == [(lock, lock.database)]
            frames_of_three = copied_frames[0]
            await commit(writer, [read_record(3)], link_waiting=False)
            with sqlite3.connect(database) as reader:  # the WAL started again at that batch
                wal = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert 0 < wal[1] < frames_of_three
            journal = loop_batches._connection
            assert journal is not None  # it too cuts a grown WAL back when it starts again
            limit = journal.execute("PRAGMA journal_size_limit").fetchone()[0]
            assert limit == SQLITE_WAL_SIZE_LIMIT
        finally:
            await writer.close()

    with sqlite3.connect(database):  # another connection: the WAL stays after the writer's
        asyncio.run(batches())


def test_a_failed_batch_is_rolled_back_and_raised_as_the_engines(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error inside the batch raises SQLAlchemy's `DBAPIError` (the API answers 503) and
    leaves no transaction open: the write lock is free for the next batch."""
    inserted = sqlite_batches._insert

    def failing(connection: sqlite3.Connection, count: int, batch_for: Any) -> None:
        inserted(connection, count, batch_for)
        raise sqlite3.OperationalError("disk I/O error")

    async def batches() -> None:
        writer = ChainWriter(sqlite_engine)
        try:
            with monkeypatch.context() as patched:
                patched.setattr(sqlite_batches, "_insert", failing)
                with pytest.raises(DBAPIError, match="disk I/O error"):
                    await commit(writer, [read_record(0)], link_waiting=False)
            await commit(writer, [read_record(1)], link_waiting=False)
        finally:
            await writer.close()

    asyncio.run(batches())
    with sqlite_engine.connect() as connection:
        times = connection.execute(select(audit_event.c.recorded_at_us)).scalars().all()
    assert times == [read_record(1).recorded_at_us]
    assert verify(sqlite_engine).ok
