"""An update's statements on PostgreSQL's driver (issue 24: `VersionWriter` runs the
current row's `SELECT … FOR UPDATE` and UPDATE, the index rows' DELETE and the
transaction_log INSERT as prepared statements on psycopg): queued current rows are
inserted before the read as SQLAlchemy's execution did, and the database's errors reach
the caller as SQLAlchemy's, without the statement's values."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from fixtures.queued_rows import versions
from samhandling.store.database import is_sqlite, write_connection
from samhandling.store.index_buffer import IndexBuffer
from samhandling.store.schema import index_token, resource
from samhandling.store.version_writer import VersionWriter

NATIONAL_ID = "05858540072"


def patient(rid: str, family: str, gender: str = "female") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": rid, "gender": gender, "name": [{"family": family}]}


def genders(connection: Any, rid: str) -> list[str]:
    t = index_token.c
    stmt = select(t.code).where(t.resource_id == rid, t.param == "gender")
    return list(connection.execute(stmt).scalars())


def create(engine: Engine, rid: str) -> None:
    with write_connection(engine) as connection:
        VersionWriter(connection).write(
            "Patient", rid, patient(rid, "Ås"), method="create", previous=None
        )


def update(connection: Any, rid: str, gender: str) -> None:
    writer = VersionWriter(connection)
    previous = writer.current("Patient", rid)
    writer.write("Patient", rid, patient(rid, "Ås", gender), method="update", previous=previous)


def test_an_update_finds_the_create_queued_before_it_in_its_transaction(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection, queued_creates=True)
        body = patient("q1", "Ås")
        writer.write("Patient", "q1", body, method="create", previous=None, new_id=True)
        assert IndexBuffer.of(connection).queued(resource) == 1  # not inserted yet
        found = writer.current("Patient", "q1")  # inserts the queued row first
        assert found is not None and found.version_id == 1
        body = patient("q1", "Berg", "male")
        writer.write("Patient", "q1", body, method="update", previous=found)
        assert genders(connection, "q1") == ["male"]
    assert versions(engine, "q1") == ([2], [1, 2])


def test_update_and_delete_replace_the_rows(engine: Engine) -> None:
    create(engine, "u1")
    with write_connection(engine) as connection:
        update(connection, "u1", "male")
        assert genders(connection, "u1") == ["male"]  # the old index row is gone
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        previous = writer.current("Patient", "u1")
        written = writer.write("Patient", "u1", None, method="delete", previous=previous)
        assert written.deleted and written.version_id == 3
        assert genders(connection, "u1") == []
    assert versions(engine, "u1") == ([3], [1, 2, 3])
    with write_connection(engine) as connection:
        found = VersionWriter(connection).current("Patient", "u1")
        assert found is not None and found.deleted and found.content is None


def test_a_lock_error_is_sqlalchemys_and_hides_the_values(engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("SQLite locks the database, not a row (BEGIN IMMEDIATE)")
    create(engine, NATIONAL_ID)
    with write_connection(engine) as holder:
        VersionWriter(holder).current("Patient", NATIONAL_ID)  # holds the row's lock
        with pytest.raises(OperationalError) as failed, write_connection(engine) as waiter:
            waiter.execute(text("SET LOCAL lock_timeout = '50ms'"))
            update(waiter, NATIONAL_ID, "male")
    assert getattr(failed.value.orig, "sqlstate", None) == "55P03"  # lock_not_available
    assert NATIONAL_ID not in str(failed.value)
    with write_connection(engine) as connection:  # the pool's connection still works
        update(connection, NATIONAL_ID, "male")
    assert versions(engine, NATIONAL_ID) == ([2], [1, 2])


def test_a_serialization_failure_is_sqlalchemys_and_rolls_back(engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE")
    create(engine, NATIONAL_ID)
    with pytest.raises(DBAPIError) as failed, write_connection(engine) as late:
        late.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        late.execute(text("SELECT 1"))  # its snapshot, taken before the other update
        with write_connection(engine) as other:
            update(other, NATIONAL_ID, "male")
        update(late, NATIONAL_ID, "other")
    assert getattr(failed.value.orig, "sqlstate", None) == "40001"  # batch.py retries it
    assert NATIONAL_ID not in str(failed.value)
    assert versions(engine, NATIONAL_ID) == ([2], [1, 2])
