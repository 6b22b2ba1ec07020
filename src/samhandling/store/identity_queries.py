"""Named queries the identity service needs that plain search does not give.

A merge must see *every* resource that points at a Patient, whatever the caller's search
restrictions, page sizes or snapshots; the registers check runs before any request is
authorised. Both read the index tables written by the version writer directly, always
joined with the current, not deleted row of the resource.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from samhandling.store.schema import compartment, index_reference, index_token, resource

ResourceKey = tuple[str, str]


# Built once: a search fixed on a Patient's identifier asks it every time (the audit trail's
# patients, `interactions/searched_patients.py`), and SQLAlchemy then finds its compiled
# form by the cache key it has already computed, without building and keying a new statement.
_T = index_token.c
_IDS_BY_IDENTIFIER = (
    select(_T.resource_id)
    .join(
        resource,
        (resource.c.resource_type == _T.resource_type) & (resource.c.resource_id == _T.resource_id),
    )
    .where(
        _T.resource_type == bindparam("rtype"),
        _T.param == "identifier",
        _T.system == bindparam("system"),
        _T.code == bindparam("code"),
        resource.c.deleted.is_(False),
    )
    .distinct()
    .order_by(_T.resource_id)
)


def ids_by_identifier(
    connection: Connection, resource_type: str, system: str, value: str
) -> list[str]:
    """Ids of current resources of a type carrying the identifier `system|value`."""
    params = {"rtype": resource_type, "system": system, "code": value}
    return [row[0] for row in connection.execute(_IDS_BY_IDENTIFIER, params)]


def pointing_at_patient(connection: Connection, patient_id: str) -> list[ResourceKey]:
    """Every resource in the patient's compartment or referencing the Patient through any
    indexed reference parameter, sorted by (type, id)."""
    c = compartment.c
    in_compartment = connection.execute(
        select(c.resource_type, c.resource_id).where(c.patient_id == patient_id)
    ).all()
    r = index_reference.c
    referencing = connection.execute(
        select(r.resource_type, r.resource_id)
        .where(r.target_type == "Patient", r.target_id == patient_id)
        .distinct()
    ).all()
    keys = {(row[0], row[1]) for row in (*in_compartment, *referencing)}
    return sorted(keys)
