"""Finding Patient resources by national identity number (fødselsnummer, D-, FH-number)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from samhandling.identifiers.identifier_systems import DNR_SYSTEM, FHN_SYSTEM, FNR_SYSTEM
from samhandling.store.patient_identity import holders

PERSON_SYSTEMS = (FNR_SYSTEM, DNR_SYSTEM, FHN_SYSTEM)


def patient_ids_for_pids(connection: Connection, pids: Iterable[str]) -> dict[str, str]:
    """pid → the one active Patient holding that number (table `patient_identity`).

    A number nobody holds — no Patient, or a duplicate from before the table existed that
    awaits a merge — maps to nothing: the server never picks one of several records.
    """
    found: dict[str, set[str | None]] = {}
    for row in holders(connection, PERSON_SYSTEMS, pids):
        found.setdefault(row.value, set()).add(row.resource_id)
    return {
        pid: holder
        for pid, ids in found.items()
        if len(ids) == 1 and (holder := next(iter(ids))) is not None
    }
