"""The request journal commits on a connection of its own; it survives losing it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select, text
from starlette.testclient import TestClient

from fixtures.audit_records import read_record
from fixtures.fhir_app import FHIR_JSON
from samhandling.audit import journal as journal_module
from samhandling.audit.chain import CHAIN_LOCK, VerifyReport, verify
from samhandling.audit.journal import AuditJournal
from samhandling.audit.storage import chain_writer as chain_writer_module
from samhandling.audit.storage.chain_writer import APPLICATION_NAME, ChainWriter
from samhandling.audit.storage.tables import audit_event
from samhandling.audit.trail import append, commit
from samhandling.store.advisory_locks import lock_number


def _reads(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(audit_event)
        return int(connection.execute(query.where(audit_event.c.interaction == "read")).scalar())


def test_journal_replaces_a_connection_the_database_dropped(
    client: TestClient, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL backend terminated: the connection to replace")
    body = orjson.dumps({"resourceType": "Patient", "gender": "female"})
    created = client.post("/fhir/Patient", content=body, headers=FHIR_JSON).json()
    assert client.get(f"/fhir/Patient/{created['id']}").status_code == 200
    with engine.connect() as connection:  # as a database restart would: every session ends
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert client.get(f"/fhir/Patient/{created['id']}").status_code == 200
    assert _reads(engine) == 2
    report = _linked(engine)
    assert report.ok and report.checked == 3


def test_writes_alone_are_linked_soon(client: TestClient, engine: Engine) -> None:
    """No read comes: the write's nudge makes the journal link its row by itself."""
    body = orjson.dumps({"resourceType": "Patient", "gender": "male"})
    for _ in range(3):
        assert client.post("/fhir/Patient", content=body, headers=FHIR_JSON).status_code == 201
    report = _linked(engine)
    assert report.ok and report.checked == 3 and report.unsealed == 0


def _linked(engine: Engine) -> VerifyReport:
    """The report once the journal has linked what writes left waiting (within 0.2 s)."""
    deadline = time.monotonic() + 10
    while verify(engine).unsealed and time.monotonic() < deadline:
        time.sleep(0.05)
    return verify(engine)


def test_journals_of_two_processes_take_turns(engine: Engine) -> None:
    """A journal links after the head its last batch left unless another came in between."""

    async def take_turns() -> None:
        async with _two_writers(engine) as (first, second):
            for i in range(4):
                await commit(first, [read_record(i), read_record(i + 100)], link_waiting=False)
                if i % 2:
                    await commit(second, [read_record(i + 200)], link_waiting=False)

    asyncio.run(take_turns())
    report = verify(engine)
    assert report.ok and report.checked == 4 * 2 + 2


def test_two_processes_batches_are_linked_by_the_database_after_one_conflict_each(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process alone links its batches itself; once another process's batch came between
    two of its own, the database links them (after whichever came last, under the chain
    lock): each process goes the general way once more, then never while they alternate
    (before, nearly every batch met the other process's and went the long way: two
    workers served half of what one did)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer process")
    reservations: list[int] = []
    in_database = _batches_linked_by_database(monkeypatch)
    reserve = chain_writer_module._reserve

    async def counted(*args: Any, **kwargs: Any) -> Any:
        reservations.append(1)
        return await reserve(*args, **kwargs)

    monkeypatch.setattr(chain_writer_module, "_reserve", counted)

    async def alone_then_in_turns() -> None:
        async with _two_writers(engine) as (first, second):
            for i in range(5):  # alone: linked here, one reservation of ids
                await commit(first, [read_record(i)], link_waiting=False)
            assert (len(reservations), in_database) == (1, [])
            for i in range(10):
                await commit(first, [read_record(i), read_record(i + 100)], link_waiting=False)
                await commit(second, [read_record(i + 200)], link_waiting=False)

    asyncio.run(alone_then_in_turns())
    # In turns: the second's first batch reserves ids, then each meets the other's batch
    # once (it goes the general way); every later batch is linked by the database.
    assert len(reservations) == 1 + 3
    assert len(in_database) == 2 * 10 - 4
    report = verify(engine)
    assert report.ok and report.checked == 5 + 10 * 3


def test_a_batch_linked_by_the_database_follows_the_row_committed_while_it_waited(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database reads the chain's head after the lock is held, not from the snapshot
    its statement began with: a batch that waited behind another transaction's chained
    row links after that row."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's write lock serialises batches")
    in_database = _batches_linked_by_database(monkeypatch)

    async def behind_a_holder() -> None:
        async with _two_writers(engine) as (writer, other):
            await _shared(writer, other)  # rows 1–3
            with engine.begin() as holder:
                append(holder, [read_record(4)])  # takes the chain lock, holds it
                waiting = asyncio.ensure_future(
                    commit(writer, [read_record(5)], link_waiting=False)
                )
                done, _ = await asyncio.wait([waiting], timeout=0.5)
                assert not done, "the batch did not wait for the chain lock"
            await asyncio.wait_for(waiting, timeout=10)

    asyncio.run(behind_a_holder())
    assert in_database == [1]  # the waiting batch, linked by the database
    with engine.connect() as connection:
        order = connection.execute(
            select(audit_event.c.chain_pos, audit_event.c.recorded_at_us).order_by(
                audit_event.c.chain_pos
            )
        ).all()
    first = 1_700_000_000_000_000  # read_record(i) was recorded at first + i
    assert order == [(i, first + i) for i in range(1, 6)]
    report = verify(engine)
    assert report.ok and report.checked == 5


def test_a_large_batch_linked_by_the_database_stays_linked(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above one statement's size the database links the batch chunk by chunk in one
    transaction (each chunk's head read after the one before it, its own rows)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer process")
    in_database = _batches_linked_by_database(monkeypatch)

    async def large() -> None:
        async with _two_writers(engine) as (writer, other):
            await _shared(writer, other)
            records = [read_record(i) for i in range(10, 60)]
            for record in records[:40]:  # patients beyond one statement's share
                record.patients |= {f"q{record.recorded_at_us % 7}"}
            await commit(writer, records, link_waiting=False)

    asyncio.run(large())
    assert in_database == [50]
    report = verify(engine)
    assert report.ok and report.checked == 3 + 50


def _batches_linked_by_database(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the batches the database links from now on."""
    sizes: list[int] = []
    send_chained = chain_writer_module._send_chained

    async def noted(connection: Any, lock: int, batch: Any) -> None:
        sizes.append(len(batch.events))
        await send_chained(connection, lock, batch)

    monkeypatch.setattr(chain_writer_module, "_send_chained", noted)
    return sizes


@contextlib.asynccontextmanager
async def _two_writers(engine: Engine) -> AsyncIterator[tuple[ChainWriter, ChainWriter]]:
    """Two journals' chain writers on one database, as two server processes have."""
    first, second = ChainWriter(engine), ChainWriter(engine)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def _shared(writer: ChainWriter, other: ChainWriter) -> None:
    """Three rows, the last `writer`'s after `other` came between: from now on (for
    SHARED_SECONDS) the database links `writer`'s batches."""
    await commit(writer, [read_record(1)], link_waiting=False)
    await commit(other, [read_record(2)], link_waiting=False)
    await commit(writer, [read_record(3)], link_waiting=False)  # meets row 2: shared


def test_a_batch_waits_for_the_chain_lock(engine: Engine) -> None:
    """The one-statement batch takes the chain lock before it inserts anything."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's write lock serialises batches")
    lock = lock_number(CHAIN_LOCK)

    async def batches() -> None:
        writer = ChainWriter(engine)
        try:
            await commit(writer, [read_record(1)], link_waiting=False)  # learns the head
            with engine.connect() as holder:
                holder.execute(text(f"SELECT pg_advisory_lock({lock})"))
                waiting = asyncio.ensure_future(
                    commit(writer, [read_record(2)], link_waiting=False)
                )
                done, _ = await asyncio.wait([waiting], timeout=0.5)
                assert not done, "the batch did not wait for the chain lock"
                holder.execute(text(f"SELECT pg_advisory_unlock({lock})"))
                holder.commit()
            await asyncio.wait_for(waiting, timeout=10)
        finally:
            await writer.close()

    asyncio.run(batches())
    report = verify(engine)
    assert report.ok and report.checked == 2


def test_batches_larger_than_one_statement_stay_linked(engine: Engine) -> None:
    """A batch above the one-statement size goes in a pipeline, linked as well."""

    async def batches() -> None:
        writer = ChainWriter(engine)
        try:
            for start in (0, 20, 40):
                records = [read_record(i) for i in range(start, start + 20)]
                await commit(writer, records, link_waiting=False)
        finally:
            await writer.close()

    asyncio.run(batches())
    report = verify(engine)
    assert report.ok and report.checked == 60


def test_records_of_requests_woken_in_the_same_turn_share_a_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is cut one turn of the loop after it became due: a request that becomes
    ready behind the journal's task in that turn still goes in it (one commit, not two)."""
    sizes: list[int] = []
    committed = journal_module.commit

    async def counted(writer: ChainWriter, records: list[Any], *, link_waiting: bool) -> int:
        sizes.append(len(records))
        return await committed(writer, records, link_waiting=link_waiting)

    monkeypatch.setattr(journal_module, "commit", counted)
    journal = AuditJournal(engine)

    async def same_turn() -> None:
        await journal.record(read_record(0))  # connected, the head known
        loop = asyncio.get_running_loop()
        first = loop.create_task(journal.record(read_record(1)))
        await asyncio.sleep(0)  # `first` queued its record: the journal's task is next
        second = loop.create_task(journal.record(read_record(2)))  # ready behind it
        await asyncio.gather(first, second)
        await journal.close()

    asyncio.run(same_turn())
    assert sizes[-1] == 2 and sum(sizes) == 3
    report = verify(engine)
    assert report.ok and report.checked == 3


def test_journal_serves_each_event_loop_and_closes(engine: Engine) -> None:
    """A test client may run every request on a loop of its own: each gets its records
    committed; a closed loop's connection is dropped, the last one closed by close()."""
    journal = AuditJournal(engine)
    postgres = engine.dialect.name == "postgresql"

    async def one(i: int) -> None:
        await journal.record(read_record(i))

    async def last() -> None:
        await journal.record(read_record(9))
        if postgres:  # the earlier loops' connections are gone
            assert _journal_connections(engine, settled_at=1) == 1
        await journal.close()

    asyncio.run(one(1))
    asyncio.run(one(2))
    asyncio.run(last())
    report = verify(engine)
    assert report.ok and report.checked == 3
    if postgres:  # counted in pg_stat_activity
        assert _journal_connections(engine, settled_at=0) == 0


def _journal_connections(engine: Engine, *, settled_at: int) -> int:
    """The journal's open PostgreSQL connections, once that many or after 5 s: a backend
    leaves pg_stat_activity a moment after its client closed."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = :name"
    )
    deadline = time.monotonic() + 5
    while True:
        with engine.connect() as connection:
            found = int(connection.execute(query, {"name": APPLICATION_NAME}).scalar_one())
        if found == settled_at or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_shutdown_does_not_wait_for_a_stuck_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch the database does not answer (here: the chain lock held elsewhere) delays
    the journal's close by CLOSE_TIMEOUT_SECONDS at most."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: a held lock sends the batch to a thread (test_audit_sqlite_batches)")
    monkeypatch.setattr(journal_module, "CLOSE_TIMEOUT_SECONDS", 0.3)
    journal = AuditJournal(engine)
    lock = lock_number(CHAIN_LOCK)

    async def stuck() -> float:
        await journal.record(read_record(1))
        with engine.connect() as holder:
            holder.execute(text(f"SELECT pg_advisory_lock({lock})"))
            waiting = asyncio.ensure_future(journal.record(read_record(2)))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await journal.close()
            took = time.monotonic() - started
            holder.execute(text(f"SELECT pg_advisory_unlock({lock})"))
            holder.commit()
        waiting.cancel()
        return took

    assert asyncio.run(stuck()) < 3
    assert _journal_connections(engine, settled_at=0) == 0
    # The dropped batch may still commit once the lock is free (PostgreSQL sees its client
    # gone only when it answers): recorded but never answered is the safe side.
    report = verify(engine)
    assert report.ok and report.checked in (1, 2)


def test_a_batch_the_database_does_not_answer_fails_in_time_and_the_next_one_commits(
    engine: Engine,
) -> None:
    """Every request waits for its record: a batch stuck (here on the chain lock held
    elsewhere) fails after its bound, so its requests are answered 503 rather than held
    for ever, and the journal goes on with the next batch on a new connection."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's batch in a worker thread is not bounded (it cannot be stopped)")
    journal = AuditJournal(engine, batch_timeout=0.3)
    lock = lock_number(CHAIN_LOCK)

    async def scenario() -> tuple[float, str]:
        await journal.record(read_record(1))
        with engine.connect() as holder:
            holder.execute(text(f"SELECT pg_advisory_lock({lock})"))
            started = time.monotonic()
            with pytest.raises(TimeoutError) as failed:
                await asyncio.wait_for(journal.record(read_record(2)), 10)
            took = time.monotonic() - started
            holder.execute(text(f"SELECT pg_advisory_unlock({lock})"))
            holder.commit()
        await asyncio.wait_for(journal.record(read_record(3)), 10)
        await journal.close()
        return took, str(failed.value)

    took, message = asyncio.run(scenario())
    assert 0.3 <= took < 3, took
    assert "not committed" in message
    report = verify(engine)
    assert report.ok and report.checked in (2, 3)  # the dropped batch may commit once free
    with engine.connect() as connection:  # every row stored is in the verified chain
        stored = connection.execute(select(func.count()).select_from(audit_event)).scalar()
    assert stored == report.checked
