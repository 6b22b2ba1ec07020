"""The version writer's bulk buffer: rows are visible to every later statement of the
transaction, committed with it, dropped with a rollback, and never stale."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from samhandling.store.database import read_connection, write_connection
from samhandling.store.index_buffer import IndexBuffer
from samhandling.store.schema import SHARDLESS, index_token, outbox, resource, resource_version
from samhandling.store.version_writer import VersionWriter


def patient(rid: str, family: str, gender: str = "female") -> dict:
    return {"resourceType": "Patient", "id": rid, "gender": gender, "name": [{"family": family}]}


def genders(connection, rid: str) -> list[str]:  # type: ignore[no-untyped-def]
    t = index_token.c
    stmt = select(t.code).where(t.resource_id == rid, t.param == "gender")
    return list(connection.execute(stmt).scalars())


def count(engine: Engine, table, rid: str) -> int:  # type: ignore[no-untyped-def]
    with read_connection(engine) as connection:
        stmt = select(func.count()).select_from(table).where(table.c.resource_id == rid)
        return int(connection.execute(stmt).scalar_one())


def test_a_later_statement_of_the_transaction_sees_the_rows(engine: Engine) -> None:
    with write_connection(engine) as connection:
        VersionWriter(connection).write(
            "Patient", "a", patient("a", "Ås"), method="create", previous=None
        )
        assert genders(connection, "a") == ["female"]  # flushed before this SELECT
    assert count(engine, resource_version, "a") == 1 and count(engine, outbox, "a") == 1


def test_writing_a_resource_twice_keeps_only_the_new_rows(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        first = writer.write("Patient", "b", patient("b", "Berg"), method="create", previous=None)
        writer.write("Patient", "b", patient("b", "Berg", "male"), method="update", previous=first)
    with read_connection(engine) as connection:
        assert genders(connection, "b") == ["male"]
    assert count(engine, resource_version, "b") == 2 and count(engine, outbox, "b") == 2


def test_a_rollback_drops_the_queue_and_the_next_transaction_is_clean(engine: Engine) -> None:
    with engine.connect() as connection:
        with pytest.raises(RuntimeError), connection.begin():
            VersionWriter(connection).write(
                "Patient", "c", patient("c", "Dal"), method="create", previous=None
            )
            raise RuntimeError("the request failed")
        with connection.begin():
            VersionWriter(connection).write(
                "Patient", "d", patient("d", "Eik"), method="create", previous=None
            )
    assert count(engine, index_token, "c") == 0 and count(engine, resource_version, "c") == 0
    assert count(engine, resource_version, "d") == 1


def test_a_finished_transaction_s_buffer_refuses_rows(engine: Engine) -> None:
    with write_connection(engine) as connection:
        buffer = IndexBuffer.of(connection)
    with pytest.raises(RuntimeError):
        buffer.add(index_token, ("Patient", "x"), [{"resource_type": "Patient"}])


def queued(connection, table) -> int:  # type: ignore[no-untyped-def]
    return IndexBuffer.of(connection).queued(table)


def test_reading_a_current_row_to_update_it_leaves_the_index_rows_queued(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        writer.write("Patient", "e", patient("e", "Fjell"), method="create", previous=None)
        assert queued(connection, index_token) > 0
        current = writer.current("Patient", "e")
        assert current is not None and current.version_id == 1
        assert queued(connection, index_token) > 0  # no flush for the current row
        writer.write(
            "Patient", "e", patient("e", "Fjell", "male"), method="update", previous=current
        )
        assert genders(connection, "e") == ["male"]  # a plain SELECT flushes, the stale rows gone
    assert count(engine, resource_version, "e") == 2


def test_current_many_reads_and_locks_several_current_rows(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        for rid in ("g", "h"):
            writer.write("Patient", rid, patient(rid, "Haug"), method="create", previous=None)
        found = writer.current_many("Patient", ["h", "g", "missing", "g"])
    assert sorted(found) == ["g", "h"]
    assert all(v.version_id == 1 and not v.deleted for v in found.values())


def test_a_bulk_load_queues_current_rows_and_still_sees_them(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection, bulk_creates=True)
        first = writer.write("Patient", "i", patient("i", "Li"), method="create", previous=None)
        assert queued(connection, resource) == 1
        current = writer.current("Patient", "i")  # inserts the queued current rows first
        assert current is not None and current.version_id == first.version_id
        assert queued(connection, resource) == 0 and queued(connection, index_token) > 0
        writer.write("Patient", "i", patient("i", "Li", "male"), method="update", previous=current)
    with read_connection(engine) as connection:
        assert genders(connection, "i") == ["male"]
    assert count(engine, resource, "i") == 1 and count(engine, resource_version, "i") == 2


def test_a_bulk_load_of_an_id_someone_else_created_fails_whole(engine: Engine) -> None:
    with write_connection(engine) as connection:
        VersionWriter(connection).write(
            "Patient", "j", patient("j", "Mo"), method="create", previous=None
        )
    # the driver's unique violation at the COPY (PostgreSQL) or SQLAlchemy's (SQLite)
    with pytest.raises(Exception, match=r"(?i)unique"), write_connection(engine) as connection:
        writer = VersionWriter(connection, bulk_creates=True)
        writer.write("Patient", "k", patient("k", "Ness"), method="create", previous=None)
        writer.write("Patient", "j", patient("j", "Mo"), method="create", previous=None)
    assert count(engine, resource, "k") == 0 and count(engine, resource_version, "k") == 0


@pytest.mark.parametrize("how_many", [3, 250])  # one statement; COPY (over 200 rows)
def test_rows_lacking_a_column_insert_it_as_null(engine: Engine, how_many: int) -> None:
    base = {"resource_type": "Patient", "resource_id": "q", "shard_key": SHARDLESS}
    rows = [
        {**base, "param": f"p{i}", "code": f"c{i}", **({"text": "t"} if i % 2 else {})}
        for i in range(how_many)
    ]
    with write_connection(engine) as connection:
        IndexBuffer.of(connection).add(index_token, ("Patient", "q"), rows)
    with read_connection(engine) as connection:
        t = index_token.c
        found = connection.execute(
            select(t.param, t.code, t.text, t.system).where(t.resource_id == "q")
        ).all()
    assert sorted(found) == sorted(
        (f"p{i}", f"c{i}", "t" if i % 2 else None, None) for i in range(how_many)
    )


def test_the_writer_s_buffer_is_its_transaction_s_and_never_a_finished_one(engine: Engine) -> None:
    """The writer keeps the buffer it asked for while its transaction lasts; once that is
    over it asks again (a finished transaction's buffer refuses rows)."""
    with engine.connect() as connection:
        with connection.begin():
            writer = VersionWriter(connection)
            first = writer.buffer
            assert first is IndexBuffer.of(connection) and writer.buffer is first
        assert first.closed
        with connection.begin():
            second = writer.buffer
            assert second is not first and not second.closed
            assert second is IndexBuffer.of(connection)
