"""Reads by id and plain writes answered without Starlette's router and exception layer
(issue 24, the hot path).

A read by id (`GET /fhir/{type}/{id}`), vread (`GET /fhir/{type}/{id}/_history/{vid}`),
create (`POST /fhir/{type}`), update (`PUT /fhir/{type}/{id}`) or delete (`DELETE
/fhir/{type}/{id}`) is most of a clinical server's traffic, and Starlette's router finds
its route only after trying the ~40 routes before it, one regular expression each, under its
exception layer (a `Request` and a wrapped `send` per request). `InteractionDispatch` is the
innermost of the app's middlewares (`DispatchedInteractions`, inside authentication): it
recognises such a request by its method and the split of its path — a known resource type,
a valid id, no query string — and answers it with the very function the router's generic
route answers with (the read and vread: `FhirRestApi.version_answer`, without a `Request`;
a write: the route's endpoint, given a `Request` as the router would), with the path
parameters the router would give. An error the answer raises goes to the handler the
exception layer would have given it (`handlers`, the app's, the catch-all `Exception` left
to Starlette's outermost layer as before): the middlewares outside (authentication, audit,
metrics) see the same answer either way. Anything else — a query string (a conditional
update or delete, `_format`), an unknown type, an invalid id, another method or shape — is
not matched here and goes on to the router. A create with an If-None-Exist header is taken
(the header is the endpoint's to read, as when routed).

Which types are dispatched is decided once, when the app is built, for each generic route:
a type is only when the router itself would give that method and path to that route
(AuditEvent and Binary, for instance, have routes of their own before them, and keep them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from samhandling.fhir.validation import RESOURCE_TYPES
from samhandling.interactions.resource_input import ID_PATTERN
from samhandling.observability.metrics import INTERACTION_KEY

PREFIX = "/fhir/"
PROBE = {"id": "probe-id", "vid": "1"}
Answer = Callable[[Scope, Receive], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]
# the generic routes, by method and number of path parameters: their interaction
INTERACTIONS = {
    ("GET", 2): "read",
    ("GET", 3): "vread",
    ("POST", 1): "create",
    ("PUT", 2): "update",
    ("DELETE", 2): "delete",
}
# path parameters by number of path segments after the prefix (`SHAPES`)
PARAMS = {1: 1, 2: 2, 4: 3}
SHAPES = ("/fhir/{type}", "/fhir/{type}/{id}", "/fhir/{type}/{id}/_history/{vid}")


@dataclass(frozen=True, slots=True)
class Dispatched:
    """One generic route the dispatch answers for: the types the router gives it."""

    route: Route
    interaction: str  # noted in the scope: `interaction_of`
    answer: Answer
    types: frozenset[str]


class InteractionDispatch:
    """A read, vread or plain write straight to its endpoint (see the module)."""

    def __init__(
        self, entries: Mapping[tuple[str, int], Dispatched], handlers: Mapping[Any, Handler]
    ) -> None:
        self.entries = dict(entries)  # by method and number of path parameters
        self.handlers = dict(handlers)  # the exception layer's: by exception class
        self.read = self.entries[("GET", 2)].route
        self.vread = self.entries[("GET", 3)].route
        self.types = self.entries[("GET", 2)].types  # the types read without the router

    def take(self, scope: Scope) -> bool:
        """Whether the request is one the dispatch answers; if so, its scope is given what
        the router would give it (route, endpoint, path parameters) and its interaction."""
        found = self.route_of(scope)
        if found is None:
            return False
        route, scope["path_params"] = found
        scope["route"], scope["endpoint"] = route, route.endpoint
        scope[INTERACTION_KEY] = self.entry_of(scope).interaction  # `interaction_name`
        return True

    def entry_of(self, scope: Scope) -> Dispatched:
        """The entry of a request `take` took."""
        return self.entries[(scope["method"], len(scope["path_params"]))]

    def route_of(self, scope: Scope) -> tuple[Route, dict[str, str]] | None:
        """The generic route the router would give the request and its path parameters,
        or None: the router decides."""
        if scope["type"] != "http" or scope.get("query_string") or scope.get("root_path"):
            return None
        path: str = scope["path"]
        if not path.startswith(PREFIX):
            return None
        parts = path[len(PREFIX) :].split("/")
        entry = self.entries.get((scope["method"], PARAMS.get(len(parts), 0)))
        if entry is None or parts[0] not in entry.types:
            return None
        if len(parts) == 1:
            return entry.route, {"type": parts[0]}
        if not ID_PATTERN.fullmatch(parts[1]):
            return None
        if len(parts) == 2:
            return entry.route, {"type": parts[0], "id": parts[1]}
        if parts[2] != "_history" or not parts[3]:
            return None
        return entry.route, {"type": parts[0], "id": parts[1], "vid": parts[3]}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request `take` took; an error raised by the answer is answered by its
        handler, as Starlette's exception layer would (no handler: it goes on up). A failure
        while the answer is sent goes on up as it is (the layer, the response begun, would
        raise it inside a RuntimeError: Starlette's outermost layer answers both alike)."""
        try:
            response = await self.entry_of(scope).answer(scope, receive)
        except Exception as exc:
            handler = self.handler_of(exc)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), exc)
            exc.__traceback__ = None  # as the layer: a reused exception keeps no traceback
        await response(scope, receive, send)

    def handler_of(self, exc: Exception) -> Handler | None:
        """The handler of `exc`'s class or its nearest base, as the exception layer finds it."""
        return next((self.handlers[c] for c in type(exc).__mro__ if c in self.handlers), None)


class DispatchedInteractions:
    """The middleware that gives `InteractionDispatch` the requests it takes; the rest to `app`."""

    def __init__(self, app: ASGIApp, dispatch: InteractionDispatch) -> None:
        self.app = app
        self.dispatch = dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.dispatch.take(scope):
            await self.dispatch.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def interaction_dispatch(
    routes: Sequence[BaseRoute],
    generic: Sequence[tuple[Route, Answer | None]],
    handlers: Mapping[Any, Handler],
) -> InteractionDispatch:
    """The dispatch for `routes` (the app's, in order) of the `generic` routes among them
    (the read, vread, create, update and delete of any type), each answered by its answer
    or, None, by its endpoint given a `Request`; errors go to `handlers` (the app's
    exception handlers but the catch-all `Exception`)."""
    entries: dict[tuple[str, int], Dispatched] = {}
    for route, answer in generic:
        methods = route.methods or set()
        method = "GET" if "GET" in methods else next(iter(methods))
        key = (method, len(route.param_convertors))
        if key not in INTERACTIONS or route.path_format not in SHAPES:
            raise ValueError(f"not a generic route: {method} {route.path_format}")
        types = frozenset(
            name
            for name in RESOURCE_TYPES
            if _routed_to(routes, method, route.path_format.format(type=name, **PROBE)) is route
        )
        entries[key] = Dispatched(route, INTERACTIONS[key], answer or _endpoint(route), types)
    return InteractionDispatch(entries, handlers)


def _endpoint(route: Route) -> Answer:
    """The answer of `route`'s endpoint, given the `Request` the router would make."""
    endpoint = route.endpoint
    return lambda scope, receive: endpoint(Request(scope, receive))


def _routed_to(routes: Sequence[BaseRoute], method: str, path: str) -> BaseRoute | None:
    """The route the router would hand a `method` request for `path` (its first full match)."""
    scope: Scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None
