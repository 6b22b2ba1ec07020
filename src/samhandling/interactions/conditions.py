"""Preconditions of writes: If-Match versions and search criteria (conditional interactions)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from sqlalchemy import Connection

from samhandling.access_guard import OPEN_ACCESS, AccessGuard
from samhandling.fhir.outcome import FhirError, error
from samhandling.search.query import parse_search
from samhandling.search.sql import custom_plans, matching_resources
from samhandling.search.visibility import visible_ids
from samhandling.store.advisory_locks import lock_key
from samhandling.store.records import StoredVersion

ETAG = re.compile(r'^(?:W/)?"?([0-9]+)"?$')
MAX_MATCHES = 2  # one is the answer; a second makes it ambiguous (412)


def parse_if_match(header: str | None) -> int | None:
    """The version named by an If-Match header (`W/"3"`), or None when absent."""
    if header is None or not header.strip():
        return None
    match = ETAG.match(header.strip())
    if not match:
        raise FhirError(400, error("invalid", f"Malformed If-Match header: {header!r}"))
    return int(match.group(1))


def check_version(current: StoredVersion | None, expected: int | None) -> None:
    """Refuse with 412 when `expected` is given and is not the current version."""
    if expected is None:
        return
    if current is None or current.deleted:
        raise FhirError(
            412, error("conflict", f"If-Match version {expected} but the resource does not exist")
        )
    if current.version_id != expected:
        message = (
            f"Version conflict: If-Match names version {expected}, "
            f"the current version is {current.version_id}"
        )
        raise FhirError(412, error("conflict", message), headers={"ETag": current.etag})


def conditional_lock(connection: Connection, resource_type: str, criteria: str) -> None:
    """The transaction lock that serialises conditional writes with these criteria."""
    lock_key(connection, conditional_lock_key(resource_type, criteria))


def conditional_lock_key(resource_type: str, criteria: str) -> str:
    """The key of the lock of conditional writes with these criteria."""
    return f"conditional:{resource_type}?{criteria}"


def find_matches(
    connection: Connection,
    resource_type: str,
    criteria: str,
    *,
    lock: bool = True,
    guard: AccessGuard = OPEN_ACCESS,
    interaction: str = "search",
) -> list[str]:
    """Ids of current resources of `resource_type` matching `criteria` that the caller may
    see, serialised per criteria.

    The guard decides first whether the caller may do `interaction` on the type and search
    it; the matching then runs under the caller's search restriction, so that a resource
    the caller may not see never matches and no answer (200, 201, 204, 412) depends on it.
    The lock makes check-then-write race-safe: two concurrent conditional creates with the
    same criteria cannot both see "no match" (R4 §3.1.0.8.1). A look-up that writes nothing
    on the strength of its answer (resolving a conditional reference) takes no lock.
    """
    items = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
    if not items:
        raise FhirError(400, error("invalid", "Conditional interaction without search criteria"))
    query = parse_search(resource_type, items)
    restriction = guard.conditional_restriction(interaction, resource_type)
    if lock:
        conditional_lock(connection, resource_type, criteria)
    custom_plans(connection)
    stmt = matching_resources(query, connection=connection, restriction=restriction)
    if restriction is None or restriction.hidden is None:
        return [row.resource_id for row in connection.execute(stmt.limit(MAX_MATCHES))]
    ids = stmt.with_only_columns(stmt.selected_columns.resource_id)
    return visible_ids(connection, resource_type, ids, restriction, first=MAX_MATCHES)
