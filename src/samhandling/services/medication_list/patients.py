"""Which patient an operation is about, and the medication list it has."""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import FhirError, error
from samhandling.identifiers.identifier_systems import FNR_SYSTEM
from samhandling.interactions.operations import OperationContext
from samhandling.interactions.read import read
from samhandling.store.advisory_locks import lock_key
from samhandling.store.identity_queries import ids_by_identifier
from samhandling.store.records import StoredVersion


def patient_of(context: OperationContext) -> str:
    """The Patient of the operation (instance, or `identifier` = system|value or an FNR),
    read through the guard: 404/403 as for a read of the Patient."""
    patient_id = context.resource_id
    if patient_id is None:
        identifier = context.text("identifier")
        if identifier is None:
            message = "Name the patient: Patient/{id}/$… or identifier=system|value"
            raise FhirError(400, error("required", message, "identifier"))
        system, _, value = identifier.rpartition("|")
        ids = ids_by_identifier(context.connection, "Patient", system or FNR_SYSTEM, value)
        if len(ids) != 1:
            raise FhirError(404, error("not-found", "No single patient has that identifier"))
        patient_id = ids[0]
    read(context.connection, "Patient", patient_id, context.guard)
    return patient_id


def locked_list(context: OperationContext, lid: str) -> StoredVersion | None:
    """The current List, locked until the transaction ends: its row lock
    (`VersionWriter.current`: FOR UPDATE on PostgreSQL, the write lock on SQLite), after a
    lock keyed by its id that also serialises the writers of a list that does not exist yet."""
    lock_key(context.connection, f"medication-list:{lid}")
    return context.writer.current("List", lid)


def resources(context: OperationContext, name: str, resource_type: str) -> list[dict[str, Any]]:
    """Every value of a resource parameter, each of `resource_type` (else 400)."""
    found = context.parameters.get(name) or []
    for value in found:
        if not isinstance(value, dict) or value.get("resourceType") != resource_type:
            message = f"Every {name} parameter must hold a {resource_type} resource"
            raise FhirError(400, error("invalid", message, name))
    return list(found)
