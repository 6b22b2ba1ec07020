"""HTTP route of content held by a peer: `/fhir/_federation/{peer}/{type}/{id}`.

The links come from a federated search's answer (`services.search_federation`); the
federation checks them, reads the peer and the body streams through. The peer asked is
named in the request's audit record.
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from samhandling.api.rest import FhirRestApi
from samhandling.services.search_federation import ContentRequest


def federation_routes(api: FhirRestApi) -> list[BaseRoute]:
    """The route; it must come before the generic type and instance routes."""

    async def content(request: Request) -> Response:
        params = request.path_params
        asked = ContentRequest(
            peer=params["peer"],
            path=f"{params['type']}/{params['id']}",
            query=dict(request.query_params),
            headers=request.headers,
            guard=api.guard(request),
        )
        request.state.audit_destinations = asked.asked
        remote = await api.federation.content(asked)
        return StreamingResponse(
            remote.body,
            status_code=remote.status,
            headers=remote.headers,
            background=BackgroundTask(remote.close),
        )

    return [Route("/fhir/_federation/{peer}/{type}/{id}", content, methods=["GET"])]
