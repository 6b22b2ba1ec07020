"""The reads by id on the event loop (issue 24): the store's prebuilt statements sent on
psycopg's asyncio connections (or SQLite's connection of the loop's own) give what the
threaded reader gives, survive a dead pooled connection, stay within their bound and answer
a statement timeout as the threaded read (SQLite's own cases: test_loop_sqlite.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Engine, String, bindparam, func, select, text

from samhandling.fhir.outcome import FhirError
from samhandling.interactions import crud
from samhandling.store import loop_pool
from samhandling.store.database import make_engine, read_connection, write_connection
from samhandling.store.loop_reads import APPLICATION_NAME, LoopReads
from samhandling.store.loop_sqlite import SqliteLoopReads
from samhandling.store.loop_statements import PreparedRead
from samhandling.store.reader import read_current, read_live_before, read_version
from samhandling.store.version_writer import VersionWriter

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _stored(engine: Engine) -> str:
    """A Patient written twice and deleted: versions 1, 2 and the deletion 3."""
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        rid = crud.create(writer, {"resourceType": "Patient", "gender": "male"}).version.resource_id
        crud.update(writer, "Patient", rid, {"resourceType": "Patient", "id": rid})
        crud.delete(writer, "Patient", rid)
    return rid


async def _all(reads: LoopReads, rid: str) -> list[Any]:
    try:
        return [
            await reads.current("Patient", rid),
            await reads.version("Patient", rid, 2),
            await reads.live_before("Patient", rid, 3),
            await reads.current("Patient", "none"),
            await reads.version("Patient", rid, 9),
        ]
    finally:
        await reads.close()


def test_loop_reads_give_what_the_threaded_reader_gives(engine: Engine) -> None:
    rid = _stored(engine)
    with read_connection(engine) as connection:
        expected = [
            read_current(connection, "Patient", rid),
            read_version(connection, "Patient", rid, 2),
            read_live_before(connection, "Patient", rid, 3),
            None,
            None,
        ]
    reads = LoopReads.of(engine)
    assert reads is not None
    assert asyncio.run(_all(reads, rid)) == expected
    assert expected[0] is not None and expected[0].deleted and reads.statements == 5


@ON_POSTGRES
def test_a_dead_pooled_connection_is_replaced_and_the_read_run_again(engine: Engine) -> None:
    rid = _stored(engine)
    reads = LoopReads(engine, size=1)

    async def scenario() -> tuple[Any, Any]:
        try:
            first = await reads.current("Patient", rid)
            with engine.connect() as connection:  # as a database restart would
                ended = connection.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                        " FROM pg_stat_activity WHERE application_name = :name"
                        " AND datname = current_database()"  # not another test's or server's
                    ),
                    {"name": APPLICATION_NAME},
                ).scalar()
            assert ended == 1  # the pooled connection
            return first, await reads.current("Patient", rid)
        finally:
            await reads.close()

    first, again = asyncio.run(scenario())
    assert first == again and first is not None


@ON_POSTGRES
def test_a_statement_timeout_answers_503_too_costly(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = LoopReads(engine, statement_timeout_ms=50)
    sleeping = select(func.pg_sleep(1).label("slept")).where(
        bindparam("rtype", type_=String) != bindparam("rid", type_=String)
    )
    reads.prepared["current"] = PreparedRead("sleeping", sleeping)

    async def scenario() -> None:
        try:
            await reads.current("Patient", "slow")
        finally:
            await reads.close()

    with pytest.raises(FhirError) as refused:
        asyncio.run(scenario())
    assert refused.value.status == 503
    assert [issue.code for issue in refused.value.issues] == ["too-costly"]


@ON_POSTGRES
def test_the_pool_lends_at_most_its_size_and_then_times_out(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop_pool, "POOL_TIMEOUT_SECONDS", 0.2)
    pool = loop_pool.LoopPool(engine, "samhandling test pool", size=1)
    held = asyncio.Event()

    async def hold(connection: Any) -> None:
        held.set()
        await asyncio.sleep(0.5)

    async def scenario() -> None:
        try:
            holding = asyncio.ensure_future(pool.run(hold))
            await held.wait()
            await pool.run(hold)  # waits for the one connection, in vain
        finally:
            await holding
            await pool.close()

    with pytest.raises(loop_pool.PoolTimeout):
        asyncio.run(scenario())


@ON_POSTGRES
def test_a_free_slot_is_taken_without_a_timed_wait_and_a_full_pool_still_waits(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    timed: list[object] = []
    wait_for = asyncio.wait_for

    async def counted_wait_for(awaitable: Any, timeout: float) -> Any:
        timed.append(timeout)
        return await wait_for(awaitable, timeout)

    monkeypatch.setattr(loop_pool.asyncio, "wait_for", counted_wait_for)
    pool = loop_pool.LoopPool(engine, "samhandling test pool", size=1)

    async def hold(connection: Any) -> None:
        await asyncio.sleep(0.05)

    async def scenario() -> None:
        try:
            await pool.run(hold)
            assert timed == []  # the slot was free: no task, no timer
            await asyncio.gather(pool.run(hold), pool.run(hold))
            assert timed == [loop_pool.POOL_TIMEOUT_SECONDS]  # the second waited, bounded
        finally:
            await pool.close()

    asyncio.run(scenario())


@ON_POSTGRES
def test_loop_reads_on_postgresql_a_sqlite_file_but_not_in_memory(
    engine: Engine, tmp_path: Any
) -> None:
    assert type(LoopReads.of(engine)) is LoopReads
    on_file, in_memory = make_engine(f"sqlite:///{tmp_path}/db.sqlite"), make_engine("sqlite://")
    try:
        assert isinstance(LoopReads.of(on_file), SqliteLoopReads)
        assert LoopReads.of(in_memory) is None  # a connection of its own: another database
    finally:
        on_file.dispose()
        in_memory.dispose()
