"""A database that stops answering must not hang the server (store/liveness.py): every
PostgreSQL connection carries libpq's connect timeout, TCP keepalives and user timeout,
and a read on the event loop gives up after the statement timeout and the dead-after
bound even when its socket stays silent (a frozen server whose host still acknowledges:
tests/fixtures/silent_proxy.py), its connection dropped, the next read served anew."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import Engine, String, bindparam, func, select

from fixtures.silent_proxy import SilentProxy
from samhandling.config import settings_from_env, settings_to_env
from samhandling.fhir.outcome import FhirError
from samhandling.interactions import crud
from samhandling.store import loop_pool
from samhandling.store.database import make_engine, write_connection
from samhandling.store.liveness import libpq_options
from samhandling.store.loop_pool import connect_on_loop
from samhandling.store.loop_reads import LoopReads
from samhandling.store.loop_statements import DatabaseSilent, PreparedRead
from samhandling.store.version_writer import VersionWriter

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
TIMEOUT = 8.0  # a read that never ends fails the test instead of hanging it
OPTIONS_10S = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "1",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",
}


def _patient(engine: Engine) -> str:
    with write_connection(engine) as connection:
        created = crud.create(VersionWriter(connection), {"resourceType": "Patient"})
    return created.version.resource_id


async def _until(condition: Any, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return bool(condition())


@ON_POSTGRES
def test_a_loop_read_the_database_does_not_answer_fails_in_time_and_the_next_one_is_served(
    database_url: str,
) -> None:
    """Silent after a first read (its connection pooled, its statement prepared): the
    next read fails with DatabaseSilent after statement timeout + dead-after (1 s + 1 s),
    not run again on a fresh connection, that connection closed; once the proxy forwards
    again the next read is served on a new one."""
    with SilentProxy.to(database_url) as proxy:
        engine = make_engine(proxy.url, statement_timeout_ms=1000, dead_after_ms=1000)
        try:
            rid = _patient(engine)
            reads = LoopReads(engine, statement_timeout_ms=1000)

            async def scenario() -> tuple[Any, Any, float, bool]:
                try:
                    first = await reads.current("Patient", rid)
                    before = proxy.open
                    proxy.silence()
                    started = time.monotonic()
                    with pytest.raises(DatabaseSilent):
                        await reads.current("Patient", rid)
                    took = time.monotonic() - started
                    dropped = await _until(lambda: proxy.open == before - 1)
                    proxy.speak()
                    return first, await reads.current("Patient", rid), took, dropped
                finally:
                    await reads.close()

            first, again, took, dropped = asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))
        finally:
            engine.dispose()
    # statement timeout and dead-after, 1 s each; the margin is for a loaded host, where a
    # 1 s wait has ended over a second late, and still tells a bound from the 30 s default
    assert 2.0 <= took < 5.0, took
    assert dropped
    assert first is not None and again == first


@ON_POSTGRES
def test_a_statement_the_statement_timeout_stopped_is_not_run_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a broken connection's work runs once more: a statement stopped for its time
    would take as long again (the pool connected once, the 503 after one timeout)."""
    connects: list[int] = []
    connect = loop_pool.LoopPool.connect

    async def counted(pool: loop_pool.LoopPool) -> Any:
        connects.append(1)
        return await connect(pool)

    monkeypatch.setattr(loop_pool.LoopPool, "connect", counted)
    reads = LoopReads(engine, statement_timeout_ms=100)
    sleeping = select(func.pg_sleep(1).label("slept")).where(
        bindparam("rtype", type_=String) != bindparam("rid", type_=String)
    )

    async def scenario() -> None:
        try:
            await reads.current("Patient", "warm")  # a pooled connection to reuse
            reads.prepared["current"] = PreparedRead("sleeping", sleeping)
            await reads.current("Patient", "slow")
        finally:
            await reads.close()

    with pytest.raises(FhirError) as refused:
        asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))
    assert [issue.code for issue in refused.value.issues] == ["too-costly"]
    assert len(connects) == 1


@ON_POSTGRES
def test_the_engines_and_the_loops_connections_carry_the_libpq_options(database_url: str) -> None:
    engine = make_engine(database_url, statement_timeout_ms=1000, dead_after_ms=10_000)
    reads = LoopReads(engine)

    async def on_the_loop() -> tuple[dict[str, str], dict[str, str]]:
        connection = await connect_on_loop(engine, "samhandling test options")
        try:
            pooled = await reads.pool.run(_parameters)
            return await _parameters(connection), pooled
        finally:
            await connection.close()
            await reads.close()

    try:
        with engine.connect() as connection:
            threaded = connection.connection.dbapi_connection.info.get_parameters()
        loop, pooled = asyncio.run(on_the_loop())
    finally:
        engine.dispose()
    for parameters in (threaded, loop, pooled):
        assert OPTIONS_10S.items() <= parameters.items(), parameters
    assert "statement_timeout=1000" in threaded["options"]


async def _parameters(connection: Any) -> dict[str, str]:
    parameters: dict[str, str] = connection.info.get_parameters()
    return parameters


@pytest.mark.parametrize(
    ("dead_after_ms", "connect", "idle", "interval"),
    [(30_000, "30", "15", "5"), (60_000, "60", "30", "10"), (1_000, "2", "1", "1")],
)
def test_the_options_end_a_connection_silent_for_the_bound(
    dead_after_ms: int, connect: str, idle: str, interval: str
) -> None:
    options = libpq_options(dead_after_ms)
    assert options == {
        "connect_timeout": connect,  # libpq takes at least 2 s
        "keepalives": "1",
        "keepalives_idle": idle,
        "keepalives_interval": interval,
        "keepalives_count": "3",
        "tcp_user_timeout": str(dead_after_ms),
    }


def test_the_setting_is_read_passed_on_and_must_be_positive(tmp_path: Any) -> None:
    env = {"SAMHANDLING_DATA_DIR": str(tmp_path), "SAMHANDLING_DATABASE_DEAD_AFTER_MS": "4500"}
    settings = settings_from_env(env)
    assert settings.database_dead_after_ms == 4500
    assert settings_from_env(settings_to_env(settings)).database_dead_after_ms == 4500
    assert settings_from_env({"SAMHANDLING_DATA_DIR": "x"}).database_dead_after_ms == 30_000
    with pytest.raises(ValueError, match="SAMHANDLING_DATABASE_DEAD_AFTER_MS"):
        settings_from_env({**env, "SAMHANDLING_DATABASE_DEAD_AFTER_MS": "0"})


def test_sqlite_takes_none_of_them(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", dead_after_ms=1000)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
