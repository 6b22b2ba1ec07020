"""Finding Patient resources by national identity number (fødselsnummer, D-, FH-number)."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
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
        select(t.code, t.resource_id, resource.c.content)
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
    found_content: dict[str, bytes | None] = {}
    for code, resource_id, content in rows:
        # After a merge the old number is on both Patients; the one replaced by the other
        # is never the person's current record.
        if code not in found or _replaced(found_content[code]):
            found[code] = resource_id
            found_content[code] = content
    return found


def _replaced(content: bytes | None) -> bool:
    links = orjson.loads(content or b"{}").get("link", [])
    return any(link.get("type") == "replaced-by" for link in links)
