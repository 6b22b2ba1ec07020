"""Appending audit records to the trail (unsealed; `chain.seal_pending` chains them)."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from sqlalchemy import Connection, insert

from samhandling.audit.events import audit_event
from samhandling.audit.records import AuditRecord
from samhandling.store.audit_tables import audit_event as audit_event_table
from samhandling.store.audit_tables import audit_patient


def append(connection: Connection, records: Iterable[AuditRecord]) -> int:
    """Insert the records in the caller's transaction; returns how many."""
    count = 0
    for record in records:
        event_id = connection.execute(
            insert(audit_event_table)
            .values(**event_row(record))
            .returning(audit_event_table.c.event_id)
        ).scalar_one()
        if record.patients:
            connection.execute(
                insert(audit_patient),
                [{"event_id": event_id, "patient_id": p} for p in sorted(record.patients)],
            )
        count += 1
    return count


def event_row(record: AuditRecord) -> dict[str, object]:
    """The audit_event columns of a record: the AuditEvent JSON and its searchable parts."""
    agent = record.agent
    return {
        "recorded_at_us": record.recorded_at_us,
        "interaction": record.interaction[:60],
        "action": record.action,
        "outcome": record.outcome,
        "http_status": record.http_status,
        "agent_kind": agent.get("kind"),
        "agent_hpr": agent.get("hpr_number"),
        "agent_org": agent.get("organisation") or agent.get("point_of_care"),
        "purpose_of_use": agent.get("purpose_of_use"),
        "emergency": record.emergency,
        "content": orjson.dumps(audit_event(record)),
    }
