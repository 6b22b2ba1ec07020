"""Reading the audit trail: security officers' search, the citizen's access log, reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Select, func, select

from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.outcome import FhirError, error
from samhandling.store.audit_tables import audit_event, audit_patient
from samhandling.store.index_rows import date_to_us

SEARCH_PARAMETERS = frozenset(
    {"patient", "agent", "date", "purpose", "outcome", "emergency", "_count", "_id"}
)


@dataclass(frozen=True)
class AuditSearch:
    """Filters of an AuditEvent search (all optional, AND-ed)."""

    patient: str | None = None
    agent: str | None = None  # HPR number (or org number)
    date_ranges: tuple[tuple[str, int], ...] = ()  # (prefix, bound) pairs
    purpose: str | None = None
    outcome: str | None = None
    emergency: bool | None = None
    event_id: int | None = None
    count: int = 50


def parse_audit_search(items: list[tuple[str, str]]) -> AuditSearch:
    """AuditEvent search parameters; anything else is a 400 (never silently ignored)."""
    values: dict[str, Any] = {}
    dates: list[tuple[str, int]] = []
    for name, value in items:
        if name not in SEARCH_PARAMETERS:
            message = f"Unknown search parameter '{name}' for AuditEvent"
            raise FhirError(400, error("not-supported", message, name))
        if name == "date":
            dates.append(_date_bound(value))
        else:
            values[name] = value
    return AuditSearch(
        patient=values.get("patient", "").removeprefix("Patient/") or None,
        agent=values.get("agent", "").rsplit("|", 1)[-1] or None,
        date_ranges=tuple(dates),
        purpose=values.get("purpose", "").rsplit("|", 1)[-1] or None,
        outcome=values.get("outcome"),
        emergency=None if "emergency" not in values else values["emergency"] == "true",
        event_id=int(values["_id"]) if values.get("_id", "").isdigit() else None,
        count=min(int(values.get("_count", "50") or 50), 1000),
    )


def _date_bound(value: str) -> tuple[str, int]:
    prefix, text = (
        (value[:2], value[2:]) if value[:2] in ("ge", "le", "gt", "lt") else ("eq", value)
    )
    try:
        low, high = parse_date_range(text)
    except ValueError as exc:
        raise FhirError(400, error("invalid", f"Invalid date {value!r}: {exc}", "date")) from exc
    return prefix, date_to_us(low if prefix in ("ge", "gt", "eq") else high)


def search_audit_events(connection: Connection, search: AuditSearch) -> list[dict[str, Any]]:
    """Matching AuditEvents, newest first, with their ids (which are not in time order)."""
    c = audit_event.c
    stmt = _filtered(select(audit_event), search).order_by(
        c.recorded_at_us.desc(), c.event_id.desc()
    )
    rows = connection.execute(stmt.limit(search.count)).mappings()
    return [_resource(row) for row in rows]


def _filtered(stmt: Select[Any], search: AuditSearch) -> Select[Any]:
    c = audit_event.c
    if search.patient:
        stmt = stmt.where(
            c.event_id.in_(
                select(audit_patient.c.event_id).where(audit_patient.c.patient_id == search.patient)
            )
        )
    if search.agent:
        stmt = stmt.where((c.agent_hpr == search.agent) | (c.agent_org == search.agent))
    for prefix, bound in search.date_ranges:
        column = c.recorded_at_us
        stmt = stmt.where(column >= bound if prefix in ("ge", "gt", "eq") else column < bound)
    if search.purpose:
        stmt = stmt.where(c.purpose_of_use == search.purpose)
    if search.outcome:
        stmt = stmt.where(c.outcome == search.outcome)
    if search.emergency is not None:
        stmt = stmt.where(c.emergency.is_(search.emergency))
    if search.event_id is not None:
        stmt = stmt.where(c.event_id == search.event_id)
    return stmt


def _resource(row: Any) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(row["content"])
    event["id"] = str(row["event_id"])
    return event


def emergency_report(connection: Connection, low_us: int, high_us: int) -> list[dict[str, Any]]:
    """Emergency accesses per organisation in [low, high): count, first and last time."""
    c = audit_event.c
    rows = connection.execute(
        select(
            c.agent_org,
            func.count().label("count"),
            func.min(c.recorded_at_us).label("first"),
            func.max(c.recorded_at_us).label("last"),
        )
        .where(c.emergency.is_(True), c.recorded_at_us >= low_us, c.recorded_at_us < high_us)
        .group_by(c.agent_org)
        .order_by(c.agent_org)
    ).mappings()
    return [dict(row) for row in rows]
