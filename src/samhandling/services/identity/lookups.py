"""The few look-ups the identity service needs that plain search does not give.

A merge must see *every* resource that points at a Patient, whatever the caller's search
restrictions, page sizes or snapshots; the registers check runs before any request is
authorised. The queries themselves are named functions of the store
(`store/identity_queries.py`); this module gives the service their results as content.
"""

from __future__ import annotations

from typing import Any

from samhandling.store.database import Connection
from samhandling.store.identity_queries import ResourceKey, ids_by_identifier
from samhandling.store.reader import read_current, read_many_current
from samhandling.store.records import StoredVersion


def current_resource(
    connection: Connection, resource_type: str, resource_id: str
) -> dict[str, Any] | None:
    """The current content of a resource, or None when unknown or deleted."""
    stored = read_current(connection, resource_type, resource_id)
    if stored is None or stored.deleted:
        return None
    return stored.resource()


def resources_by_identifier(
    connection: Connection, resource_type: str, system: str, value: str
) -> list[dict[str, Any]]:
    """Current resources of a type carrying the identifier `system|value`, by id."""
    ids = ids_by_identifier(connection, resource_type, system, value)
    found = read_many_current(connection, [(resource_type, i) for i in ids])
    return [found[(resource_type, i)].resource() for i in ids if (resource_type, i) in found]


def current_versions(
    connection: Connection, keys: list[ResourceKey]
) -> dict[ResourceKey, StoredVersion]:
    """The current, not deleted versions of the given resources."""
    return read_many_current(connection, keys)
