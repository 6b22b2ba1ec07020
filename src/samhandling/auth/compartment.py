"""Which patient a resource belongs to, which types hold no patient data, and ages."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from samhandling.fhir.references import parse_relative_reference

#: Resource types that hold no patient's data (definitions, directories, terminology).
NON_PATIENT_TYPES = frozenset(
    {
        "ActivityDefinition",
        "CapabilityStatement",
        "CodeSystem",
        "ConceptMap",
        "Endpoint",
        "HealthcareService",
        "Library",
        "Location",
        "Medication",
        "MedicationKnowledge",
        "NamingSystem",
        "OperationDefinition",
        "Organization",
        "PlanDefinition",
        "Practitioner",
        "PractitionerRole",
        "Questionnaire",
        "SearchParameter",
        "StructureDefinition",
        "Substance",
        "TerminologyCapabilities",
        "ValueSet",
    }
)

# `securityContext`: a Binary follows the access rules of the resource it names (R4); the
# document-sharing service points a document's Binary at its Patient.
_PATIENT_FIELDS = ("subject", "patient", "beneficiary", "securityContext")


#: what `patient_ids_of` reads of a resource besides its `resourceType`: a Patient's own id
#: names its compartment, a Subscription's filters name theirs, every other type's
#: references (so a Patient's `subject`, an Observation's `id`, are never read)
_WHOSE_READS = {
    "Patient": frozenset({"id"}),
    "Subscription": frozenset({"criteria", "_criteria"}),
}
_REFERENCE_READS = frozenset(_PATIENT_FIELDS)


def patient_reads(resource_type: str) -> frozenset[str]:
    """The top-level elements `patient_ids_of` reads of a `resource_type` resource."""
    return _WHOSE_READS.get(resource_type, _REFERENCE_READS) | {"resourceType"}


def holds_patient_data(resource_type: str | None) -> bool:
    """Whether resources of this type may hold a patient's data (unknown → True)."""
    return resource_type not in NON_PATIENT_TYPES


def _patient_id(reference: Any) -> str | None:
    """The id of a relative `Patient/<id>` reference. An absolute URL names a patient of
    another server, however its path ends (the compartment table counts the same way)."""
    if not isinstance(reference, dict):
        return None
    text = reference.get("reference")
    return _referenced_patient(text) if isinstance(text, str) else None


@lru_cache(maxsize=4096)
def _referenced_patient(reference: str) -> str | None:
    """The Patient id a reference's text names (a search judges many resources of a few
    patients: the same few texts, parsed once)."""
    parsed = parse_relative_reference(reference)
    return parsed[1] if parsed is not None and parsed[0] == "Patient" else None


@lru_cache(maxsize=4096)
def _one_patient(patient_id: str) -> frozenset[str]:
    return frozenset((patient_id,))


def patient_ids_of(resource: dict[str, Any] | None) -> frozenset[str] | None:
    """The Patient ids a resource belongs to; None when it cannot be told from the resource
    (e.g. Binary, or a resource without a subject)."""
    if not resource:
        return None
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return frozenset({rid}) if isinstance(rid, str) and rid else None
    if resource.get("resourceType") == "Subscription":
        return _subscribed_patients(resource)
    found = [
        pid
        for f in _PATIENT_FIELDS
        if (value := resource.get(f)) is not None and (pid := _patient_id(value)) is not None
    ]
    if len(found) == 1:  # the usual: one subject (a shared frozenset, as immutable as a new one)
        return _one_patient(found[0])
    return frozenset(found) if found else None


def _subscribed_patients(subscription: dict[str, Any]) -> frozenset[str] | None:
    """A Subscription belongs to the patients its filters name: `patient=` in the R4
    Backport's filter criteria (`_criteria` extensions) or in classic R4 `criteria`
    (`Type?patient=Patient/<id>&…`). None when it names none (e.g. a system's)."""
    criteria = subscription.get("_criteria")
    extensions = criteria.get("extension", []) if isinstance(criteria, dict) else []
    texts = [subscription.get("criteria"), *(e.get("valueString") for e in extensions)]
    ids = set()
    for text in texts:
        query = text.rpartition("?")[2] if isinstance(text, str) else ""
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if name == "patient" and value:
                ids.add(value.removeprefix("Patient/"))
    return frozenset(ids) if ids else None


def age_on(birth: date, today: date) -> int:
    """Completed years of age on `today`."""
    before_birthday = (today.month, today.day) < (birth.month, birth.day)
    return today.year - birth.year - (1 if before_birthday else 0)
