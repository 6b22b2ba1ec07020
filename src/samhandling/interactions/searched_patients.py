"""The Patients a search is fixed on, its identifiers resolved (`search.patient_focus`).

National identity numbers (and a bare value, any system) are looked up in the register of
who holds which number (`patient_identity`, one query for all of them); an identifier of
another system among the Patients' current identifiers, at most `MAX_OTHER_IDENTIFIERS` of
them per search (one query each). The look-up is the audit trail's: it decides nothing the
caller is answered.
"""

from __future__ import annotations

from sqlalchemy import Connection

from samhandling.interactions.patient_identity import PERSON_SYSTEMS, patient_ids_for_pids
from samhandling.search.patient_focus import patient_focus
from samhandling.store.identity_queries import ids_by_identifier

MAX_OTHER_IDENTIFIERS = 20


def searched_patients(
    connection: Connection,
    resource_type: str | None,
    items: list[tuple[str, str]],
    base_url: str,
    compartment: tuple[str, str] | None,
) -> frozenset[str]:
    """Ids of the Patients the search of `items` on `resource_type` is fixed on."""
    focus = patient_focus(resource_type, items, base_url, compartment)
    found = set(focus.ids)
    numbers = [value for system, value in focus.identifiers if system in (None, *PERSON_SYSTEMS)]
    if numbers:
        found.update(patient_ids_for_pids(connection, numbers).values())
    others = [(s, v) for s, v in focus.identifiers if s is not None and s not in PERSON_SYSTEMS]
    for system, value in others[:MAX_OTHER_IDENTIFIERS]:
        found.update(ids_by_identifier(connection, "Patient", system, value))
    return frozenset(found)
