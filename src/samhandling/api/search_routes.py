"""HTTP routes of FHIR search: type search by GET and by POST `_search`."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from samhandling.api.http_input import prefer_lenient, query_items
from samhandling.api.responses import fhir_response
from samhandling.api.rest import FhirRestApi
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import search


def search_routes(api: FhirRestApi) -> list[Route]:
    """The search routes; they must come before the instance routes `/fhir/{type}/{id}`."""

    async def type_search(request: Request) -> Response:
        rtype = api.resource_type(request)
        items = query_items(request)
        if request.method == "POST":
            items += await _form_items(request)
        lenient = prefer_lenient(request)
        bundle = await api.run_read(
            lambda c: search.search(c, rtype, items, api.base, lenient=lenient)
        )
        return fhir_response(bundle)

    return [
        Route("/fhir/{type}", type_search, methods=["GET"]),
        Route("/fhir/{type}/_search", type_search, methods=["POST"]),
    ]


async def _form_items(request: Request) -> list[tuple[str, str]]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        message = "POST _search needs application/x-www-form-urlencoded"
        raise FhirError(415, error("not-supported", message))
    body = await request.body()
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
