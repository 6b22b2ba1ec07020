"""A write transaction's BEGIN goes with its first statement on PostgreSQL (issue 24:
`loop_statements.DriverStatement` sends both in one round trip in libpq's pipeline mode,
where psycopg would send BEGIN alone and wait for it): the write is still one transaction,
a first statement that fails rolls it back cleanly and answers as before, and writes go
on after a rollback on the same connection (psycopg then deallocates every prepared
statement of the connection)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, func, select

from fixtures.queued_rows import versions
from samhandling.fhir.outcome import FhirError
from samhandling.interactions import crud
from samhandling.store.database import make_engine, read_connection, write_connection
from samhandling.store.schema import transaction_log
from samhandling.store.version_writer import VersionWriter


def _patient(rid: str, gender: str = "female") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": rid, "gender": gender}


def _put(writer: VersionWriter, rid: str, gender: str = "female") -> crud.WriteResult:
    """Update, or create at the client's id (update-as-create)."""
    return crud.update(writer, "Patient", rid, _patient(rid, gender))


@pytest.fixture
def postgres(engine: Engine) -> Engine:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's BEGIN is in the process (no round trip)")
    return engine


@pytest.fixture
def begins(postgres: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """The BEGINs psycopg sends by itself (alone, waiting for the answer) once the engine
    has connected (SQLAlchemy's first connect asks the server's version in a transaction)."""
    _transactions(postgres)
    sent: list[bytes] = []
    original = psycopg.Connection._exec_command

    def counted(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(command, bytes) and command.startswith(b"BEGIN"):
            sent.append(command)
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "_exec_command", counted)
    yield sent


def _transactions(engine: Engine) -> int:
    with read_connection(engine) as connection:
        return int(connection.execute(select(func.count()).select_from(transaction_log)).scalar())


def test_a_create_and_an_update_send_no_begin_of_their_own(
    postgres: Engine, begins: list[bytes]
) -> None:
    with write_connection(postgres) as connection:
        crud.create(VersionWriter(connection), _patient("b0"), resource_type="Patient")
    with write_connection(postgres) as connection:
        _put(VersionWriter(connection), "b1")
    with write_connection(postgres) as connection:
        _put(VersionWriter(connection), "b1", "male")
    assert begins == []
    assert versions(postgres, "b1") == ([2], [1, 2])


def test_a_write_that_fails_after_its_first_statement_leaves_nothing(postgres: Engine) -> None:
    before = _transactions(postgres)
    with pytest.raises(RuntimeError), write_connection(postgres) as connection:
        writer = VersionWriter(connection)
        _put(writer, "b2")
        assert writer.tx_id > 0  # the first statement ran, with its BEGIN
        raise RuntimeError("the request fails")
    assert _transactions(postgres) == before  # the transaction_log row rolled back too
    assert versions(postgres, "b2") == ([], [])


def test_a_first_statement_that_fails_rolls_back_and_answers_503(postgres: Engine) -> None:
    with write_connection(postgres) as connection:
        _put(VersionWriter(connection), "b3")
    limited = make_engine(
        postgres.url.render_as_string(hide_password=False), statement_timeout_ms=100
    )
    try:
        with write_connection(postgres) as holder:
            VersionWriter(holder).current("Patient", "b3")  # holds the row's lock
            with pytest.raises(FhirError) as stopped, write_connection(limited) as waiter:
                _put(VersionWriter(waiter), "b3", "male")
        assert stopped.value.status == 503
        with write_connection(limited) as connection:  # the pool's connection works on
            _put(VersionWriter(connection), "b3", "male")
    finally:
        limited.dispose()
    assert versions(postgres, "b3") == ([2], [1, 2])


def test_writes_go_on_after_a_rolled_back_write_on_the_same_connection(
    postgres: Engine,
) -> None:
    with write_connection(postgres) as connection:
        _put(VersionWriter(connection), "b5")  # psycopg prepares the later statements
    for _ in range(2):
        with pytest.raises(FhirError) as stale, write_connection(postgres) as connection:
            writer = VersionWriter(connection)
            crud.update(writer, "Patient", "b5", _patient("b5", "male"), if_match=9)
        assert stale.value.status == 412  # rolled back after its first statement
        with write_connection(postgres) as connection:
            _put(VersionWriter(connection), "b5", "male")
    assert versions(postgres, "b5") == ([3], [1, 2, 3])


def test_writes_on_new_connections(postgres: Engine) -> None:
    url = postgres.url.render_as_string(hide_password=False)
    for turn in range(3):  # each turn a new engine: new connections, prepared again
        fresh = make_engine(url)
        try:
            for write in range(2):
                with write_connection(fresh) as connection:
                    rid = f"b4-{turn}-{write}"
                    _put(VersionWriter(connection), rid)
        finally:
            fresh.dispose()
    assert versions(postgres, "b4-2-1") == ([1], [1])
