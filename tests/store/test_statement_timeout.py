"""The statement timeout and cancelling a statement, on both databases (issue 16, item 9)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from samhandling.fhir.outcome import FhirError
from samhandling.store.database import (
    cancel_statement,
    make_engine,
    read_connection,
    write_connection,
)
from samhandling.store.schema_migrations import upgrade


def slow_statement(connection: Connection) -> None:
    """A statement that runs for about ten seconds (far beyond the timeouts used here)."""
    if connection.dialect.name == "sqlite":
        connection.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 300000000) SELECT count(*) FROM n"
            )
        )
    else:
        connection.execute(text("SELECT pg_sleep(10)"))


@pytest.fixture
def bounded(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, statement_timeout_ms=300)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("connect", [read_connection, write_connection])
def test_a_statement_beyond_the_timeout_is_stopped_with_503(bounded: Engine, connect) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(FhirError) as raised, connect(bounded) as connection:
        slow_statement(connection)
    assert time.monotonic() - started < 5
    assert (raised.value.status, raised.value.issues[0].code) == (503, "too-costly")
    with read_connection(bounded) as connection:  # the pooled connection still works
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_migrations_are_not_bounded(bounded: Engine) -> None:
    upgrade(bounded)  # the schema is current: nothing to do, and no error
    with bounded.connect() as connection, connection.begin():
        from samhandling.store.database import lift_statement_timeout

        lift_statement_timeout(connection)
        if connection.dialect.name == "postgresql":
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "0"


def test_cancel_statement_from_another_thread(database_url: str) -> None:
    engine = make_engine(database_url)  # no timeout: only the cancel stops it
    try:
        started = time.monotonic()
        with pytest.raises(FhirError) as raised, read_connection(engine) as connection:
            threading.Timer(0.3, cancel_statement, (connection,)).start()
            slow_statement(connection)
        assert time.monotonic() - started < 5
        assert raised.value.status == 503
    finally:
        engine.dispose()
