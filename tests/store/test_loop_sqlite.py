"""The reads by id on the event loop on SQLite (issue 24, `store/loop_sqlite.py`): a
connection of the loop's own that sees every commit at once and holds no read transaction
between reads, writes nothing, answers a statement timeout and an error as the engine's
connections do, and waits for a lock on a worker thread, never on the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from samhandling.fhir.outcome import FhirError
from samhandling.interactions import crud
from samhandling.store.database import make_engine, read_connection, write_connection
from samhandling.store.loop_sqlite import SqliteLoopReads
from samhandling.store.reader import read_current
from samhandling.store.version_writer import VersionWriter

T = TypeVar("T")


pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _create(engine: Engine, gender: str = "male") -> str:
    with write_connection(engine) as connection:
        created = crud.create(
            VersionWriter(connection), {"resourceType": "Patient", "gender": gender}
        )
    return created.version.resource_id


def _update(engine: Engine, rid: str, gender: str) -> None:
    body = {"resourceType": "Patient", "id": rid, "gender": gender}
    with write_connection(engine) as connection:
        crud.update(VersionWriter(connection), "Patient", rid, body)


def _on_loop(reads: SqliteLoopReads, scenario: Callable[[], Awaitable[T]]) -> T:
    async def closing() -> T:
        try:
            return await scenario()
        finally:
            await reads.close()

    return asyncio.run(closing())


def test_each_read_sees_the_latest_commit_and_leaves_no_transaction_open(
    engine: Engine,
) -> None:
    reads = SqliteLoopReads(engine)
    rid = _create(engine)

    async def scenario() -> list[Any]:
        seen = [await reads.current("Patient", rid)]
        (here,) = reads.connections._loops.values()
        assert not here.connection.in_transaction  # no snapshot held until the next read
        _update(engine, rid, "female")  # another connection's commit (another request's)
        seen.append(await reads.current("Patient", rid))
        seen.append(await reads.current("Patient", _create(engine)))
        return seen

    first, second, new = _on_loop(reads, scenario)
    assert first is not None and first.version_id == 1 and first.deleted is False
    with read_connection(engine) as connection:
        assert second == read_current(connection, "Patient", rid)
    assert second is not None and second.version_id == 2 and b'"female"' in (second.content or b"")
    assert new is not None and reads.statements == 3


def test_the_loop_connection_writes_nothing(engine: Engine) -> None:
    reads = SqliteLoopReads(engine)
    rid = _create(engine)
    reads.sql["current"] = (
        "DELETE FROM resource WHERE resource_type = :rtype AND resource_id = :rid"
    )
    with pytest.raises(DBAPIError, match="readonly"):
        _on_loop(reads, lambda: reads.current("Patient", rid))
    with read_connection(engine) as connection:
        assert read_current(connection, "Patient", rid) is not None


def test_an_error_is_the_engines_and_the_statement_timeout_503(database_url: str) -> None:
    engine = make_engine(database_url, statement_timeout_ms=50)
    try:
        reads = SqliteLoopReads(engine, statement_timeout_ms=50)
        reads.sql["current"] = "SELECT * FROM no_such_table WHERE :rtype = :rid"
        with pytest.raises(DBAPIError, match="no such table"):
            _on_loop(reads, lambda: reads.current("Patient", "x"))
        endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)"
        reads.sql["current"] = f"{endless} SELECT count(*), :rtype, :rid FROM n"
        with pytest.raises(FhirError) as refused:
            _on_loop(reads, lambda: reads.current("Patient", "slow"))
        assert refused.value.status == 503
        assert [issue.code for issue in refused.value.issues] == ["too-costly"]
    finally:
        engine.dispose()


def test_a_locked_database_is_waited_for_on_a_thread_not_on_the_loop(
    engine: Engine, database_url: str
) -> None:
    rid = _create(engine)
    engine.dispose()  # an exclusive lock in WAL needs the only connection to the file
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), check_same_thread=False)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("UPDATE resource SET tx_id = tx_id")  # takes the lock and keeps it
    holder.commit()
    reads = SqliteLoopReads(engine)
    ticks = 0

    async def scenario() -> Any:
        nonlocal ticks

        async def ticking() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        clock = asyncio.ensure_future(ticking())
        threading.Timer(0.4, holder.close).start()
        try:
            return await reads.current("Patient", rid)
        finally:
            clock.cancel()

    found = _on_loop(reads, scenario)
    assert found is not None and found.resource_id == rid and found.deleted is False
    assert ticks >= 10  # the loop went on serving while the read waited for the lock
