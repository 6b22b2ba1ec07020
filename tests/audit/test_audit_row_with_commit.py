"""A single write's audit row goes to PostgreSQL in the exchange of the write's own rows
(`store.index_buffer.send_with_commit`, `store.rows_in_one`): one round trip at commit
instead of two, and all or nothing with them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from fixtures.audit_records import read_record
from samhandling.access_guard import OPEN_ACCESS
from samhandling.audit.chain import verify
from samhandling.audit.trail import append, append_at_commit
from samhandling.store import index_buffer, rows_in_one
from samhandling.store.database import make_engine, savepoint, write_connection
from samhandling.store.index_buffer import IndexBuffer, send_with_commit
from samhandling.store.schema_migrations import upgrade
from samhandling.store.version_writer import VersionWriter

Sent = list[tuple[list[str], list[str]]]  # per exchange: the tables, the statements' SQL


@pytest.fixture
def engine(emptied_postgres: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(emptied_postgres())
    yield engine
    engine.dispose()


@pytest.fixture
def exchanges(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """What each exchange of the commit's rows carried (the real function still runs)."""
    sent: Sent = []
    real = rows_in_one.send_in_one

    def recording(connection: Any, tables: Any, statements: Any) -> None:
        sent.append(([name for name, _, _ in tables], [sql for sql, _ in statements]))
        real(connection, tables, statements)

    monkeypatch.setattr(index_buffer, "send_in_one", recording)
    return sent


def _write(engine: Engine, resource_id: str, record: int) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection, OPEN_ACCESS, (), queued_creates=True)
        body = {"resourceType": "Basic", "code": {"text": "x"}}
        writer.write("Basic", resource_id, body, method="create", previous=None, new_id=True)
        append_at_commit(connection, read_record(record))  # as the guard records the write


def _audit_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one())


def test_the_audit_row_goes_in_the_exchange_of_the_writes_rows(
    engine: Engine, exchanges: Sent
) -> None:
    _write(engine, "b1", 1)
    assert len(exchanges) == 1
    tables, statements = exchanges[0]
    assert {"resource", "resource_version"} <= set(tables)
    assert len(statements) == 1 and statements[0].startswith(
        "WITH events AS (INSERT INTO audit_event"
    )
    assert _audit_rows(engine) == 1
    with write_connection(engine) as connection:  # a chained batch links it
        append(connection, [read_record(2)])
    report = verify(engine)
    assert report.ok and report.checked == 2 and report.unsealed == 0


def test_a_refused_row_takes_the_audit_row_with_it(engine: Engine, exchanges: Sent) -> None:
    _write(engine, "same", 1)
    with pytest.raises(IntegrityError):  # the queued current row meets the first one's
        _write(engine, "same", 2)
    assert len(exchanges) == 2 and exchanges[1][1]  # it was sent with them, and refused
    assert _audit_rows(engine) == 1
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT count(*) FROM resource_version")).scalar()
    assert versions == 1


def test_with_no_rows_queued_the_audit_row_goes_alone(engine: Engine, exchanges: Sent) -> None:
    with write_connection(engine) as connection:
        append_at_commit(connection, read_record(1))
    assert exchanges == []  # no buffer: the audit trail sent it itself
    assert _audit_rows(engine) == 1


def test_a_rolled_back_savepoint_forgets_the_statements_queued_in_it(engine: Engine) -> None:
    insert = "INSERT INTO transaction_log (committed_at_us) VALUES ($1)"
    with write_connection(engine) as connection:
        IndexBuffer.of(connection)
        assert send_with_commit(connection, insert, [1])
        with pytest.raises(ValueError), savepoint(connection):
            assert send_with_commit(connection, insert, [2])
            raise ValueError("rolled back")
    with engine.connect() as connection:
        after = connection.execute(text("SELECT committed_at_us FROM transaction_log")).scalars()
        kept = [value for value in after if value in (1, 2)]
    assert kept == [1]  # the statement queued before the savepoint, not the one inside


def test_sqlite_sends_nothing_with_the_commit(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        upgrade(engine)
        with write_connection(engine) as connection:
            IndexBuffer.of(connection)
            assert not send_with_commit(connection, "SELECT 1", [])
    finally:
        engine.dispose()
