"""Reading what arrives over HTTP: body size and media type, Prefer, If-Match."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import Scope

from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.request_limits import check_no_nul
from samhandling.interactions.resource_input import parse_json
from samhandling.observability.request_context import request_headers

JSON_TYPES = ("application/fhir+json", "application/json")
PATCH_TYPES = ("application/json-patch+json", *JSON_TYPES)


def header(request: Request, name: str) -> str:
    """The request's header `name` (lower case), "" when absent: its first value, as
    `request.headers.get` gives it, from the dict kept in the scope (no `Headers` made)."""
    return request_headers(request.scope).get(name, "")


def query_of(request: Request) -> str:
    """The request's query string, as `request.url.query` gives it (no URL built for none)."""
    return request.url.query if request.scope.get("query_string") else ""


async def read_body(request: Request, limit: int, accepted: tuple[str, ...] = JSON_TYPES) -> Any:
    """The parsed JSON body: 415 for another media type, 413 above `limit` bytes."""
    media_type = header(request, "content-type").split(";")[0].strip().lower()
    if media_type not in accepted:
        message = (
            f"Content-Type {media_type or '(none)'} is not supported; use {' or '.join(accepted)}"
        )
        raise FhirError(415, error("not-supported", message))
    raw = await read_bytes(request, limit)
    if not raw:
        raise FhirError(400, error("required", "The request body is empty"))
    return parse_json(raw)


async def read_bytes(request: Request, limit: int) -> bytes:
    """The raw body; 413 above `limit` bytes (read no further than that)."""
    too_large = FhirError(
        413, error("too-costly", f"The body is larger than the limit of {limit} bytes")
    )
    declared = header(request, "content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def prefer_return(request: Request) -> str:
    """The `return` preference: minimal, representation (default) or OperationOutcome."""
    for part in header(request, "prefer").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip() == "return" and value.strip() in (
            "minimal",
            "representation",
            "OperationOutcome",
        ):
            return value.strip()
    return "representation"


def prefer_lenient(request: Request) -> bool:
    return "handling=lenient" in header(request, "prefer").replace(" ", "")


def query_items(request: Request) -> list[tuple[str, str]]:
    """The query parameters; 400 if one holds a NUL character."""
    items = list(request.query_params.multi_items())
    for name, value in items:
        check_no_nul(name, value)
    return items


def check_accept(request: Request) -> None:
    """Only JSON is served: `_format`/Accept asking for XML alone is a 406."""
    check_accept_of(request.scope)


def check_accept_of(scope: Scope) -> None:
    """`check_accept` on a request's scope (no query string: no query parameters parsed)."""
    query = scope.get("query_string")
    fmt = QueryParams(query).get("_format", "") if query else ""
    _check_format(fmt, request_headers(scope).get("accept", ""))


def _check_format(fmt: str, accept: str) -> None:
    wants_xml = "xml" in fmt or ("xml" in accept and "json" not in accept and "*/*" not in accept)
    if wants_xml:
        raise FhirError(406, error("not-supported", "Only application/fhir+json is supported"))
