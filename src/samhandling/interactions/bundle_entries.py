"""Parsing the entries of a batch or transaction Bundle (R4 §3.1.0.11)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from samhandling.fhir.outcome import FhirError, Issue, error

T = TypeVar("T")

# R4 §3.1.0.11.2: DELETE, then POST, then PUT/PATCH, then GET/HEAD.
METHOD_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
# Bundle.entry.request members of type string (R4 §2.36.0 Bundle)
_STRING_MEMBERS = ("ifNoneMatch", "ifModifiedSince", "ifMatch", "ifNoneExist")


@dataclass
class BundleEntry:
    """One request entry: where it sits in the Bundle and what it asks for."""

    index: int
    method: str
    url: str
    full_url: str | None
    resource: Any
    request: dict[str, Any]
    path: list[str] = field(default_factory=list)
    query: str = ""

    @property
    def resource_type(self) -> str:
        return self.path[0] if self.path else ""


def parse_bundle(body: Any) -> tuple[str, list[BundleEntry]]:
    """(type, entries) of a batch or transaction Bundle; anything else is a 400."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise FhirError(400, error("invalid", "POST to the base URL needs a Bundle"))
    kind = body.get("type")
    if kind not in ("batch", "transaction"):
        raise FhirError(
            400,
            error(
                "invalid", f"Bundle.type must be batch or transaction, not {kind!r}", "Bundle.type"
            ),
        )
    raw_entries = body.get("entry", [])
    if not isinstance(raw_entries, list):
        raise FhirError(400, error("structure", "Bundle.entry must be an array", "Bundle.entry"))
    return kind, [_entry(i, e) for i, e in enumerate(raw_entries)]


def _entry(index: int, raw: Any) -> BundleEntry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise FhirError(400, error("required", "Each entry needs a request", f"{where}.request"))
    request = raw["request"]
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or method not in METHOD_ORDER or not isinstance(url, str):
        raise FhirError(
            400, error("invalid", "Entry request needs a method and a url", f"{where}.request")
        )
    full_url = raw.get("fullUrl")
    strings = {"url": url, "fullUrl": full_url, **{k: request.get(k) for k in _STRING_MEMBERS}}
    for member, value in strings.items():
        if value is not None and (not isinstance(value, str) or not value):
            message = f"{member} must be a non-empty string"
            raise FhirError(400, error("structure", message, f"{where}.{member}"))
    split = urlsplit(url)
    path = [p for p in split.path.split("/") if p]
    resource = raw.get("resource")
    return BundleEntry(index, method, url, full_url, resource, request, path, split.query)


def status_line(status: int) -> str:
    return {
        200: "200 OK",
        201: "201 Created",
        204: "204 No Content",
        304: "304 Not Modified",
        400: "400 Bad Request",
        403: "403 Forbidden",
        404: "404 Not Found",
        409: "409 Conflict",
        410: "410 Gone",
        412: "412 Precondition Failed",
        422: "422 Unprocessable Entity",
        503: "503 Service Unavailable",
    }.get(status, str(status))


def naming_entry(entry: BundleEntry, action: Callable[..., T], *args: Any) -> T:
    """Run `action`; a FhirError is re-raised naming the entry that failed."""
    try:
        return action(*args)
    except FhirError as exc:
        where = f"Bundle.entry[{entry.index}]"
        issues = [
            Issue(
                i.severity,
                i.code,
                f"{where} ({entry.method} {entry.url}): {i.diagnostics}",
                i.expression,
            )
            for i in exc.issues
        ]
        raise FhirError(exc.status, issues, exc.headers) from exc
