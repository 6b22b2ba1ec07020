"""Multi-host PostgreSQL URLs (issue 26): libpq's spelling is taken as well as SQLAlchemy's,
and a connection goes to the first host that answers and accepts writes — for the server's
pool and for the audit journal's own asyncio connection alike."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from fixtures.server_process import free_port
from samhandling.cli.operator_errors import describe_url
from samhandling.store.database import make_engine
from samhandling.store.database_url import normalise_url
from samhandling.store.loop_pool import connect_on_loop


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (  # as `pg_autoctl show uri` prints it
            "postgres://127.0.0.1:55432,127.0.0.1:55433/samhandling"
            "?target_session_attrs=read-write&sslmode=prefer",
            "postgresql+psycopg:///samhandling?host=127.0.0.1:55432&host=127.0.0.1:55433"
            "&target_session_attrs=read-write&sslmode=prefer",
        ),
        (
            "postgresql://u:secret@db1:5432,db2:5433/fhir",
            "postgresql+psycopg://u:secret@/fhir?host=db1:5432&host=db2:5433",
        ),
        ("postgresql://u@db1,db2", "postgresql+psycopg://u@/?host=db1&host=db2"),
        # already SQLAlchemy's spelling, or one host: only the driver is named
        (
            "postgresql://u@/fhir?host=db1:5432&host=db2:5432",
            "postgresql+psycopg://u@/fhir?host=db1:5432&host=db2:5432",
        ),
        ("postgresql://u@db1:5432/fhir?x=1", "postgresql+psycopg://u@db1:5432/fhir?x=1"),
        ("postgresql+psycopg://u@db1/fhir", "postgresql+psycopg://u@db1/fhir"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
    ],
)
def test_multi_host_urls_are_normalised_to_sqlalchemys_form(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_every_host_reaches_the_driver_in_order() -> None:
    engine = make_engine("postgresql://u@db1:5432,db2:5433/fhir?target_session_attrs=read-write")
    try:
        _args, params = engine.dialect.create_connect_args(engine.url)
    finally:
        engine.dispose()
    assert (params["host"], params["port"]) == ("db1,db2", "5432,5433")
    assert params["target_session_attrs"] == "read-write"


def test_the_url_is_described_without_its_password() -> None:
    described = describe_url("postgresql://u:secret@db1:5432,db2:5433/fhir")
    assert "secret" not in described
    assert "db1%3A5432" in described and "db2%3A5433" in described  # both hosts named


def _with_a_dead_host_first(url: str) -> str:
    """`url` (one host) as a multi-host URL whose first host refuses connections."""
    parsed = make_url(url)
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    alive = f"{parsed.host or '127.0.0.1'}:{parsed.port or 5432}"
    user = parsed.username or "postgres"
    return (
        f"postgresql://{user}@{dead},{alive}/{parsed.database}"
        "?target_session_attrs=read-write&connect_timeout=2"
    )


def test_the_pool_connects_to_the_host_that_answers(postgres_database_url: str) -> None:
    alive_port = make_url(postgres_database_url).port or 5432
    engine = make_engine(_with_a_dead_host_first(postgres_database_url), statement_timeout_ms=900)
    try:
        with engine.connect() as connection:
            port, in_recovery, timeout = connection.execute(
                text(
                    "SELECT inet_server_port(), pg_is_in_recovery(),"
                    " current_setting('statement_timeout')"
                )
            ).one()
    finally:
        engine.dispose()
    assert (port, in_recovery, timeout) == (alive_port, False, "900ms")


def test_the_journals_asyncio_connection_takes_the_same_url(postgres_database_url: str) -> None:
    """The audit journal opens its own psycopg AsyncConnection from the engine's URL
    (`audit/storage/chain_writer.py`): multi-host must work there too."""
    engine = make_engine(_with_a_dead_host_first(postgres_database_url))
    args, params = engine.dialect.create_connect_args(engine.url)
    engine.dispose()

    async def port() -> int:
        connection = await psycopg.AsyncConnection.connect(*args, **params, autocommit=True)
        async with connection:
            row = await (await connection.execute("SELECT inet_server_port()")).fetchone()
        assert row is not None
        return int(row[0])

    assert asyncio.run(port()) == (make_url(postgres_database_url).port or 5432)


def test_the_urls_own_libpq_options_win_and_the_dead_after_ones_are_added(
    postgres_database_url: str,
) -> None:
    """Multi-host: the URL's `connect_timeout=2` (per host) stays, keepalives and the TCP
    user timeout are added, on the pool's connections and the event loop's alike."""
    engine = make_engine(_with_a_dead_host_first(postgres_database_url), dead_after_ms=10_000)

    async def on_the_loop() -> dict[str, str]:
        connection = await connect_on_loop(engine, "samhandling test multi-host options")
        try:
            parameters: dict[str, str] = connection.info.get_parameters()
            return parameters
        finally:
            await connection.close()

    try:
        with engine.connect() as connection:
            threaded = connection.connection.dbapi_connection.info.get_parameters()
        loop = asyncio.run(on_the_loop())
    finally:
        engine.dispose()
    for parameters in (threaded, loop):
        assert parameters["connect_timeout"] == "2"
        assert parameters["keepalives"] == "1" and parameters["keepalives_idle"] == "5"
        assert parameters["tcp_user_timeout"] == "10000"
