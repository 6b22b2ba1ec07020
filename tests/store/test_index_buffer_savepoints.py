"""The bulk buffer under savepoints (a batch Bundle's entries): a savepoint rolled back
takes its queued rows with it and leaves those queued before it, also when a read inside
it had already inserted them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from samhandling.store.database import savepoint, write_connection
from samhandling.store.index_buffer import IndexBuffer
from samhandling.store.schema import index_token, resource
from samhandling.store.version_writer import VersionWriter
from store.test_index_buffer import count, patient, queued


class Refused(Exception):
    pass


def write(writer: VersionWriter, rid: str) -> None:
    writer.write("Patient", rid, patient(rid, "Li"), method="create", previous=None)


def test_a_rolled_back_savepoint_drops_its_rows_and_keeps_the_earlier(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        _ = writer.tx_id
        write(writer, "kept")
        before = queued(connection, index_token)
        with pytest.raises(Refused), savepoint(connection):
            write(writer, "gone")
            assert queued(connection, index_token) > before
            raise Refused
        assert queued(connection, index_token) == before
        with savepoint(connection):
            write(writer, "later")
    assert count(engine, index_token, "kept") > 0 and count(engine, index_token, "later") > 0
    assert count(engine, index_token, "gone") == 0 and count(engine, resource, "gone") == 0


def test_rows_a_read_inserted_inside_a_rolled_back_savepoint_are_queued_again(
    engine: Engine,
) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        _ = writer.tx_id
        write(writer, "early")
        with pytest.raises(Refused), savepoint(connection):
            connection.execute(select(func.count()).select_from(index_token))  # flushes
            assert queued(connection, index_token) == 0
            raise Refused
        assert queued(connection, index_token) > 0
    assert count(engine, index_token, "early") > 0


def test_the_savepoint_statements_insert_nothing_queued(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        _ = writer.tx_id
        write(writer, "q")
        before = queued(connection, index_token)
        with savepoint(connection):
            pass
        assert queued(connection, index_token) == before > 0


def test_a_buffer_begun_inside_a_rolled_back_savepoint_is_emptied(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        _ = writer.tx_id
        with pytest.raises(Refused), savepoint(connection):
            write(writer, "first")
            raise Refused
        assert not any(IndexBuffer.of(connection)._rows.values())
    assert count(engine, index_token, "first") == 0
