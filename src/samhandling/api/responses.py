"""FHIR responses: JSON bodies with the right media type and headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from samhandling.api.conditional_reads import not_modified
from samhandling.fhir import json_codec
from samhandling.fhir.instants import format_http_date
from samhandling.fhir.outcome import FhirError

if TYPE_CHECKING:  # the version an interaction returns (`crud.WriteResult.version`)
    from samhandling.interactions.crud import StoredVersion

FHIR_JSON = "application/fhir+json; charset=utf-8"
CONTENT_TYPE = (b"content-type", FHIR_JSON.encode("latin-1"))


def fhir_response(
    body: dict[str, Any] | bytes | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = body if isinstance(body, bytes | None) else json_codec.dump(body)
    return Response(
        content,
        status_code=status,
        headers=headers,
        media_type=FHIR_JSON if content is not None else None,
    )


def error_response(exc: FhirError) -> Response:
    return fhir_response(exc.outcome(), exc.status, dict(exc.headers))


def version_headers(
    version: StoredVersion, base_url: str, *, location: bool = False
) -> dict[str, str]:
    """ETag and Last-Modified for a version, and Location for creates (R4 §3.1.0.4)."""
    headers = {"ETag": version.etag, "Last-Modified": format_http_date(version.last_updated_us)}
    if location:
        headers["Location"] = f"{base_url}/{version.location}"
    return headers


class RawResponse(Response):
    """A response whose status, raw (lower-case, encoded) headers and body are given as
    sent: none of `Response`'s header handling on the way (a read's answer)."""

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code, self.raw_headers, self.body = status, raw_headers, body
        self.background = None


def version_response(
    version: StoredVersion, base_url: str, request: Mapping[str, str]
) -> RawResponse:
    """A read's answer to a request with the headers `request`: the version with its ETag
    and Last-Modified (as `fhir_response` with `version_headers` makes it), or 304 Not
    Modified when the client's copy is still current."""
    etag = version.etag
    modified = format_http_date(version.last_updated_us)
    headers = [(b"etag", etag.encode("latin-1")), (b"last-modified", modified.encode("latin-1"))]
    if not_modified(request, etag, modified):
        return RawResponse(304, headers, b"")
    body = version.content or b""
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    if version.content is not None:
        headers.append(CONTENT_TYPE)
    return RawResponse(200, headers, body)
