"""HTTP routes of raw document content: `POST /fhir/Binary` and `GET /fhir/Binary/{id}`
with a non-FHIR media type (R4 §Binary "Serving Binary Resources using the RESTful API";
IHE MHD ITI-68 Retrieve Document).

* `POST` with a Content-Type other than FHIR JSON streams the body into the content store
  (bounded memory; at most `Settings.max_document_bytes`, apart from the FHIR JSON limit)
  and creates the Binary naming it; `X-Security-Context` names the resource whose access
  rules the Binary follows (R4's header; e.g. `Patient/123`).
* `GET` with an Accept naming another media type answers the bytes with their Content-Type, a
  strong ETag (the content's SHA-256), `Accept-Ranges: bytes`, and single byte ranges
  (206 with `Content-Range`; 416 when unsatisfiable; `If-Range` honoured). The stored bytes
  are checked against their SHA-256 first: a corrupted content is a 500 OperationOutcome,
  audited like any failed request, and no byte is sent.
* With FHIR JSON (Content-Type, Accept — also `*/*` alone or none — or `_format`) they are
  the ordinary create, and a read with the bytes inline in `data` (checked the same way;
  413 beyond the FHIR JSON limit).
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from samhandling.api.http_input import JSON_TYPES
from samhandling.api.responses import error_response, fhir_response, version_headers
from samhandling.api.rest import FhirRestApi
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.binary_content import (
    ContentSpool,
    ContentTooLarge,
    Retrieval,
    binary_as_fhir,
    binary_for_retrieval,
    content_pieces,
    create_from_spool,
)
from samhandling.interactions.policy_guard import PolicyGuard
from samhandling.interactions.transactions import write_transaction

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CONTEXT = re.compile(r"^[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}$")


def binary_routes(api: FhirRestApi) -> list[BaseRoute]:
    """The routes; they must come before the generic type and instance routes."""
    binaries = BinaryContent(api)
    return [
        Route("/fhir/Binary", binaries.create, methods=["POST"]),
        Route("/fhir/Binary/{id}", binaries.retrieve, methods=["GET"]),
    ]


class BinaryContent:
    """Binary create and read of one `FhirRestApi`, raw bytes or FHIR JSON (see the module)."""

    def __init__(self, api: FhirRestApi) -> None:
        self.api = api
        self.spool_directory = api.settings.data_dir / "spool"

    async def create(self, request: Request) -> Response:
        """`POST /fhir/Binary`: FHIR JSON is the ordinary create; other bytes are spooled."""
        api = self.api
        request.scope["path_params"]["type"] = "Binary"  # as the generic routes name it
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in JSON_TYPES or not media:
            return await api.create(request)
        context = request.headers.get("x-security-context")
        if context is not None and not _CONTEXT.match(context):
            message = "X-Security-Context must be a relative reference (Type/id)"
            raise FhirError(400, error("invalid", message))
        guard = api.guard(request)
        guard.check_request("create", "Binary")  # before a byte is spooled
        spool = await _spooled(request, api.settings.max_document_bytes, self.spool_directory)
        try:
            return await run_in_threadpool(self.store, request, guard, spool, context)
        finally:
            spool.discard()

    def store(
        self, request: Request, guard: PolicyGuard, spool: ContentSpool, context: str | None
    ) -> Response:
        """The spooled bytes and the Binary naming them, written in one transaction."""
        api = self.api
        with write_transaction(api.engine) as connection:
            result = create_from_spool(
                api.writer(connection, guard), spool, request.headers["content-type"], context
            )
        return api.written(request, result, location=True)

    async def retrieve(self, request: Request) -> Response:
        """`GET /fhir/Binary/{id}`: the bytes (a range of them), or the Binary as FHIR JSON."""
        api = self.api
        request.scope["path_params"]["type"] = "Binary"
        if request.path_params["id"] == "_history":
            return await api.history(request)
        rid, guard = request.path_params["id"], api.guard(request)
        if _wants_fhir(request):
            limit = api.settings.max_body_bytes
            version, binary = await api.run_read(lambda c: binary_as_fhir(c, rid, guard, limit))
            return fhir_response(binary, 200, version_headers(version, api.base))
        retrieval = await api.run_read(lambda c: binary_for_retrieval(c, rid, guard))
        return _content_response(api, request, retrieval)


async def _spooled(request: Request, limit: int, directory: Path) -> ContentSpool:
    too_large = FhirError(
        413, error("too-costly", f"The document is larger than the limit of {limit} bytes")
    )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    spool = ContentSpool(limit, directory)
    try:
        async for piece in request.stream():
            spool.write(piece)
    except ContentTooLarge:
        spool.discard()
        raise too_large from None
    except BaseException:
        spool.discard()
        raise
    if spool.size == 0:
        spool.discard()
        raise FhirError(400, error("required", "The request body is empty"))
    return spool


def _wants_fhir(request: Request) -> bool:
    """FHIR JSON for `_format=json`, an Accept naming JSON, `*/*` alone or no Accept (what
    generic FHIR clients send) without a Range; the raw bytes for any other Accept or a
    Range (R4 lets a server choose for `*/*`; the document's own type or
    `application/octet-stream` asks for the bytes)."""
    if "json" in request.query_params.get("_format", ""):
        return True
    accept = request.headers.get("accept", "").lower().strip()
    if "json" in accept:
        return True
    # a byte range is of the raw bytes
    return (not accept or accept == "*/*") and "range" not in request.headers


def _content_response(api: FhirRestApi, request: Request, retrieval: Retrieval) -> Response:
    size = retrieval.size
    content = retrieval.content
    etag = f'"{content.sha256}"' if content is not None else retrieval.version.etag
    headers = {"ETag": etag, "Accept-Ranges": "bytes"}
    wanted = _byte_range(request, etag, size)
    if wanted == "unsatisfiable":
        outcome = FhirError(
            416,
            error("invalid", f"The range is outside the document's {size} bytes"),
            {"Content-Range": f"bytes */{size}"},
        )
        return error_response(outcome)
    start, end, status = 0, size, 200
    if isinstance(wanted, tuple):
        start, end, status = wanted[0], wanted[1], 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    pieces = content_pieces(api.engine, retrieval, start, end)
    return StreamingResponse(
        pieces, status_code=status, headers=headers, media_type=retrieval.content_type
    )


def _byte_range(request: Request, etag: str, size: int) -> tuple[int, int] | str | None:
    """The one byte range asked for as [start, end), "unsatisfiable", or None for the whole
    content (no Range, several ranges, a malformed one, or an If-Range that does not match:
    RFC 9110 §14.2 lets a server ignore those)."""
    header = request.headers.get("range")
    if header is None:
        return None
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(size - length, 0), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, end
