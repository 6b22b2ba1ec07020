"""The request journal commits on a connection of its own; it survives losing it."""

from __future__ import annotations

import time

import orjson
import pytest
from sqlalchemy import Engine, func, select, text
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.audit.chain import VerifyReport, verify
from samhandling.audit.records import AuditRecord
from samhandling.audit.trail import commit
from samhandling.store.audit_tables import audit_event
from samhandling.store.audit_writes import ChainWriter


def _reads(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(audit_event)
        return int(connection.execute(query.where(audit_event.c.interaction == "read")).scalar())


def test_journal_replaces_a_connection_the_database_dropped(
    client: TestClient, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the journal keeps a connection of its own on PostgreSQL only")
    body = orjson.dumps({"resourceType": "Patient", "gender": "female"})
    created = client.post("/fhir/Patient", content=body, headers=FHIR_JSON).json()
    assert client.get(f"/fhir/Patient/{created['id']}").status_code == 200
    with engine.connect() as connection:  # as a database restart would: every session ends
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert client.get(f"/fhir/Patient/{created['id']}").status_code == 200
    assert _reads(engine) == 2
    report = _linked(engine)
    assert report.ok and report.checked == 3


def test_writes_alone_are_linked_soon(client: TestClient, engine: Engine) -> None:
    """No read comes: the write's nudge makes the journal link its row by itself."""
    body = orjson.dumps({"resourceType": "Patient", "gender": "male"})
    for _ in range(3):
        assert client.post("/fhir/Patient", content=body, headers=FHIR_JSON).status_code == 201
    report = _linked(engine)
    assert report.ok and report.checked == 3 and report.unsealed == 0


def _linked(engine: Engine) -> VerifyReport:
    """The report once the journal has linked what writes left waiting (within 0.2 s)."""
    deadline = time.monotonic() + 10
    while verify(engine).unsealed and time.monotonic() < deadline:
        time.sleep(0.05)
    return verify(engine)


def test_journals_of_two_processes_take_turns(engine: Engine) -> None:
    """A journal links after the head its last batch left unless another came in between."""
    first, second = ChainWriter(engine), ChainWriter(engine)
    try:
        for i in range(4):
            commit(first, [_record(i), _record(i + 100)], link_waiting=False)
            if i % 2:
                commit(second, [_record(i + 200)], link_waiting=False)
    finally:
        first.close()
        second.close()
    report = verify(engine)
    assert report.ok and report.checked == 4 * 2 + 2


def _record(i: int) -> AuditRecord:
    return AuditRecord(
        interaction="read",
        http_status=200,
        recorded_at_us=1_700_000_000_000_000 + i,
        agent={"kind": "system"},
        patients={f"p{i % 3}"},
    )
