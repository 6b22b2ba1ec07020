"""HTTP routes of FHIR search: type, compartment and system search, by GET and POST.

Every search runs under the caller's access guard (`interactions.guarded_search`), which
hands the policy's `SearchRestriction` to the engine. The services' search federation may
ask other servers while the local search runs and merge their answers into it
(`services.search_federation`); the peers it asked go into the audit record.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from samhandling.api.http_input import check_accept, prefer_lenient, query_items, read_bytes
from samhandling.api.responses import fhir_response
from samhandling.api.rest import LATER_PAGE, FhirRestApi
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.resource_input import check_id, check_resource_type
from samhandling.services.search_federation import LOCAL_ONLY, FederatedQuery


def search_routes(api: FhirRestApi) -> list[Route]:
    """The search routes; they must come before the instance routes `/fhir/{type}/{id}`."""
    searches = FhirSearches(api)
    return [
        Route("/fhir", searches.system_search, methods=["GET"]),
        Route("/fhir/_search", searches.system_search, methods=["POST"]),
        Route("/fhir/{type}", searches.type_search, methods=["GET"]),
        Route("/fhir/{type}/_search", searches.type_search, methods=["POST"]),
        Route("/fhir/{ctype}/{cid}/{type}", searches.compartment_search, methods=["GET"]),
        Route("/fhir/{ctype}/{cid}/{type}/_search", searches.compartment_search, methods=["POST"]),
    ]


class FhirSearches:
    """The search handlers of one `FhirRestApi`: type, system and compartment search."""

    def __init__(self, api: FhirRestApi) -> None:
        self.api = api

    async def run(
        self, request: Request, rtype: str | None, compartment: tuple[str, str] | None = None
    ) -> Response:
        """One search under the caller's guard, the federation asked beside the local one."""
        api = self.api
        items = query_items(request)
        if request.method == "POST":
            items += await _form_items(request, api.settings.max_body_bytes)
        lenient, guard = prefer_lenient(request), api.guard(request)
        query = FederatedQuery(rtype, items, guard, request.headers, compartment)
        request.state.audit_destinations = query.asked
        async with api.federation.search(query) as federated:
            local = federated.local_items(items)  # a later federated page: this area's part
            bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
            # answered as it is (a federation merges the entries it reads): stored bytes
            raw = federated is LOCAL_ONLY
            if local is not None:
                bundle = await api.run_read(
                    lambda c: guarded_search(
                        c,
                        rtype,
                        local,
                        api.base,
                        guard,
                        lenient=lenient,
                        compartment=compartment,
                        stored_bytes=raw,
                    ),
                    request,
                    routed=request if LATER_PAGE.isdisjoint(k for k, _ in local) else None,
                )
            bundle = await federated.merged(bundle)
        return fhir_response(bundle)

    async def type_search(self, request: Request) -> Response:
        """`GET /fhir/{type}` and `POST /fhir/{type}/_search`."""
        return await self.run(request, self.api.resource_type(request))

    async def system_search(self, request: Request) -> Response:
        """`GET /fhir` and `POST /fhir/_search`."""
        check_accept(request)
        return await self.run(request, None)

    async def compartment_search(self, request: Request) -> Response:
        """`GET /fhir/Patient/{id}/{type}` (`*`: every type), and its `_search` by POST;
        `/fhir/{type}/{id}/_history`, of the same shape, is instance history."""
        owner, owner_id = request.path_params["ctype"], request.path_params["cid"]
        rtype = request.path_params["type"]
        if rtype == "_history" and request.method == "GET":
            # `/fhir/Patient/1/_history` has the same shape: it is instance history
            request.scope["path_params"] = {"type": owner, "id": owner_id}
            return await self.api.history(request)
        check_accept(request)
        check_resource_type(owner)
        check_id(owner_id)
        if owner != "Patient":
            raise FhirError(404, error("not-found", f"No {owner} compartment is searchable"))
        if rtype != "*":
            check_resource_type(rtype)
        return await self.run(request, None if rtype == "*" else rtype, (owner, owner_id))


async def _form_items(request: Request, limit: int) -> list[tuple[str, str]]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        message = "POST _search needs application/x-www-form-urlencoded"
        raise FhirError(415, error("not-supported", message))
    body = await read_bytes(request, limit)
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise FhirError(400, error("invalid", "The form body is not UTF-8")) from None
