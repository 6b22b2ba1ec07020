"""Reading a `$merge` request: which Patient is the source, which the target (R5 Patient-merge).

A patient is named by `<role>-patient` (a Reference: `reference`, or only an `identifier`)
and/or `<role>-patient-identifier` (Identifiers). Every selector must resolve, and all of
them together must name exactly one current Patient; otherwise the request is refused (422)
before anything is read for the merge itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.operations import OperationContext
from samhandling.services.identity.common import (
    identifier_key,
    patient_id_of_reference,
)
from samhandling.services.identity.lookups import current_resource
from samhandling.store.database import Connection
from samhandling.store.identity_queries import ids_by_identifier


@dataclass(frozen=True)
class MergeRequest:
    """The resolved request: source and target Patient ids, the optional result, preview."""

    source_id: str
    target_id: str
    result_patient: dict[str, Any] | None
    preview: bool


def merge_request(context: OperationContext) -> MergeRequest:
    """Resolve and check the parameters of a `$merge` call (see the module doc)."""
    source = resolve_patient(context, "source")
    target = resolve_patient(context, "target")
    if source == target:
        raise FhirError(422, error("business-rule", "Source and target are the same Patient"))
    result = context.resource("result-patient", "Patient")
    if result is not None and result.get("id") != target:
        message = "result-patient must have the id of the target Patient"
        raise FhirError(400, error("invalid", message, "result-patient"))
    return MergeRequest(source, target, result, context.boolean("preview"))


def resolve_patient(context: OperationContext, role: str) -> str:
    """The one Patient id all selectors of `role` ("source" or "target") agree on."""
    selections = [
        *(_by_reference(context, value, role) for value in _values(context, f"{role}-patient")),
        *(
            _by_identifier(context.connection, value, f"{role}-patient-identifier")
            for value in _values(context, f"{role}-patient-identifier")
        ),
    ]
    if not selections:
        message = f"The {role} patient is required ({role}-patient or {role}-patient-identifier)"
        raise FhirError(400, error("required", message, f"{role}-patient"))
    common = set.intersection(*selections)
    if len(common) != 1:
        found = "no Patient" if not common else f"{len(common)} Patients"
        message = f"The {role} patient selectors together match {found}; exactly one is required"
        raise FhirError(422, error("processing", message, f"{role}-patient"))
    return common.pop()


def _values(context: OperationContext, name: str) -> list[Any]:
    return list(context.parameters.get(name, []))


def _by_reference(context: OperationContext, value: Any, role: str) -> set[str]:
    name = f"{role}-patient"
    if isinstance(value, str):
        value = {"reference": value}
    if not isinstance(value, dict) or not ("reference" in value or "identifier" in value):
        raise FhirError(400, error("invalid", f"{name} must be a Reference", name))
    if "reference" not in value:
        return _by_identifier(context.connection, value["identifier"], name)
    reference = value["reference"]
    patient_id = (
        patient_id_of_reference(reference, context.base_url) if isinstance(reference, str) else None
    )
    if patient_id is None:
        raise FhirError(400, error("invalid", f"{name} must reference a Patient", name))
    if current_resource(context.connection, "Patient", patient_id) is None:
        message = f"{name} Patient/{patient_id} is not known (or deleted)"
        raise FhirError(422, error("not-found", message, name))
    ids = {patient_id}
    if isinstance(value.get("identifier"), dict):
        ids &= _by_identifier(context.connection, value["identifier"], name)
    return ids


def _by_identifier(connection: Connection, value: Any, name: str) -> set[str]:
    key = identifier_key(value)
    if key is None:
        raise FhirError(400, error("invalid", f"{name} needs an Identifier with system and value"))
    ids = set(ids_by_identifier(connection, "Patient", *key))
    if not ids:
        message = f"{name} {key[0]}|{key[1]} does not identify any Patient"
        raise FhirError(422, error("not-found", message, name))
    return ids
