"""Audit records appended at commit inside a savepoint that rolls back go with it; those
appended before it, and after it, are inserted at commit."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from samhandling.audit.records import AuditRecord
from samhandling.audit.storage.tables import audit_event
from samhandling.audit.trail import append_at_commit
from samhandling.store.database import read_connection, savepoint, write_connection


def record(interaction: str) -> AuditRecord:
    return AuditRecord(interaction=interaction, http_status=201, recorded_at_us=1)


def interactions(engine: Engine) -> list[str]:
    with read_connection(engine) as connection:
        stmt = select(audit_event.c.interaction).order_by(audit_event.c.event_id)
        return list(connection.execute(stmt).scalars())


def test_a_rolled_back_savepoint_takes_its_audit_records_with_it(engine: Engine) -> None:
    with write_connection(engine) as connection:
        append_at_commit(connection, record("create:before"))
        with pytest.raises(RuntimeError), savepoint(connection):
            append_at_commit(connection, record("create:rolled-back"))
            raise RuntimeError
        with savepoint(connection):
            append_at_commit(connection, record("create:after"))
    assert interactions(engine) == ["create:before", "create:after"]


def test_records_begun_inside_a_rolled_back_savepoint_are_dropped(engine: Engine) -> None:
    with (
        write_connection(engine) as connection,
        pytest.raises(RuntimeError),
        savepoint(connection),
    ):
        append_at_commit(connection, record("create:rolled-back"))
        raise RuntimeError
    with read_connection(engine) as connection:
        assert connection.execute(select(func.count()).select_from(audit_event)).scalar() == 0
