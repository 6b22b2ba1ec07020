"""Reading a patient's critical information in one indexed query.

The summary and the indicator are what every EPJ asks when a record is opened, so they do
not run five searches: one query takes the patient's compartment rows of the five types
(primary-key range), keeps those whose `_profile` index row names a Kj profile, and reads
their current content. The caller's guard then judges every entry as a search would
(`visible`: scopes with their filters, security labels, entries entered in error for
citizens), and records what was shown for the audit trail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, select

from samhandling.fhir import json_codec
from samhandling.services.critical_information.kinds import Kind
from samhandling.store.schema import compartment, index_uri, resource


def stored_entries(
    connection: Connection, patient_id: str, kinds: list[Kind]
) -> list[dict[str, Any]]:
    """The current critical-information entries of one patient of these kinds, by id."""
    if not kinds:
        return []
    c, u, r = compartment.c, index_uri.c, resource.c
    claims_profile = exists().where(
        u.resource_type == c.resource_type,
        u.resource_id == c.resource_id,
        u.param == "_profile",
        u.uri.in_([kind.profile for kind in kinds]),
    )
    stmt = (
        select(r.content)
        .select_from(compartment)
        .join(resource, (r.resource_type == c.resource_type) & (r.resource_id == c.resource_id))
        .where(
            c.patient_id == patient_id,
            c.resource_type.in_([kind.resource_type for kind in kinds]),
            claims_profile,
            r.deleted.is_(False),
        )
        .order_by(c.resource_type, c.resource_id)
    )
    return [json_codec.parse(content) for content in connection.execute(stmt).scalars() if content]
