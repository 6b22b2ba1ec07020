"""Running one Bundle entry through the same interactions the REST API uses."""

from __future__ import annotations

import base64
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from samhandling.fhir.instants import format_instant
from samhandling.fhir.outcome import FhirError, error, operation_outcome
from samhandling.fhir.patch import (
    MAX_PATCHED_BYTES,
    apply_fhirpath_patch,
    apply_json_patch,
    read_fhirpath_patch,
)
from samhandling.fhir.validation.cardinality import element_repeats
from samhandling.interactions import crud, read
from samhandling.interactions.bundle_entries import BundleEntry, status_line
from samhandling.interactions.bundle_refs import ReferenceResolver
from samhandling.interactions.conditions import parse_if_match
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.resource_input import check_resource_type, parse_json
from samhandling.store.records import StoredVersion
from samhandling.store.version_writer import VersionWriter


class EntryContext(NamedTuple):
    """What every entry of one Bundle shares: the writer (and its guard), ids, base URL.
    (A named tuple: a batch makes one per entry, at half the cost of a frozen dataclass.)"""

    writer: VersionWriter
    resolver: ReferenceResolver
    base_url: str
    representation: bool


def run_entry(context: EntryContext, entry: BundleEntry) -> dict[str, Any]:
    """Execute one entry and return its response entry."""
    writer, resolver = context.writer, context.resolver
    base_url, representation = context.base_url, context.representation
    check_resource_type(entry.resource_type)
    if_match = parse_if_match(entry.request.get("ifMatch"))
    if entry.method in ("GET", "HEAD"):
        return _get(writer, entry, base_url)
    if entry.method == "POST":
        assignment = resolver.assignments[entry.index]
        if assignment.existing:
            current = writer.current(entry.resource_type, assignment.resource_id)
            assert current is not None
            return _response(crud.WriteResult(current, 200), base_url, representation)
        result = crud.create(
            writer, entry.resource, resource_id=assignment.resource_id, assigned=True
        )
    elif entry.method == "PUT":
        resource_id = resolver.assignments[entry.index].resource_id
        body = entry.resource
        if isinstance(body, dict) and len(entry.path) < 2:
            body = {**body, "id": resource_id}
        result = crud.update(writer, entry.resource_type, resource_id, body, if_match=if_match)
    elif entry.method == "PATCH":
        apply = patch_function(entry.resource)
        result = crud.patch(
            writer, entry.resource_type, _instance_id(entry), apply, if_match=if_match
        )
    else:
        deleted = _delete(writer, entry, if_match)
        return {"response": {"status": "204 No Content" if deleted else "200 OK"}}
    return _response(result, base_url, representation)


def patch_function(patch_resource: Any, max_bytes: int = MAX_PATCHED_BYTES) -> Any:
    """A patch in a Bundle is a Parameters (FHIRPath Patch) or a Binary with a JSON Patch;
    the patched resource may have at most `max_bytes` of JSON."""
    if isinstance(patch_resource, dict) and patch_resource.get("resourceType") == "Parameters":
        read_fhirpath_patch(patch_resource)  # a malformed patch is a 400 before any read
        return lambda current: apply_fhirpath_patch(
            current, patch_resource, repeats=element_repeats, max_bytes=max_bytes
        )
    if isinstance(patch_resource, dict) and patch_resource.get("resourceType") == "Binary":
        if patch_resource.get("contentType") != "application/json-patch+json":
            raise FhirError(
                415, error("not-supported", "A Binary patch must be application/json-patch+json")
            )
        try:
            raw = base64.b64decode(patch_resource.get("data", ""), validate=True)
        except (TypeError, ValueError):
            raise FhirError(400, error("invalid", "Binary.data is not base64")) from None
        operations = parse_json(raw)
        return lambda current: apply_json_patch(current, operations, max_bytes=max_bytes)
    raise FhirError(400, error("invalid", "PATCH entries need a Parameters or Binary resource"))


def _instance_id(entry: BundleEntry) -> str:
    if len(entry.path) < 2:
        raise FhirError(400, error("invalid", f"{entry.method} needs Type/id in the url"))
    return entry.path[1]


def _delete(writer: VersionWriter, entry: BundleEntry, if_match: int | None) -> bool:
    if len(entry.path) >= 2:
        return (
            crud.delete(writer, entry.resource_type, entry.path[1], if_match=if_match) is not None
        )
    if entry.query:
        return crud.conditional_delete(writer, entry.resource_type, entry.query) is not None
    raise FhirError(400, error("invalid", "DELETE needs an id or search criteria"))


def _get(writer: VersionWriter, entry: BundleEntry, base_url: str) -> dict[str, Any]:
    """A read, vread or search entry, audited as the plain GET would be, whether or not the
    Bundle writes (its record goes in with the Bundle's others, `AccessGuard.after_read`)."""
    connection, guard = writer.connection, writer.guard
    since, url = guard.mark(), "/".join(entry.path) + (f"?{entry.query}" if entry.query else "")
    if len(entry.path) == 1:
        items = parse_qsl(entry.query, keep_blank_values=True)
        bundle = guarded_search(connection, entry.resource_type, items, base_url, guard)
        guard.after_read(connection, "search", url, since)
        return {"resource": bundle, "response": {"status": "200 OK"}}
    if len(entry.path) == 4 and entry.path[2] == "_history":
        rid, vid = entry.path[1], entry.path[3]
        version = read.vread(connection, entry.resource_type, rid, vid, guard)
        guard.after_read(connection, "vread", url, since)
    else:
        version = read.read(connection, entry.resource_type, entry.path[1], guard)
        guard.after_read(connection, "read", url, since)
    return {"resource": version.resource(), "response": _response_meta(version, 200)}


def _response(result: crud.WriteResult, base_url: str, representation: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "fullUrl": f"{base_url}/{result.version.resource_type}/{result.version.resource_id}",
        "response": _response_meta(result.version, result.status),
    }
    if result.warnings:  # Bundle.entry.response.outcome: "hints and warnings" of the entry
        entry["response"]["outcome"] = operation_outcome(result.warnings)
    if representation:
        entry["resource"] = result.version.resource()
    return entry


def _response_meta(version: StoredVersion, status: int) -> dict[str, Any]:
    return {
        "status": status_line(status),
        "location": version.location,
        "etag": version.etag,
        "lastModified": format_instant(version.last_updated_us),
    }
