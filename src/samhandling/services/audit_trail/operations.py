"""`Patient/{id}/$access-log` (who looked at my record) and `AuditEvent/$emergency-report`
(emergency accesses per organisation). Who may call them is the policy's rule: the access
log follows the read of the Patient; the report, like all of the audit trail, needs a
scope naming AuditEvent (`auth.policy_rules.audit_trail_refusal`)."""

from __future__ import annotations

from urllib.parse import urlencode

from samhandling.audit.access_log import access_log, parse_access_log
from samhandling.audit.queries import emergency_report
from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.instants import MAX_US, date_to_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import read
from samhandling.interactions.operations import Operation, OperationContext, OperationResult


def access_log_operation(context: OperationContext) -> OperationResult:
    """The accesses to one patient's record, newest first, paged by `_after`."""
    patient_id = context.resource_id or ""
    read.read(context.connection, "Patient", patient_id, context.guard)  # may the caller?
    search = parse_access_log(patient_id, context.parameters)
    log, next_after = access_log(context.connection, search)
    if next_after is not None:
        kept = [(k, str(v)) for k, vs in context.parameters.items() if k != "_after" for v in vs]
        if "_count" not in context.parameters:
            kept.append(("_count", str(search.count)))
        query = urlencode([*kept, ("_after", next_after)])
        url = f"{context.base_url}/Patient/{patient_id}/$access-log?{query}"
        log["parameter"].append({"name": "next", "valueUri": url})
    return OperationResult(log)


def emergency_report_operation(context: OperationContext) -> OperationResult:
    """Emergency accesses (ETREAT, BTG) counted per organisation within `start`–`end`."""
    low, high = _period(context.parameter("start"), context.parameter("end"))
    rows = emergency_report(context.connection, low, high)
    parameters = [
        {
            "name": "organisation",
            "part": [
                {"name": "organisation", "valueString": row["agent_org"] or "unknown"},
                {"name": "count", "valueInteger": row["count"]},
            ],
        }
        for row in rows
    ]
    return OperationResult({"resourceType": "Parameters", "parameter": parameters})


def _period(start: str | None, end: str | None) -> tuple[int, int]:
    try:
        low = date_to_us(parse_date_range(start)[0]) if start else 0
        high = date_to_us(parse_date_range(end)[1]) if end else MAX_US
    except ValueError as exc:
        raise FhirError(400, error("invalid", f"Invalid period: {exc}")) from exc
    return low, high


OPERATIONS = [
    Operation(
        "access-log",
        "instance",
        "Patient",
        access_log_operation,
        permission="r",
        methods=("GET",),
        description="Who accessed the patient's data, when and why (the citizen's access log), "
        "newest first, in pages.",
        parameters=(
            ("date", "in", 0, "*", "string"),
            ("start", "in", 0, "1", "dateTime"),
            ("end", "in", 0, "1", "dateTime"),
            ("organisation", "in", 0, "1", "string"),
            ("_count", "in", 0, "1", "integer"),
            ("_after", "in", 0, "1", "string"),
            ("access", "out", 0, "*", "BackboneElement"),
            ("next", "out", 0, "1", "uri"),
        ),
    ),
    Operation(
        "emergency-report",
        "type",
        "AuditEvent",
        emergency_report_operation,
        permission="s",
        methods=("GET",),
        description="Emergency accesses per organisation in a period (security officers).",
        parameters=(
            ("start", "in", 0, "1", "date"),
            ("end", "in", 0, "1", "date"),
            ("organisation", "out", 0, "*", "BackboneElement"),
        ),
    ),
]
