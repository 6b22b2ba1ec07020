"""Statements sent at libpq level on the loop's connections (issue 24): prepared once per
connection and text, values of every kind the reads and the audit journal send come back
as they went, and the server's errors are psycopg's (the pool and the journal rely on
their classes). On the server's event loop (uvloop) they alternate with psycopg's own on
one connection, and a connection the server ends fails its next statement without
hanging."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import psycopg
import pytest
import uvloop
from sqlalchemy import Engine, text

from samhandling.store import loop_statements
from samhandling.store.loop_pool import connect_on_loop
from samhandling.store.loop_reads import LoopReads
from samhandling.store.loop_statements import execute_prepared

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
TIMEOUT = 10.0  # a wait that never ends fails the test instead of hanging it
T = TypeVar("T")
PREPARED = "SELECT name FROM pg_prepared_statements ORDER BY name"
ECHO = "SELECT $1::VARCHAR, $2::BIGINT, $3::BYTEA, $4::BOOLEAN, $5::INTEGER, $6::VARCHAR"


async def _prepared_names(connection: Any) -> list[str]:
    found = await connection.execute(PREPARED)
    return [row[0] for row in await found.fetchall()]


@ON_POSTGRES
def test_values_of_every_kind_round_trip_and_the_text_is_prepared_once(engine: Engine) -> None:
    values = ["blåbær ✓", 2**40, b"\x00\xffjson\x00", True, -7, None]

    async def scenario() -> tuple[list[tuple[Any, ...]], list[str]]:
        connection = await connect_on_loop(engine, "samhandling test statements")
        try:
            rows = []
            for _ in range(3):
                result = await execute_prepared(connection, ECHO, values)
                connection.transformer.set_pgresult(result)
                rows.append(connection.transformer.load_row(0, tuple))
            return rows, await _prepared_names(connection)
        finally:
            await connection.close()

    rows, names = asyncio.run(scenario())
    assert rows == [tuple(values)] * 3
    assert names == ["samhandling_s0"]


@ON_POSTGRES
def test_a_server_error_is_psycopgs_and_the_connection_still_serves(engine: Engine) -> None:
    async def scenario() -> Any:
        connection = await connect_on_loop(engine, "samhandling test statements")
        try:
            with pytest.raises(psycopg.errors.DivisionByZero):
                await execute_prepared(connection, "SELECT 1 / $1::INTEGER", [0])
            result = await execute_prepared(connection, "SELECT 1 / $1::INTEGER", [1])
            connection.transformer.set_pgresult(result)
            return connection.transformer.load_row(0, tuple)
        finally:
            await connection.close()

    assert asyncio.run(scenario()) == (1,)


@ON_POSTGRES
def test_the_reads_prepare_each_statement_once_per_connection(engine: Engine) -> None:
    reads = LoopReads(engine, size=1)

    async def scenario() -> list[str]:
        try:
            for _ in range(3):
                await reads.current("Patient", "none")
            await reads.version("Patient", "none", 1)
            return await reads.pool.run(_prepared_names)
        finally:
            await reads.close()

    assert asyncio.run(scenario()) == ["samhandling_current", "samhandling_version"]
    assert reads.statements == 4


def on_uvloop(scenario: Coroutine[Any, Any, T]) -> T:
    """`scenario` on the server's event loop (uvicorn runs uvloop)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(scenario)


@ON_POSTGRES
def test_statements_alternate_with_psycopgs_own_on_one_connection(engine: Engine) -> None:
    async def scenario() -> list[Any]:
        connection = await connect_on_loop(engine, "samhandling test statements")
        answers = []
        try:
            for number in range(4):
                result = await asyncio.wait_for(
                    execute_prepared(connection, "SELECT $1::INTEGER", [number]), TIMEOUT
                )
                connection.transformer.set_pgresult(result)
                answers.append(connection.transformer.load_row(0, tuple)[0])
                cursor = await asyncio.wait_for(connection.execute("SELECT 'psycopg'"), TIMEOUT)
                answers.append((await cursor.fetchone())[0])
            return answers
        finally:
            await connection.close()

    assert on_uvloop(scenario()) == [0, "psycopg", 1, "psycopg", 2, "psycopg", 3, "psycopg"]


@ON_POSTGRES
def test_a_connection_the_server_ends_fails_its_next_statement_without_hanging(
    engine: Engine,
) -> None:
    async def scenario() -> None:
        connection = await connect_on_loop(engine, "samhandling test statements")
        try:
            await execute_prepared(connection, "SELECT $1::INTEGER", [1])
            pid = connection.info.backend_pid
            with engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.2)  # the server's goodbye arrives while nothing waits
            with pytest.raises(psycopg.OperationalError):
                await asyncio.wait_for(
                    execute_prepared(connection, "SELECT $1::INTEGER", [2]), TIMEOUT
                )
        finally:
            await connection.close()

    on_uvloop(scenario())


@ON_POSTGRES
def test_statements_psycopg_deallocated_are_prepared_again(engine: Engine) -> None:
    reads = LoopReads(engine, size=1)

    async def scenario() -> tuple[int, None]:
        try:
            connection = await connect_on_loop(engine, "samhandling test statements")
            try:
                await execute_prepared(connection, "SELECT $1::INTEGER", [1])
                await connection.execute("DEALLOCATE ALL")  # as psycopg after a ROLLBACK
                result = await execute_prepared(connection, "SELECT $1::INTEGER", [2])
                connection.transformer.set_pgresult(result)
                value = connection.transformer.load_row(0, tuple)[0]
            finally:
                await connection.close()
            await reads.current("Patient", "none")
            await reads.pool.run(lambda c: c.execute("DEALLOCATE ALL"))
            return value, await reads.current("Patient", "none")
        finally:
            await reads.close()

    assert on_uvloop(scenario()) == (2, None)


@ON_POSTGRES
def test_a_statement_prepared_between_a_deallocate_and_the_next_miss_keeps_its_name(
    engine: Engine,
) -> None:
    """psycopg's DEALLOCATE ALL (after a ROLLBACK: the journal's conflict with another
    process's batch) leaves the names the connection remembers stale. A text prepared
    after it and before a stale name is missed survives the forgetting; a name derived
    from how many are remembered was then given twice ("samhandling_s1 already exists",
    every batch of that size refused for good: two workers answered half their reads
    503). Names are never given twice on a connection."""
    shapes = [f"SELECT $1::INTEGER + {n}" for n in range(3)]
    reads = LoopReads(engine, size=1)

    async def scenario() -> tuple[list[int], None]:
        try:
            connection = await connect_on_loop(engine, "samhandling test statements")
            try:
                await execute_prepared(connection, shapes[0], [1])
                await connection.execute("DEALLOCATE ALL")
                await execute_prepared(connection, shapes[1], [1])  # new after the drop
                await execute_prepared(connection, shapes[0], [1])  # missed: forgotten
                values = []
                for shape in (*shapes, *shapes):
                    result = await execute_prepared(connection, shape, [1])
                    connection.transformer.set_pgresult(result)
                    values.append(connection.transformer.load_row(0, tuple)[0])
            finally:
                await connection.close()
            # the reads' fixed names: one forgotten while the server still has it
            await reads.current("Patient", "none")
            await reads.pool.run(_forget_prepared_names)
            return values, await reads.current("Patient", "none")
        finally:
            await reads.close()

    assert on_uvloop(scenario()) == ([1, 2, 3, 1, 2, 3], None)


async def _forget_prepared_names(connection: Any) -> None:
    connection.prepared.clear()


@ON_POSTGRES
def test_an_answer_there_after_one_turn_is_read_without_watching_the_socket(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's turn after the statement is sent (other requests' work: here a callback
    that takes 50 ms) outlasts the database's answer: read at once, no wait on the socket;
    with nothing else to do in that turn, the statement waits on its socket as before."""
    waits: list[bool] = []
    original = loop_statements._ready

    async def counted(*args: Any, **kwargs: Any) -> None:
        waits.append(kwargs.get("write", False))
        await original(*args, **kwargs)

    monkeypatch.setattr(loop_statements, "_ready", counted)

    async def scenario() -> tuple[list[Any], list[bool], list[Any]]:
        connection = await connect_on_loop(engine, "samhandling test statements")
        try:
            await execute_prepared(connection, "SELECT $1::INTEGER + 1", [1])  # prepared
            waits.clear()
            asyncio.get_running_loop().call_soon(time.sleep, 0.05)
            busy = await execute_prepared(connection, "SELECT $1::INTEGER + 1", [2])
            busy_waits = list(waits)
            idle = await execute_prepared(connection, "SELECT pg_sleep(0.05), $1::INTEGER", [3])
            return [_row(connection, busy), busy_waits], list(waits), [_row(connection, idle)]
        finally:
            await connection.close()

    (busy, busy_waits), all_waits, (idle,) = asyncio.run(scenario())
    assert busy == (3,) and busy_waits == []
    assert idle[1] == 3 and all_waits and not any(all_waits)  # the slow answer: read waits


def _row(connection: Any, result: Any) -> tuple[Any, ...]:
    connection.transformer.set_pgresult(result)
    row: tuple[Any, ...] = connection.transformer.load_row(0, tuple)
    return row
