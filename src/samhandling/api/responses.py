"""FHIR responses: JSON bodies with the right media type and headers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from samhandling.fhir import json_codec
from samhandling.fhir.instants import format_http_date
from samhandling.fhir.outcome import FhirError

if TYPE_CHECKING:  # a type only: the API reaches the store through the interactions
    from samhandling.store.records import StoredVersion

FHIR_JSON = "application/fhir+json; charset=utf-8"


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
