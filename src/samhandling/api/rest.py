"""HTTP handlers of the FHIR RESTful API: translate requests to interactions and back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from samhandling.api.http_input import (
    PATCH_TYPES,
    check_accept,
    check_accept_of,
    header,
    prefer_return,
    query_items,
    query_of,
    read_body,
)
from samhandling.api.responses import fhir_response, version_headers, version_response
from samhandling.auth import ServiceRules
from samhandling.config import Settings
from samhandling.fhir.outcome import FhirError, Issue, error, operation_outcome
from samhandling.fhir.patch import apply_json_patch
from samhandling.interactions import crud, loop_read, read
from samhandling.interactions.bundle import process_bundle
from samhandling.interactions.conditions import parse_if_match
from samhandling.interactions.entry_actions import patch_function
from samhandling.interactions.loop_read import LoopReads
from samhandling.interactions.policy_guard import PolicyGuard
from samhandling.interactions.resource_input import check_id, check_resource_type
from samhandling.interactions.transactions import (
    CONSISTENCY_HEADER,
    ReadRouting,
    VersionWriter,
    cancel,
    parse_position,
    run_read,
    write_transaction,
    writer,
)
from samhandling.interactions.write_rules import WriteRule
from samhandling.observability.request_context import request_headers
from samhandling.services.search_federation import NO_FEDERATION, SearchFederation

if TYPE_CHECKING:  # the version an interaction returns (`crud.WriteResult.version`)
    from samhandling.interactions.crud import StoredVersion

T = TypeVar("T")
FORMAT_PARAMS = frozenset({"_format", "_pretty"})
# A request naming these continues a result another request began (on either database): it
# is read on the primary, which has everything the first page saw (docs/SCALING.md).
LATER_PAGE = frozenset({"_cursor", "_snapshot", "_after", "_before", "_offset"})
CONSISTENCY_NAME = CONSISTENCY_HEADER.lower()  # as `request_headers` names it


class FhirRestApi:
    """The FHIR interactions over HTTP for one engine and base URL."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        policy_rules: ServiceRules,
        write_rules: Sequence[WriteRule],
        audit: bool = True,
        federation: SearchFederation = NO_FEDERATION,
        routing: ReadRouting | None = None,
        loop_reads: LoopReads | None = None,
    ) -> None:
        self.audit = audit
        self.engine = engine
        # where read, vread, history and search run: a replica when it is current enough
        self.routing = routing or ReadRouting(engine, None, max_lag_seconds=0)
        self.settings = settings
        self.base = settings.base_url
        self.policy_rules = policy_rules  # the services' part of the access policy
        self.write_rules = tuple(write_rules)
        self.federation = federation  # other servers searched beside this one
        self.loop_reads = loop_reads  # reads by id without a worker thread

    async def _write(self, request: Request, action: Callable[[VersionWriter], T]) -> T:
        guard = self.guard(request)

        def run() -> T:
            with write_transaction(self.engine) as connection:
                return action(self.writer(connection, guard))

        return await run_in_threadpool(run)

    def writer(self, connection: Connection, guard: PolicyGuard) -> VersionWriter:
        """The writer of one write transaction: the caller's guard and the services' rules."""
        return writer(connection, guard, self.write_rules)

    def guard(self, request: Request) -> PolicyGuard:
        """The access guard of this request's authenticated caller (one per request)."""
        return self.guard_in(request.scope.setdefault("state", {}))

    def guard_in(self, state: dict[str, Any]) -> PolicyGuard:
        """The guard kept in a request's scope state (made at the first call)."""
        guard: PolicyGuard | None = state.get("guard")
        if guard is None:
            guard = PolicyGuard(
                state["principal"], service_rules=self.policy_rules, audit_writes=self.audit
            )
            state["guard"] = guard
        return guard

    async def run_read(
        self,
        action: Callable[[Any], T],
        request: Request | None = None,
        *,
        routed: Request | None = None,
        snapshot: bool = True,
    ) -> T:
        """Run `action` in a read transaction on a worker thread. With `request`, a client
        that goes away stops the statement running for it (the database stops working).
        With `routed` (the request it answers), the read may run on the read replica when
        that has replayed the client's last write (`X-Samhandling-Consistency`). Without
        `snapshot` (a read by id: one statement decides) no transaction on PostgreSQL."""
        running: list[Connection] = []
        route, after = _route(routed.scope if routed is not None else None)

        def tracked(connection: Connection) -> T:
            running.append(connection)
            try:
                return action(connection)
            finally:
                running.clear()

        def run() -> T:
            if route:
                return self.routing.read(tracked, after, snapshot=snapshot)
            return run_read(self.engine, tracked, snapshot=snapshot)

        if request is None:
            return await run_in_threadpool(run)
        work = asyncio.ensure_future(run_in_threadpool(run))
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
            while not work.done():  # between two statements a cancel finds nothing to stop
                for connection in list(running):
                    cancel(connection)
                await asyncio.wait({work}, timeout=0.1)
            return await work
        finally:
            gone.cancel()

    def resource_type(self, request: Request) -> str:
        check_accept(request)
        resource_type: str = request.path_params["type"]
        check_resource_type(resource_type)
        if "id" in request.path_params:
            check_id(request.path_params["id"])
        return resource_type

    def reads_on_loop(self, scope: Scope) -> LoopReads | None:
        """Where a read by id runs on the event loop (issue 24), or None: on the thread pool.
        Only where its answer cannot differ from the threaded read's: PostgreSQL or a
        SQLite file (`LoopReads.of`), no replica to route to (read-your-writes is the
        router's), no query parameters, and a caller without a DPoP proof. The caller's
        facts (a citizen's patients and powers of attorney, the registers' answer) were all
        settled before the handler ran, and the judgement is pure, so a citizen's read may
        run here too; a DPoP proof's replay row is a write, whose caller keeps the thread
        pool. A malformed commit position is a 400 either way."""
        if self.loop_reads is None or self.routing.replicated:
            return None
        _route(scope)
        plain = not scope.get("query_string")
        bearer = scope["state"]["principal"].dpop_jkt is None
        return self.loop_reads if plain and bearer else None

    async def read(self, request: Request) -> Response:
        return await self.version_answer(request.scope, request.receive)

    async def vread(self, request: Request) -> Response:
        return await self.version_answer(request.scope, request.receive)

    async def version_answer(self, scope: Scope, receive: Receive) -> Response:
        """The answer to a read (or, with a `vid` path parameter, a vread) by id: the
        version, or 304 when the client's copy is still current. `InteractionDispatch` sends it
        without making the request's objects (they are made for a read on a worker thread)."""
        params = scope["path_params"]
        check_accept_of(scope)
        rtype, rid, vid = params["type"], params["id"], params.get("vid")
        check_resource_type(rtype)
        check_id(rid)
        guard = self.guard_in(scope["state"])
        on_loop = self.reads_on_loop(scope)
        if on_loop is not None and vid is None:
            stored = await loop_read.read(on_loop, rtype, rid, guard)
        elif on_loop is not None:
            stored = await loop_read.vread(on_loop, rtype, rid, vid, guard)
        else:
            action: Callable[[Any], StoredVersion] = (
                (lambda c: read.read(c, rtype, rid, guard))
                if vid is None
                else (lambda c: read.vread(c, rtype, rid, vid, guard))
            )
            stored = await self.by_id(action, Request(scope, receive))
        return version_response(stored, self.base, request_headers(scope))

    def by_id(
        self, action: Callable[[Any], StoredVersion], request: Request
    ) -> Awaitable[StoredVersion]:
        """A read by id on a worker thread: routed, one statement its snapshot (the caller
        awaits `run_read` itself: no coroutine of its own in between)."""
        return self.run_read(action, routed=request, snapshot=False)

    async def history(self, request: Request) -> Response:
        rtype = self.resource_type(request) if "type" in request.path_params else None
        rid = request.path_params.get("id")
        items, guard = query_items(request), self.guard(request)
        bundle = await self.run_read(
            lambda c: read.history(c, self.base, items, rtype, rid, guard), routed=request
        )
        return fhir_response(bundle)

    async def create(self, request: Request) -> Response:
        rtype = self.resource_type(request)
        body = await read_body(request, self.settings.max_body_bytes)
        if_none_exist = create_criteria(query_of(request), header(request, "if-none-exist"))
        result = await self._write(
            request,
            lambda w: crud.create(w, body, resource_type=rtype, if_none_exist=if_none_exist),
        )
        return self.written(request, result, location=True)

    async def update(self, request: Request) -> Response:
        rtype, rid = self.resource_type(request), request.path_params["id"]
        body = await read_body(request, self.settings.max_body_bytes)
        if_match = parse_if_match(header(request, "if-match") or None)
        result = await self._write(
            request, lambda w: crud.update(w, rtype, rid, body, if_match=if_match)
        )
        return self.written(request, result, location=result.status == 201)

    async def conditional_update(self, request: Request) -> Response:
        rtype = self.resource_type(request)
        criteria = _criteria(request)
        body = await read_body(request, self.settings.max_body_bytes)
        if_match = parse_if_match(header(request, "if-match") or None)
        result = await self._write(
            request, lambda w: crud.conditional_update(w, rtype, criteria, body, if_match=if_match)
        )
        return self.written(request, result, location=result.status == 201)

    async def patch(self, request: Request) -> Response:
        rtype, rid = self.resource_type(request), request.path_params["id"]
        body = await read_body(request, self.settings.max_body_bytes, PATCH_TYPES)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        most = self.settings.max_body_bytes  # a patched resource is bounded like a PUT body
        if media == "application/json-patch+json":
            apply = lambda current: apply_json_patch(current, body, max_bytes=most)  # noqa: E731
        else:
            apply = patch_function(body, max_bytes=most)
        if_match = parse_if_match(header(request, "if-match") or None)
        result = await self._write(
            request, lambda w: crud.patch(w, rtype, rid, apply, if_match=if_match)
        )
        return self.written(request, result)

    async def delete(self, request: Request) -> Response:
        rtype, rid = self.resource_type(request), request.path_params["id"]
        if_match = parse_if_match(header(request, "if-match") or None)
        result = await self._write(request, lambda w: crud.delete(w, rtype, rid, if_match=if_match))
        headers = {"ETag": result.version.etag} if result else {}
        return Response(status_code=204, headers=headers)

    async def conditional_delete(self, request: Request) -> Response:
        rtype = self.resource_type(request)
        criteria = _criteria(request)
        await self._write(request, lambda w: crud.conditional_delete(w, rtype, criteria))
        return Response(status_code=204)

    async def bundle(self, request: Request) -> Response:
        check_accept(request)
        body = await read_body(request, self.settings.max_body_bytes)
        representation = prefer_return(request) == "representation"
        result = await run_in_threadpool(
            lambda: process_bundle(
                self.engine,
                body,
                self.base,
                representation=representation,
                guard=self.guard(request),
                rules=self.write_rules,
            )
        )
        return fhir_response(result)

    def written(
        self, request: Request, result: crud.WriteResult, *, location: bool = False
    ) -> Response:
        headers = version_headers(result.version, self.base, location=location)
        preference = prefer_return(request)
        if preference == "minimal":
            return Response(status_code=result.status, headers=headers)
        if preference == "OperationOutcome":
            # R4 §3.1.0.4: the outcome carries the warnings (e.g. a display that is not the
            # code's), then an information issue naming what was written.
            message = f"{result.version.location} written"
            issues = [*result.warnings, Issue("information", "informational", message)]
            return fhir_response(operation_outcome(issues), result.status, headers)
        return fhir_response(result.version.content, result.status, headers)


def _route(scope: Scope | None) -> tuple[bool, str | None]:
    """Whether a read may go to the replica, and the commit position the client presented
    (checked even where it is not used: a malformed one is a 400 everywhere)."""
    if scope is None:
        return False, None
    after = parse_position(request_headers(scope).get(CONSISTENCY_NAME))
    query = scope.get("query_string")
    return not query or LATER_PAGE.isdisjoint(QueryParams(query).keys()), after


async def _disconnected(request: Request) -> None:
    """Returns when the client has closed the connection (the body is already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def create_criteria(query: str, header: str | None) -> str | None:
    """The If-None-Exist criteria of a create: the header, or search parameters in the URL.

    `POST Patient?identifier=…` (fhirpy's get_or_create) means the same as If-None-Exist
    (R4 §3.1.0.8.1 conditional create); both at once must agree, else 400.
    """
    items = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in FORMAT_PARAMS]
    criteria = urlencode(items, safe="|:/,$") if items else None
    if header and criteria and parse_qsl(header.lstrip("?")) != items:
        message = "The URL's search parameters and If-None-Exist name different criteria"
        raise FhirError(400, error("invalid", message))
    return header or criteria


def _criteria(request: Request) -> str:
    criteria = request.url.query
    if not criteria:
        raise FhirError(400, error("invalid", "This interaction needs an id or search criteria"))
    return criteria
