"""The loop connections' sockets watched from one statement to the next (issue 24,
`store.loop_statements.SocketWatch`): a wait still ends when the answer comes, psycopg's
own waits on the same connection and a connection the server ends do not leave a
statement waiting forever, and a statement psycopg deallocated is prepared again."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

import psycopg
import pytest
import uvloop
from sqlalchemy import Engine, text

from samhandling.store.loop_pool import connect_on_loop
from samhandling.store.loop_reads import LoopReads
from samhandling.store.loop_statements import SocketWatch, execute_prepared

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
TIMEOUT = 10.0  # a wait that never ends fails the test instead of hanging it
T = TypeVar("T")


def on_uvloop(scenario: Coroutine[Any, Any, T]) -> T:
    """`scenario` on the server's event loop (uvicorn runs uvloop)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(scenario)


def test_a_wait_ends_when_the_socket_is_readable_and_the_socket_stays_watched() -> None:
    """On the server's loop (uvloop) the socket stays watched from one wait to the next;
    asyncio's own loop polls again before the waiting task reads, so there the socket
    seems readable while nothing waits and is unwatched (correct, only not cheaper)."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        watch = SocketWatch()
        try:
            for _ in range(3):
                loop.call_soon(theirs.send, b"x")
                async with asyncio.timeout(TIMEOUT):  # no task of its own, as `wait_for`'s
                    await watch.readable(loop, ours.fileno())
                assert ours.recv(10) == b"x"
                assert watch.loop is loop and watch.fd == ours.fileno()  # still watched
        finally:
            watch.stop()
            ours.close()
            theirs.close()

    on_uvloop(scenario())


def test_a_socket_readable_while_nothing_waits_is_unwatched_and_watched_again() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        watch = SocketWatch()
        try:
            loop.call_soon(theirs.send, b"a")
            await asyncio.wait_for(watch.readable(loop, ours.fileno()), TIMEOUT)
            ours.recv(10)
            theirs.send(b"unasked")  # e.g. the server's notice that it closes the connection
            for _ in range(20):
                await asyncio.sleep(0)
                if watch.loop is None:
                    break
            assert watch.loop is None  # not reported again and again: unwatched
            await asyncio.wait_for(watch.readable(loop, ours.fileno()), TIMEOUT)  # unread
            assert ours.recv(10) == b"unasked"
        finally:
            watch.stop()
            ours.close()
            theirs.close()

    asyncio.run(scenario())


def test_a_cancelled_wait_leaves_the_watch_usable() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        watch = SocketWatch()
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(watch.readable(loop, ours.fileno()), 0.05)
            assert watch.waiter is None
            loop.call_soon(theirs.send, b"x")
            await asyncio.wait_for(watch.readable(loop, ours.fileno()), TIMEOUT)
        finally:
            watch.stop()
            ours.close()
            theirs.close()

    asyncio.run(scenario())


@ON_POSTGRES
def test_statements_alternate_with_psycopgs_own_on_one_connection(engine: Engine) -> None:
    async def scenario() -> list[Any]:
        connection = await connect_on_loop(engine, "samhandling test watch")
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
    async def scenario() -> tuple[bool, bool]:
        connection = await connect_on_loop(engine, "samhandling test watch")
        try:
            await execute_prepared(connection, "SELECT $1::INTEGER", [1])
            pid = connection.info.backend_pid
            with engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.2)  # the server's goodbye arrives while nothing waits
            unwatched = connection.watch.loop is None
            with pytest.raises(psycopg.OperationalError):
                await asyncio.wait_for(
                    execute_prepared(connection, "SELECT $1::INTEGER", [2]), TIMEOUT
                )
            return unwatched, connection.watch.loop is None
        finally:
            await connection.close()

    assert on_uvloop(scenario()) == (True, True)


@ON_POSTGRES
def test_statements_psycopg_deallocated_are_prepared_again(engine: Engine) -> None:
    reads = LoopReads(engine, size=1)

    async def scenario() -> tuple[int, None]:
        try:
            connection = await connect_on_loop(engine, "samhandling test watch")
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
