"""The audit trail over FHIR: AuditEvent search and read for security officers (read-only,
never writable; who is one is the policy's rule, `auth.access_rules.audit_trail_refusal`).
The operations on it are a service (`services/audit_trail`)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from samhandling.api.http_input import query_items
from samhandling.api.responses import fhir_response
from samhandling.api.rest import FhirRestApi
from samhandling.audit.queries import (
    AuditPage,
    parse_audit_search,
    search_audit_events,
)
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.request_limits import database_integer


def audit_routes(api: FhirRestApi) -> list[BaseRoute]:
    """AuditEvent routes; they must come before the generic type and instance routes."""
    trail = AuditTrail(api)
    writes = ["POST", "PUT", "PATCH", "DELETE"]
    return [
        Route("/fhir/AuditEvent", trail.search, methods=["GET"]),
        Route("/fhir/AuditEvent", refuse_write, methods=writes),
        Route("/fhir/AuditEvent/_search", refuse_write, methods=["POST"]),
        Route("/fhir/AuditEvent/_history", refuse_history, methods=["GET"]),
        Route("/fhir/AuditEvent/{id}/_history", refuse_history, methods=["GET"]),
        Route("/fhir/AuditEvent/{id}/_history/{vid}", refuse_history, methods=["GET"]),
        Route("/fhir/AuditEvent/{id}", trail.read_one, methods=["GET"]),
        Route("/fhir/AuditEvent/{id}", refuse_write, methods=writes),
    ]


class AuditTrail:
    """AuditEvent search and read of one `FhirRestApi`, for security officers only."""

    def __init__(self, api: FhirRestApi) -> None:
        self.api = api

    async def search(self, request: Request) -> Response:
        """`GET /fhir/AuditEvent`: a searchset Bundle, paged by `_after`."""
        api = self.api
        api.guard(request).check_request("search", "AuditEvent")  # security officers only
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
        bundle = {"resourceType": "Bundle", "type": "searchset", "link": self._links(items, page)}
        return fhir_response({**bundle, "entry": entries})

    def _links(self, items: list[tuple[str, str]], page: AuditPage) -> list[dict[str, str]]:
        """The searchset's `self` link, and `next` when there is a following page."""
        base = self.api.base
        kept = [(name, value) for name, value in items if name != "_after"]
        links = [{"relation": "self", "url": f"{base}/AuditEvent?{urlencode(items)}"}]
        if page.next_after is not None:
            following = urlencode([*kept, ("_after", page.next_after)])
            links.append({"relation": "next", "url": f"{base}/AuditEvent?{following}"})
        return links

    async def read_one(self, request: Request) -> Response:
        """`GET /fhir/AuditEvent/{id}` (404 for an id that is none or not known)."""
        self.api.guard(request).check_request("read", "AuditEvent")  # security officers only
        event_id = request.path_params["id"]
        if database_integer(event_id) is None:
            raise FhirError(404, error("not-found", f"AuditEvent/{event_id} is not known"))
        query = parse_audit_search([("_id", event_id)])
        page = await self.api.run_read(lambda c: search_audit_events(c, query))
        if not page.events:
            raise FhirError(404, error("not-found", f"AuditEvent/{event_id} is not known"))
        return fhir_response(page.events[0])


async def refuse_write(_request: Request) -> Response:
    """Any write of an AuditEvent: 405, the trail is never written through the API."""
    raise FhirError(405, error("not-supported", "The audit trail is never written through the API"))


async def refuse_history(_request: Request) -> Response:
    """Any history of AuditEvents: 405, they have no versions."""
    message = "AuditEvents have no versions: read or search them (history is not supported)"
    raise FhirError(405, error("not-supported", message))
