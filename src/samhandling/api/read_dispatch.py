"""Reads by id answered without Starlette's router and exception layer (issue 24, the hot
path).

A read by id (`GET /fhir/{type}/{id}`) or vread (`GET /fhir/{type}/{id}/_history/{vid}`)
is most of a clinical server's traffic, and Starlette's router finds its route only after
trying the ~40 routes before it, one regular expression each, under its exception layer
(a `Request` and a wrapped `send` per request). `ReadDispatch` is the innermost of the
app's middlewares (`DispatchedReads`, inside authentication): it recognises such a request
by splitting its path — a known resource type, a valid id, no query string — and answers
it with the very function the router's generic read and vread endpoints answer with
(`FhirRestApi.version_answer`), with the path parameters the router would give and
without the request and response objects of a routed request. An error the answer raises
goes to the handler the exception layer would have given it (`handlers`, the app's, the
catch-all `Exception` left to Starlette's outermost layer as before): the middlewares
outside (authentication, audit, metrics) see the same answer either way. Anything else — a
query string, an unknown type, an invalid id, another method — is not matched here and
goes on to the router.

Which types are dispatched is decided once, when the app is built: a type is only when
the router itself would give its read and vread to the generic routes (AuditEvent and
Binary, for instance, have routes of their own before them, and keep them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from samhandling.fhir.validation import RESOURCE_TYPES
from samhandling.interactions.resource_input import ID_PATTERN
from samhandling.observability.metrics import INTERACTION_KEY

PREFIX = "/fhir/"
PROBE_ID = "probe-id"
Answer = Callable[[Scope, Receive], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class ReadDispatch:
    """A read or vread by id straight to its endpoint (see the module)."""

    def __init__(
        self,
        read: Route,
        vread: Route,
        types: Iterable[str],
        answer: Answer,
        handlers: Mapping[Any, Handler],
    ) -> None:
        self.read = read
        self.vread = vread
        self.types = frozenset(types)
        self.answer = answer  # what the read and vread endpoints answer
        self.handlers = dict(handlers)  # the exception layer's: by exception class

    def take(self, scope: Scope) -> bool:
        """Whether the request is a plain read by id; if so, its scope is given what the
        router would give it (route, endpoint, path parameters) and its interaction."""
        found = self.route_of(scope)
        if found is None:
            return False
        route, scope["path_params"] = found
        scope["route"], scope["endpoint"] = route, route.endpoint
        scope[INTERACTION_KEY] = "read" if route is self.read else "vread"  # `interaction_name`
        return True

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
        """Answer a request `take` took; an error raised by the answer is answered by its
        handler, as Starlette's exception layer would (no handler: it goes on up). A failure
        while the answer is sent goes on up as it is (the layer, the response begun, would
        raise it inside a RuntimeError: Starlette's outermost layer answers both alike)."""
        try:
            response = await self.answer(scope, receive)
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


class DispatchedReads:
    """The middleware that gives `ReadDispatch` the reads it takes; the rest to `app`."""

    def __init__(self, app: ASGIApp, dispatch: ReadDispatch) -> None:
        self.app = app
        self.dispatch = dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.dispatch.take(scope):
            await self.dispatch.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def read_dispatch(
    routes: Sequence[BaseRoute],
    read: Route,
    vread: Route,
    answer: Answer,
    handlers: Mapping[Any, Handler],
) -> ReadDispatch:
    """The dispatch for `routes` (the app's, in order): the types whose read and vread the
    router gives to `read` and `vread`, whose endpoints answer with `answer`; errors go to
    `handlers` (the app's exception handlers but the catch-all `Exception`)."""
    types = [
        name
        for name in sorted(RESOURCE_TYPES)
        if _routed_to(routes, f"{PREFIX}{name}/{PROBE_ID}") is read
        and _routed_to(routes, f"{PREFIX}{name}/{PROBE_ID}/_history/1") is vread
    ]
    return ReadDispatch(read, vread, types, answer, handlers)


def _routed_to(routes: Sequence[BaseRoute], path: str) -> BaseRoute | None:
    """The route the router would hand a GET of `path` (its first full match)."""
    scope: Scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None
