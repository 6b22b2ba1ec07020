"""Reading the audit trail: security officers' search, the citizen's access log, reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, select, tuple_

from samhandling.audit.storage.tables import audit_event, audit_patient
from samhandling.audit.stored_form import event_of
from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.instants import date_to_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.request_limits import database_integer

SEARCH_PARAMETERS = frozenset(
    {"patient", "agent", "date", "purpose", "outcome", "emergency", "_count", "_id", "_after",
     "_sort"}
)  # fmt: skip
SORTS = ("-date", "date")  # by the recorded time: newest first (the default) or oldest first


@dataclass(frozen=True)
class AuditSearch:
    """Filters of an AuditEvent search (all optional, AND-ed)."""

    patient: str | None = None
    agent: str | None = None  # HPR number (or org number)
    date_ranges: tuple[tuple[str, int], ...] = ()  # (">=" or "<", µs) bounds
    purpose: str | None = None
    outcome: str | None = None
    emergency: bool | None = None
    event_id: int | None = None
    count: int = 50
    after: tuple[int, int] | None = None  # (recorded_at_us, event_id) of the previous page's last
    oldest_first: bool = False  # `_sort=date`
    others_only: bool = False  # leave out citizens' looks at their own data (the access log)
    organisation: str | None = None  # the acting legal entity's organisation number


#: a citizen's own actions that their access log keeps: giving and revoking a power of
#: attorney, which decide who else may look (services/identity/power_of_attorney_operations)
KEPT_OWN_ACTIONS = ("operation:grant-power-of-attorney", "operation:revoke-power-of-attorney")


@dataclass(frozen=True)
class AuditPage:
    """One page of a search, newest first, and the `_after` value of the next (None: last)."""

    events: list[dict[str, Any]]
    next_after: str | None


def parse_audit_search(items: list[tuple[str, str]]) -> AuditSearch:
    """AuditEvent search parameters; anything else is a 400 (never silently ignored)."""
    values: dict[str, Any] = {}
    dates: list[tuple[str, int]] = []
    for name, value in items:
        if name not in SEARCH_PARAMETERS:
            message = f"Unknown search parameter '{name}' for AuditEvent"
            raise FhirError(400, error("not-supported", message, name))
        if name == "date":
            dates.extend(date_bounds(value))
        else:
            values[name] = value
    return AuditSearch(
        patient=values.get("patient", "").removeprefix("Patient/") or None,
        agent=values.get("agent", "").rsplit("|", 1)[-1] or None,
        date_ranges=tuple(dates),
        purpose=values.get("purpose", "").rsplit("|", 1)[-1] or None,
        outcome=values.get("outcome"),
        emergency=None if "emergency" not in values else values["emergency"] == "true",
        event_id=_event_id(values["_id"]) if "_id" in values else None,
        count=parse_count(values.get("_count", "50")),
        after=parse_after(values["_after"]) if "_after" in values else None,
        oldest_first=_sort(values.get("_sort", "-date")),
    )


def _sort(value: str) -> bool:
    """True for oldest first; only the recorded time orders the trail (else 400)."""
    if value not in SORTS:
        message = f"AuditEvent can be sorted by {' or '.join(SORTS)} only, not {value!r}"
        raise FhirError(400, error("not-supported", message, "_sort"))
    return value == "date"


def _event_id(value: str) -> int:
    """The id searched for; one that no event can have (-1) if it is not a number."""
    number = database_integer(value)
    return -1 if number is None else number


def parse_count(value: str) -> int:
    number = database_integer(value)
    if number is None:
        raise FhirError(400, error("invalid", f"Invalid _count {value!r}", "_count"))
    return min(number, 1000)


def parse_after(value: str) -> tuple[int, int]:
    """The page cursor this server put in a `next` link."""
    recorded, _, event_id = value.partition(".")
    recorded_us, event = database_integer(recorded), database_integer(event_id)
    if recorded_us is None or event is None:
        raise FhirError(400, error("invalid", f"Invalid _after {value!r}", "_after"))
    return recorded_us, event


def date_bounds(value: str) -> tuple[tuple[str, int], ...]:
    """The (">=" or "<", µs) bounds of a date parameter on the recorded instant. The value
    is a range (a day, a month, …; R4 §3.1.1.5.6): eq is inside it, ge from its start, gt
    after its end, le up to its end, lt before its start."""
    prefix, text = (
        (value[:2], value[2:]) if value[:2] in ("ge", "le", "gt", "lt", "eq") else ("eq", value)
    )
    try:
        low, high = (date_to_us(bound) for bound in parse_date_range(text))
    except ValueError as exc:
        raise FhirError(400, error("invalid", f"Invalid date {value!r}: {exc}", "date")) from exc
    return {
        "eq": ((">=", low), ("<", high)),
        "ge": ((">=", low),),
        "gt": ((">=", high),),
        "le": (("<", high),),
        "lt": (("<", low),),
    }[prefix]


def search_audit_events(connection: Connection, search: AuditSearch) -> AuditPage:
    """A page of matching AuditEvents, newest first (oldest with `_sort=date`), with their
    ids (which are not in time order); pages follow each other by (recorded time, id),
    stable while events come in."""
    rows, next_after = audit_rows(connection, search)
    return AuditPage([_resource(row) for row in rows], next_after)


def audit_rows(connection: Connection, search: AuditSearch) -> tuple[list[Any], str | None]:
    """A page of matching `audit_event` rows and the `_after` value of the next page."""
    c = audit_event.c
    stmt = _filtered(select(audit_event), search)
    if search.oldest_first:
        stmt = stmt.order_by(c.recorded_at_us, c.event_id)
    else:
        stmt = stmt.order_by(c.recorded_at_us.desc(), c.event_id.desc())
    if search.after is not None:
        recorded, event_id = search.after
        if search.oldest_first:
            stmt = stmt.where(tuple_(c.recorded_at_us, c.event_id) > tuple_(recorded, event_id))
        else:
            stmt = stmt.where(tuple_(c.recorded_at_us, c.event_id) < tuple_(recorded, event_id))
    rows = list(connection.execute(stmt.limit(search.count + 1)).mappings())
    page = rows[: search.count]
    more = len(rows) > search.count and bool(page)
    next_after = f"{page[-1]['recorded_at_us']}.{page[-1]['event_id']}" if more else None
    return page, next_after


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
    for comparison, bound in search.date_ranges:
        column = c.recorded_at_us
        stmt = stmt.where(column >= bound if comparison == ">=" else column < bound)
    if search.purpose:
        stmt = stmt.where(c.purpose_of_use == search.purpose)
    if search.outcome:
        stmt = stmt.where(c.outcome == search.outcome)
    if search.emergency is not None:
        stmt = stmt.where(c.emergency.is_(search.emergency))
    if search.event_id is not None:
        stmt = stmt.where(c.event_id == search.event_id)
    if search.organisation:
        stmt = stmt.where(c.agent_org == search.organisation)
    if search.others_only:
        # a citizen acting for someone else is recorded as kind "representative": kept;
        # so are the citizen's own changes to who may act for them (powers of attorney)
        stmt = stmt.where(
            c.agent_kind.is_(None)
            | (c.agent_kind != "citizen")
            | c.interaction.in_(KEPT_OWN_ACTIONS)
        )
    return stmt


def _resource(row: Any) -> dict[str, Any]:
    event = event_of(row["content"])
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
