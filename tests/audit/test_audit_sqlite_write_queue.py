"""The journal's batches on the loop do not take the write lock from the process's queued
writers (store/sqlite_lock.py): a batch that finds it held or queued for goes to a thread,
which queues behind them."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import Engine

from fixtures.audit_records import read_record
from samhandling.audit.chain import verify
from samhandling.audit.storage.chain_writer import ChainWriter
from samhandling.audit.trail import commit
from samhandling.store.sqlite_lock import write_lock


def test_a_batch_queues_behind_the_process_writers(
    sqlite_engine: Engine, threaded_batches: list[int]
) -> None:
    lock = write_lock(str(sqlite_engine.url.database))
    assert lock is not None

    async def batches() -> None:
        writer = ChainWriter(sqlite_engine)
        try:
            await commit(writer, [read_record(0)], link_waiting=False)  # on the loop
            assert lock.acquire(timeout=1)  # a write transaction of this process
            waiting = asyncio.ensure_future(commit(writer, [read_record(1)], link_waiting=False))
            done, _ = await asyncio.wait([waiting], timeout=0.3)
            assert not done, "the batch did not wait for the process's writer"
            lock.release()
            await asyncio.wait_for(waiting, timeout=10)
            await commit(writer, [read_record(2)], link_waiting=False)  # the loop again
        finally:
            await writer.close()

    asyncio.run(batches())
    assert threaded_batches == [1]
    assert not lock.held()
    report = verify(sqlite_engine)
    assert report.ok and report.checked == 3


def test_the_journal_waits_for_its_turn_on_the_loop(
    sqlite_engine: Engine, threaded_batches: list[int]
) -> None:
    """A journal batch that finds the lock held by a writer of this process waits on the
    loop and is handed the lock before the writers queued behind it: not sent to a thread."""
    from samhandling.audit.journal import AuditJournal

    lock = write_lock(str(sqlite_engine.url.database))
    assert lock is not None
    journal = AuditJournal(sqlite_engine)

    async def records() -> None:
        try:
            await journal.record(read_record(0))
            holder = threading.Event()
            release = threading.Event()

            def writer() -> None:  # a write transaction on a worker thread
                assert lock.acquire(timeout=5)
                holder.set()
                release.wait(5)
                lock.release()

            thread = threading.Thread(target=writer)
            thread.start()
            assert await asyncio.to_thread(holder.wait, 5)
            waiting = asyncio.ensure_future(journal.record(read_record(1)))
            done, _ = await asyncio.wait([waiting], timeout=0.2)
            assert not done
            release.set()
            await asyncio.wait_for(waiting, timeout=10)
            await asyncio.to_thread(thread.join)
        finally:
            await journal.close()

    asyncio.run(records())
    assert threaded_batches == [
        1
    ]  # the first batch only: it links what an earlier run left waiting
    assert not lock.held()
    assert verify(sqlite_engine).ok


def test_the_head_is_read_again_only_after_another_connections_commit(
    sqlite_engine: Engine,
) -> None:
    """The loop's batch keeps the largest id and the chain head it left; SQLite's
    data_version tells it when another connection committed (then it reads them again)."""
    from samhandling.audit.storage import sql as audit_sql

    heads: list[str] = []

    async def batches() -> None:
        writer = ChainWriter(sqlite_engine)
        try:
            await commit(writer, [read_record(0)], link_waiting=False)
            loop_batches = writer._sqlite
            assert loop_batches is not None and loop_batches._connection is not None
            loop_batches._connection.set_trace_callback(
                lambda sql: heads.append(sql) if sql == audit_sql.HEAD_SQL else None
            )
            await commit(writer, [read_record(1)], link_waiting=False)
            assert heads == []  # known: nobody else committed
            await commit(writer, [read_record(2)], link_waiting=True)  # another connection
            await commit(writer, [read_record(3)], link_waiting=False)
            assert heads == [audit_sql.HEAD_SQL]
            await commit(writer, [read_record(4)], link_waiting=False)
            assert heads == [audit_sql.HEAD_SQL]
        finally:
            await writer.close()

    asyncio.run(batches())
    report = verify(sqlite_engine)
    assert report.ok and report.checked == 5
