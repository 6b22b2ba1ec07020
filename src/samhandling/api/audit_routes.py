"""The audit trail over FHIR: AuditEvent search for security officers (read-only, never
writable), the citizen's `Patient/{id}/$access-log` and `AuditEvent/$emergency-report`."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from samhandling.api.http_input import query_items
from samhandling.api.responses import fhir_response
from samhandling.api.rest import FhirRestApi
from samhandling.audit.access_log import access_log, parse_access_log
from samhandling.audit.queries import (
    AuditPage,
    emergency_report,
    parse_audit_search,
    search_audit_events,
)
from samhandling.auth import Principal
from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.request_limits import database_integer
from samhandling.interactions import read
from samhandling.interactions.operations import (
    Operation,
    OperationContext,
    OperationRegistry,
    OperationResult,
)
from samhandling.store.index_rows import date_to_us


def require_security_officer(principal: Principal) -> None:
    """AuditEvents are for callers whose token names AuditEvent explicitly (no wildcard)."""
    if not any(s.resource_type == "AuditEvent" for s in principal.scopes.clinical):
        raise FhirError(
            403, error("forbidden", "Reading the audit trail needs an AuditEvent scope")
        )


def audit_routes(api: FhirRestApi) -> list[BaseRoute]:
    """AuditEvent routes; they must come before the generic type and instance routes."""

    async def search(request: Request) -> Response:
        require_security_officer(request.state.principal)
        api.guard(request).check_request("search", "AuditEvent")
        items = query_items(request)
        query = parse_audit_search(items)
        page = await api.run_read(lambda c: search_audit_events(c, query))
        entries = [
            {
                "fullUrl": f"{api.base}/AuditEvent/{e['id']}",
                "resource": e,
                "search": {"mode": "match"},
            }
            for e in page.events
        ]
        bundle = {"resourceType": "Bundle", "type": "searchset", "link": _links(items, page)}
        return fhir_response({**bundle, "entry": entries})

    def _links(items: list[tuple[str, str]], page: AuditPage) -> list[dict[str, str]]:
        kept = [(name, value) for name, value in items if name != "_after"]
        links = [{"relation": "self", "url": f"{api.base}/AuditEvent?{urlencode(items)}"}]
        if page.next_after is not None:
            following = urlencode([*kept, ("_after", page.next_after)])
            links.append({"relation": "next", "url": f"{api.base}/AuditEvent?{following}"})
        return links

    async def read_one(request: Request) -> Response:
        require_security_officer(request.state.principal)
        event_id = request.path_params["id"]
        if database_integer(event_id) is None:
            raise FhirError(404, error("not-found", f"AuditEvent/{event_id} is not known"))
        query = parse_audit_search([("_id", event_id)])
        page = await api.run_read(lambda c: search_audit_events(c, query))
        if not page.events:
            raise FhirError(404, error("not-found", f"AuditEvent/{event_id} is not known"))
        return fhir_response(page.events[0])

    async def refuse_write(_request: Request) -> Response:
        raise FhirError(
            405, error("not-supported", "The audit trail is never written through the API")
        )

    async def refuse_history(_request: Request) -> Response:
        message = "AuditEvents have no versions: read or search them (history is not supported)"
        raise FhirError(405, error("not-supported", message))

    writes = ["POST", "PUT", "PATCH", "DELETE"]
    return [
        Route("/fhir/AuditEvent", search, methods=["GET"]),
        Route("/fhir/AuditEvent", refuse_write, methods=writes),
        Route("/fhir/AuditEvent/_search", refuse_write, methods=["POST"]),
        Route("/fhir/AuditEvent/_history", refuse_history, methods=["GET"]),
        Route("/fhir/AuditEvent/{id}/_history", refuse_history, methods=["GET"]),
        Route("/fhir/AuditEvent/{id}/_history/{vid}", refuse_history, methods=["GET"]),
        Route("/fhir/AuditEvent/{id}", read_one, methods=["GET"]),
        Route("/fhir/AuditEvent/{id}", refuse_write, methods=writes),
    ]


def add_audit_operations(registry: OperationRegistry) -> None:
    registry.add(Operation("access-log", "instance", "Patient", _access_log, methods=("GET",)))
    registry.add(
        Operation("emergency-report", "type", "AuditEvent", _emergency_report, methods=("GET",))
    )


def _access_log(context: OperationContext) -> OperationResult:
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


def _emergency_report(context: OperationContext) -> OperationResult:
    principal = getattr(context.guard, "principal", None)
    if principal is None:
        raise FhirError(403, error("forbidden", "The emergency report needs a security officer"))
    require_security_officer(principal)
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
        high = date_to_us(parse_date_range(end)[1]) if end else 2**62
    except ValueError as exc:
        raise FhirError(400, error("invalid", f"Invalid period: {exc}")) from exc
    return low, high
