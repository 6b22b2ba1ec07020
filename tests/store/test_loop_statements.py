"""Statements sent at libpq level on the loop's connections (issue 24): prepared once per
connection and text, values of every kind the reads and the audit journal send come back
as they went, and the server's errors are psycopg's (the pool and the journal rely on
their classes)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from samhandling.store.loop_pool import connect_on_loop
from samhandling.store.loop_reads import LoopReads
from samhandling.store.loop_statements import execute_prepared

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
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
