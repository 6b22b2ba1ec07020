"""Reads by id found without walking the route list (issue 24, the hot path).

A read by id (`GET /fhir/{type}/{id}`) or vread (`GET /fhir/{type}/{id}/_history/{vid}`)
is most of a clinical server's traffic, and Starlette's router finds its route only after
trying the ~40 routes before it, one regular expression each. `ReadDispatch` goes first in
the route list and recognises such a request by splitting its path: a known resource type,
a valid id, no query string. It then answers it with the very function the router's
generic read and vread endpoints answer with (`FhirRestApi.version_answer`), only without
the request and response objects of a routed request (Starlette's `Request`, the endpoint
wrapper): the middlewares (authentication, audit, metrics) and the exception handlers run
exactly as they do for a routed request. Anything else — a query string, an unknown type, an invalid
id, another method — is not matched here, and the router walks its list as before.

Which types are dispatched is decided once, when the app is built: a type is only when
the router itself would give its read and vread to the generic routes (AuditEvent and
Binary, for instance, have routes of their own before them, and keep them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from samhandling.fhir.validation import RESOURCE_TYPES
from samhandling.interactions.resource_input import ID_PATTERN
from samhandling.observability.metrics import INTERACTION_KEY

PREFIX = "/fhir/"
PROBE_ID = "probe-id"
Answer = Callable[[Scope, Receive], Awaitable[Response]]


class ReadDispatch(BaseRoute):
    """The first route: a read or vread by id straight to its endpoint (see the module)."""

    def __init__(self, read: Route, vread: Route, types: Iterable[str], answer: Answer) -> None:
        self.read = read
        self.vread = vread
        self.types = frozenset(types)
        self.answer = answer  # what the read and vread endpoints answer

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        found = self.route_of(scope)
        if found is None:
            return Match.NONE, {}
        route, path_params = found
        interaction = "read" if route is self.read else "vread"  # as `interaction_name` says
        child = {"endpoint": route.endpoint, "path_params": path_params}
        return Match.FULL, {**child, INTERACTION_KEY: interaction}

    def route_of(self, scope: Scope) -> tuple[Route, dict[str, str]] | None:
        """The read or vread route of a plain read by id and its path parameters, or
        None: the router decides."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("query_string"):
            return None
        path: str = scope["path"]
        if scope.get("root_path") or not path.startswith(PREFIX):
            return None
        parts = path[len(PREFIX) :].split("/")
        if parts[0] not in self.types or len(parts) not in (2, 4):
            return None
        if not ID_PATTERN.fullmatch(parts[1]):
            return None
        if len(parts) == 2:
            return self.read, {"type": parts[0], "id": parts[1]}
        if parts[2] != "_history" or not parts[3]:
            return None
        return self.vread, {"type": parts[0], "id": parts[1], "vid": parts[3]}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.answer(scope, receive)
        await response(scope, receive, send)


def read_dispatch(
    routes: Sequence[BaseRoute], read: Route, vread: Route, answer: Answer
) -> ReadDispatch:
    """The dispatch for `routes` (the app's, in order): the types whose read and vread the
    router gives to `read` and `vread`, whose endpoints answer with `answer`."""
    types = [
        name
        for name in sorted(RESOURCE_TYPES)
        if _routed_to(routes, f"{PREFIX}{name}/{PROBE_ID}") is read
        and _routed_to(routes, f"{PREFIX}{name}/{PROBE_ID}/_history/1") is vread
    ]
    return ReadDispatch(read, vread, types, answer)


def _routed_to(routes: Sequence[BaseRoute], path: str) -> BaseRoute | None:
    """The route the router would hand a GET of `path` (its first full match)."""
    scope: Scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None
