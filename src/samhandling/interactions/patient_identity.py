"""Finding Patient resources by national identity number (fødselsnummer, D-, FH-number)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from samhandling.identity.identifier_systems import DNR_SYSTEM, FHN_SYSTEM, FNR_SYSTEM
from samhandling.store.schema import index_token, resource

PERSON_SYSTEMS = (FNR_SYSTEM, DNR_SYSTEM, FHN_SYSTEM)


def patient_ids_for_pids(connection: Connection, pids: Iterable[str]) -> dict[str, str]:
    """pid → Patient id for the current, not deleted Patients carrying those numbers."""
    wanted = sorted(set(pids))
    if not wanted:
        return {}
    t = index_token.c
    rows = connection.execute(
        select(t.code, t.resource_id)
        .join(
            resource,
            (resource.c.resource_type == t.resource_type)
            & (resource.c.resource_id == t.resource_id),
        )
        .where(
            t.resource_type == "Patient",
            t.param == "identifier",
            t.system.in_(PERSON_SYSTEMS),
            t.code.in_(wanted),
            resource.c.deleted.is_(False),
        )
        .order_by(t.resource_id)
    ).all()
    found: dict[str, str] = {}
    for code, resource_id in rows:
        found.setdefault(code, resource_id)
    return found
