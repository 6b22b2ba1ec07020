"""Named queries over a patient's compartment, for services that must not build SQL.

The compartment table lists, per patient, every resource in the patient's compartment;
these queries join it with the current row of each resource (and its index rows where
needed), so a service asks a question in the domain's words and gets content back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, select

from samhandling.fhir import json_codec
from samhandling.store.schema import compartment, index_uri, resource


def current_entries_with_profiles(
    connection: Connection, patient_id: str, resource_types: list[str], profiles: list[str]
) -> list[dict[str, Any]]:
    """A patient's current, not deleted compartment resources of these types whose
    `_profile` index names one of these profiles, ordered by (type, id).

    One indexed query: the compartment's primary-key range for the patient, an `exists`
    on the `_profile` uri rows, and the current content.
    """
    if not resource_types or not profiles:
        return []
    c, u, r = compartment.c, index_uri.c, resource.c
    claims_profile = exists().where(
        u.resource_type == c.resource_type,
        u.resource_id == c.resource_id,
        u.param == "_profile",
        u.uri.in_(profiles),
    )
    stmt = (
        select(r.content)
        .select_from(compartment)
        .join(resource, (r.resource_type == c.resource_type) & (r.resource_id == c.resource_id))
        .where(
            c.patient_id == patient_id,
            c.resource_type.in_(resource_types),
            claims_profile,
            r.deleted.is_(False),
        )
        .order_by(c.resource_type, c.resource_id)
    )
    return [json_codec.parse(content) for content in connection.execute(stmt).scalars() if content]


def current_entries_of_types(
    connection: Connection, patient_id: str, resource_types: list[str]
) -> list[dict[str, Any]]:
    """A patient's current, not deleted compartment resources of these types, ordered by
    (type, id): the compartment's primary-key range joined with the current content."""
    if not resource_types:
        return []
    c, r = compartment.c, resource.c
    stmt = (
        select(r.content)
        .select_from(compartment)
        .join(resource, (r.resource_type == c.resource_type) & (r.resource_id == c.resource_id))
        .where(
            c.patient_id == patient_id,
            c.resource_type.in_(resource_types),
            r.deleted.is_(False),
        )
        .order_by(c.resource_type, c.resource_id)
    )
    return [json_codec.parse(content) for content in connection.execute(stmt).scalars() if content]
