"""HTTP routes of extended operations: `/fhir/$op`, `/fhir/{type}/$op`, `/fhir/{type}/{id}/$op`."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from samhandling.api.conditional_reads import not_modified
from samhandling.api.http_input import query_items, read_body
from samhandling.api.responses import fhir_response
from samhandling.api.rest import FhirRestApi
from samhandling.interactions.operations import (
    Level,
    Operation,
    OperationContext,
    OperationRegistry,
    OperationResult,
    parameters_of,
)
from samhandling.interactions.policy_guard import PolicyGuard
from samhandling.interactions.transactions import read_transaction, write_transaction


class OperationNameConvertor(Convertor[str]):
    """Matches `$name` path segments only, so operations never shadow resource ids."""

    regex = r"\$[A-Za-z][A-Za-z0-9\-]*"

    def convert(self, value: str) -> str:
        return value[1:]

    def to_string(self, value: str) -> str:
        return "$" + value


register_url_convertor("operation", OperationNameConvertor())


def operation_routes(api: FhirRestApi, registry: OperationRegistry) -> list[BaseRoute]:
    """The operation routes; they must come before the instance routes."""
    invoke = ExtendedOperations(api, registry).invoke
    methods = ["GET", "POST"]
    return [
        Route("/fhir/{op:operation}", invoke, methods=methods),
        Route("/fhir/{type}/{op:operation}", invoke, methods=methods),
        Route("/fhir/{type}/{id}/{op:operation}", invoke, methods=methods),
    ]


class ExtendedOperations:
    """The registry's operations invoked over HTTP, through one `FhirRestApi`."""

    def __init__(self, api: FhirRestApi, registry: OperationRegistry) -> None:
        self.api = api
        self.registry = registry

    async def invoke(self, request: Request) -> Response:
        """`$name` at the system, type or instance level, by GET or POST."""
        api, params = self.api, request.path_params
        level: Level = "instance" if "id" in params else "type" if "type" in params else "system"
        rtype = api.resource_type(request) if "type" in params else None
        operation = self.registry.find(params["op"], level, rtype, request.method)
        guard = api.guard(request)
        _check_request(guard, f"operation:{operation.name}", level, rtype)
        body = None
        if request.method == "POST" and request.headers.get("content-length", "0") != "0":
            body = await read_body(request, api.settings.max_body_bytes)
        parameters = parameters_of(
            body, query_items(request), resource_body=operation.resource_body
        )
        result = await run_in_threadpool(
            self.run, request, operation, guard, rtype, parameters, body
        )
        return _response(request, operation, result)

    def run(
        self,
        request: Request,
        operation: Operation,
        guard: PolicyGuard,
        rtype: str | None,
        parameters: dict[str, list[Any]],
        body: Any,
    ) -> OperationResult:
        """The operation's handler in one transaction (a write's if it writes), off the loop."""
        api = self.api
        opener = write_transaction if operation.writes else read_transaction
        with opener(api.engine) as connection:
            context = OperationContext(
                connection,
                api.writer(connection, guard),
                guard,
                api.base,
                rtype,
                request.path_params.get("id"),
                parameters,
                body,
                # a header sent more than once (two `Prefer`s) is one, joined (RFC 9110)
                headers={k: ", ".join(request.headers.getlist(k)) for k in request.headers},
                data_dir=api.settings.data_dir,
            )
            return operation.handler(context)


def _response(request: Request, operation: Operation, result: OperationResult) -> Response:
    """The operation's answer: 304 for a read the client has, its own bytes, or FHIR JSON."""
    etag, modified = result.headers.get("ETag"), result.headers.get("Last-Modified")
    if (
        result.status == 200
        and not operation.writes
        and not_modified(request.headers, etag, modified)
    ):
        return Response(status_code=304, headers=result.headers)
    if result.content is not None:
        return Response(result.content, result.status, result.headers, result.media_type)
    return fhir_response(result.body, result.status, result.headers)


def _check_request(guard: PolicyGuard, interaction: str, level: Level, rtype: str | None) -> None:
    """The request check: an operation on one resource lets a caller narrowed to its
    attested patients pass (each resource it writes is judged on its own patient)."""
    if level == "instance" and rtype is not None:
        guard.check_instance_operation(interaction, rtype)
    else:
        guard.check_request(interaction, rtype)
