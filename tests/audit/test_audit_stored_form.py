"""An audit record is stored as its facts (`audit/stored_form.py`) and read as the same
AuditEvent the trail stored before; rows of both forms share one chain."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from sqlalchemy import Engine, select

from fixtures.audit_records import read_record
from samhandling.audit import trail
from samhandling.audit.access_log import access_log
from samhandling.audit.chain import verify
from samhandling.audit.events import audit_event
from samhandling.audit.queries import AuditSearch, search_audit_events
from samhandling.audit.records import AuditRecord, Destination
from samhandling.audit.storage.tables import audit_event as audit_event_table
from samhandling.audit.stored_form import FORMAT_KEY, event_of, record_of, stored_content
from samhandling.store.database import write_connection

CLINICIAN = {
    "kind": "clinician",
    "issuer": "https://helseid-sts.test.nhn.no",
    "masked_pid": None,
    "hpr_number": "9100001",
    "name": "Kari Lege",
    "organisation": "991000011",
    "point_of_care": "974589095",
    "department": "4001031",
    "organisation_name": "Helse Vest RHF",
    "point_of_care_name": "Haukeland universitetssjukehus",
    "department_name": "Akuttmottak",
    "client_id": "epj-1",
    "client_name": "EPJ",
    "purpose_of_use": "TREAT",
    "healthcare_service": "S03",
    "decision_ref": None,
    "emergency_reason": None,
    "token_id": "t-1",
    "authorization_code": "LE",
}


def every_field() -> AuditRecord:
    """A record with every field of AuditRecord set to something other than its default."""
    return AuditRecord(
        interaction="create",
        http_status=201,
        recorded_at_us=1_765_000_000_123_456,
        agent=dict(CLINICIAN),
        entities=[("DocumentReference", "d1", "2"), ("Binary", "b1", None)],
        patients={"p2", "p1"},
        query="POST /fhir?x=1",
        emergency=True,
        emergency_reason="bevisstløs pasient",
        decision_reason="treatment relation",
        outcome_description="Bundle.entry[1] refused",
        change_reason="feil pasient",
        method="POST",
        path="/fhir",
        source_address="10.0.0.7",
        destinations=[Destination("vest", "https://vest.example/fhir", "200 OK")],
        ihe_transaction="ITI-65",
        submission_set_id="urn:oid:1.2.3",
    )


def test_every_field_is_kept() -> None:
    record = every_field()
    unset = [
        f.name
        for f in dataclasses.fields(AuditRecord)
        if getattr(record, f.name)
        == (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
    ]
    assert unset == []  # a field added to AuditRecord must be set here, and so kept
    kept = record_of(stored_content(record))
    stored_agent = {k: v for k, v in CLINICIAN.items() if v is not None}
    assert kept == dataclasses.replace(record, agent=stored_agent)


@pytest.mark.parametrize(
    "record",
    [
        read_record(1),
        every_field(),
        AuditRecord("search", 200, 1_765_000_000_000_000, query="GET /fhir/Observation?code=x"),
        AuditRecord("read", 401, 1_765_000_000_000_000, source_address="127.0.0.1"),
        AuditRecord("operation:block", 200, 1, agent=dict(CLINICIAN), patients={"p"}),
    ],
)
def test_read_back_as_the_same_audit_event(record: AuditRecord) -> None:
    stored = stored_content(record)
    assert orjson.loads(stored)[FORMAT_KEY] == 1
    assert event_of(stored) == audit_event(record)


def test_a_stored_record_is_a_third_of_its_audit_event() -> None:
    record = AuditRecord(
        "read",
        200,
        1_765_000_000_000_000,
        agent=dict(CLINICIAN),
        entities=[("Observation", "0193ab12-3456-7890-abcd-ef0123456789", "3")],
        patients={"0193ab12-3456-7890-abcd-ef0123456780"},
        decision_reason="treatment relation",
    )
    assert len(stored_content(record)) * 2.5 < len(orjson.dumps(audit_event(record)))


def test_a_row_of_the_earlier_form_is_read_as_stored() -> None:
    event = audit_event(read_record(3))
    assert record_of(orjson.dumps(event)) is None
    assert event_of(orjson.dumps(event)) == event


@pytest.mark.parametrize(
    "form",
    [
        {FORMAT_KEY: 2, "interaction": "read", "http_status": 200, "recorded_at_us": 1},
        {FORMAT_KEY: 1, "interaction": "read", "http_status": 200, "recorded_at_us": 1,
         "agent": {}, "witness": "a field this version does not have"},
    ],
)  # fmt: skip
def test_an_unknown_format_is_refused(form: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="format"):
        event_of(orjson.dumps(form))


def test_both_forms_share_one_chain_and_one_search(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written before the stored form and after it: the chain verifies across them,
    the trail's search and the access log read both, and a change to either breaks it."""
    earlier = [read_record(i) for i in range(3)]
    with monkeypatch.context() as patched:
        patched.setattr(trail, "stored_content", lambda r: orjson.dumps(audit_event(r)))
        with write_connection(engine) as connection:
            trail.append(connection, earlier)
    later = [read_record(i) for i in range(3, 6)]
    with write_connection(engine) as connection:
        trail.append(connection, later)
    report = verify(engine)
    assert report.ok and report.checked == 6
    with engine.connect() as connection:
        contents = connection.execute(
            select(audit_event_table.c.content).order_by(audit_event_table.c.event_id)
        ).scalars()
        forms = [record_of(c) is not None for c in contents]
        assert forms == [False] * 3 + [True] * 3
        page = search_audit_events(connection, AuditSearch(count=10, oldest_first=True))
        log, _ = access_log(connection, AuditSearch(patient="p0", others_only=True))
    shown = [{k: v for k, v in e.items() if k != "id"} for e in page.events]
    assert shown == [audit_event(r) for r in earlier + later]
    assert len(log["parameter"]) == 2  # p0's: records 0 and 3, one of each form
    for position in (5, 2):  # a record of the stored form, then one of the earlier form
        with write_connection(engine) as connection:
            at = audit_event_table.c.chain_pos == position
            content = connection.execute(select(audit_event_table.c.content).where(at)).scalar()
            altered = content.replace(b"9100001", b"9100002")
            connection.execute(audit_event_table.update().where(at).values(content=altered))
        assert verify(engine).broken_at == position
