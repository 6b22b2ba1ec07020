"""The hot path's connections (issue 24): a read by id without BEGIN/COMMIT on PostgreSQL,
no ping before every transaction, and a dead pooled connection survived by a read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg import pq
from sqlalchemy import Connection, Engine, text

from samhandling.store import database
from samhandling.store.database import make_engine, run_read, statement_connection


@pytest.fixture
def postgres(postgres_database_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_database_url, pool_size=1)
    yield engine
    engine.dispose()


def _status(connection: Connection) -> pq.TransactionStatus:
    raw = connection.connection.dbapi_connection
    assert raw is not None
    return pq.TransactionStatus(raw.info.transaction_status)


def test_a_statement_connection_opens_no_transaction_on_postgresql(postgres: Engine) -> None:
    with statement_connection(postgres) as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
        assert _status(connection) == pq.TransactionStatus.IDLE  # no BEGIN was sent
    with database.read_connection(postgres) as connection:
        connection.execute(text("SELECT 1"))
        assert _status(connection) == pq.TransactionStatus.INTRANS  # a snapshot: BEGIN


def test_reads_work_on_both_engines_with_and_without_a_snapshot(engine: Engine) -> None:
    for snapshot in (True, False):
        found = run_read(
            engine, lambda c: c.execute(text("SELECT 41 + 1")).scalar(), snapshot=snapshot
        )
        assert found == 42


def _kill_pooled_connection(engine: Engine) -> int:
    """Terminate the backend of the one pooled connection (as a database restart would)."""
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with admin.begin() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()
    assert isinstance(pid, int)
    return pid


@pytest.mark.parametrize("snapshot", [True, False])
def test_a_read_on_a_dead_pooled_connection_runs_once_more(
    postgres: Engine, monkeypatch: pytest.MonkeyPatch, snapshot: bool
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)  # no ping: meet it dead
    dead = _kill_pooled_connection(postgres)
    calls: list[int] = []

    def action(connection: Connection) -> int | None:
        calls.append(1)
        return connection.execute(text("SELECT pg_backend_pid()")).scalar()

    served_by = run_read(postgres, action, snapshot=snapshot)
    assert len(calls) == 2  # the first attempt met the dead connection
    assert served_by != dead


def test_a_connection_idle_in_the_pool_is_pinged_before_use(
    postgres: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout pings
    dead = _kill_pooled_connection(postgres)
    with database.write_connection(postgres) as connection:  # a write: never retried
        served_by = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    assert served_by != dead
