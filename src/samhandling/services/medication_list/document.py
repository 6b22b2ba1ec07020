"""`GET Patient/{id}/$medication-list` (and `Patient/$medication-list?identifier=…`).

The current list as a FHIR document Bundle: the Composition first, then the List (with the
entries still on it at `now`), its MedicationStatements, the prescriptions that are not on
the list ("løse resepter": MedicationRequests whose identifier is no entry's UUID) and the
patient's drug reactions, read from critical information (AllergyIntolerance with the Kj
profile and category medication): one source, never copied into the list. Everything is
read through the caller's guard; a section the caller may not search is left out and
named in the Composition (`emptyReason` withheld).

Every part is one named query, as critical information reads its entries: the entries'
versions together (`vread_many`), the prescriptions and the drug reactions from the
patient's compartment (`store.compartment_queries`), each judged by the guard as a search
would judge it. No general search runs: that was half of the document's time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from samhandling.fhir.outcome import FhirError
from samhandling.interactions.operations import OperationContext, OperationResult
from samhandling.interactions.read import read, vread_many
from samhandling.profiles import PROFILE_BASE
from samhandling.services.medication_list import clock
from samhandling.services.medication_list.kinds import IDENTIFIER_SYSTEM
from samhandling.services.medication_list.listing import (
    LOINC,
    MEDICATION_LIST_CODE,
    PAUSED,
    TITLE,
    entries_of,
    extension,
    list_entry,
    list_id,
    on_list,
)
from samhandling.services.medication_list.patients import patient_of
from samhandling.store.compartment_queries import (
    current_entries_of_types,
    current_entries_with_profiles,
)

DRUG_REACTION_PROFILE = PROFILE_BASE + "kj-allergy-intolerance"
EMPTY = "http://terminology.hl7.org/CodeSystem/list-empty-reason"


def medication_list(context: OperationContext) -> OperationResult:
    """The patient's medication list document."""
    patient_id = patient_of(context)
    return OperationResult(document(context, patient_id, clock.now()))


def document(context: OperationContext, patient_id: str, now: datetime) -> dict[str, Any]:
    """The document Bundle of the patient's list as it stands at `now`."""
    listing = current_list(context, patient_id, now)
    statements = _statements(context, listing)
    uuids = set(entries_of(listing))
    requests = _visible(
        context, "MedicationRequest", current_entries_of_types, patient_id, ["MedicationRequest"]
    )
    if requests is not None:
        requests = [r for r in requests if not _entry_uuids(r) & uuids]
    reactions = _visible(
        context,
        "AllergyIntolerance",
        current_entries_with_profiles,
        patient_id,
        ["AllergyIntolerance"],
        [DRUG_REACTION_PROFILE],
    )
    if reactions is not None:
        reactions = [r for r in reactions if "medication" in (r.get("category") or [])]
    composition = _composition(patient_id, now, listing, requests, reactions)
    resources = [composition, *([listing] if listing else []), *statements]
    resources += (requests or []) + (reactions or [])
    return {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{uuid.uuid4()}"},
        "timestamp": now.isoformat(),
        "entry": [
            {"fullUrl": f"{context.base_url}/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }


def current_list(
    context: OperationContext, patient_id: str, now: datetime
) -> dict[str, Any] | None:
    """The List as shown at `now` (entries past their grace period left out), or None."""
    try:
        stored = read(context.connection, "List", list_id(patient_id), context.guard)
    except FhirError as refusal:
        if refusal.status in (404, 410):
            return None
        raise
    listing = stored.resource()
    kept = [list_entry(r) for r in entries_of(listing).values() if on_list(r, now)]
    return (
        {**listing, "entry": kept} if kept else {k: v for k, v in listing.items() if k != "entry"}
    )


def _statements(context: OperationContext, listing: dict[str, Any] | None) -> list[dict[str, Any]]:
    refs = [(ref.uuid, ref.version) for ref in entries_of(listing).values()]
    if not refs:
        return []
    found = vread_many(context.connection, "MedicationStatement", refs, context.guard)
    return [stored.resource() for stored in found]


def _visible(
    context: OperationContext,
    resource_type: str,
    query: Callable[..., list[dict[str, Any]]],
    *arguments: Any,
) -> list[dict[str, Any]] | None:
    """The patient's resources a named compartment query finds, each judged as a search
    would judge it (`visible`); None when the caller may not search the type at all.
    (The Patient itself was read through the guard first: `patient_of`.)"""
    try:
        context.guard.check_request("search", resource_type)
    except FhirError as refusal:
        if refusal.status == 403:
            return None
        raise
    found = query(context.connection, *arguments)
    return [r for r in found if context.guard.visible("search", r)]


def _entry_uuids(request: dict[str, Any]) -> set[str]:
    """The list-entry UUIDs a prescription carries (the chain head carries its entry's)."""
    return {
        str(i.get("value", "")).removeprefix("urn:uuid:")
        for i in request.get("identifier") or []
        if i.get("system") == IDENTIFIER_SYSTEM
    }


def _composition(
    patient_id: str,
    now: datetime,
    listing: dict[str, Any] | None,
    requests: list[dict[str, Any]] | None,
    reactions: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    sections = [
        _section("Legemiddelliste", MEDICATION_LIST_CODE, [listing] if listing else [], "nilknown"),
        _section("Løse resepter", "57828-6", requests, "nilknown"),
        _section("Legemiddelreaksjoner (kritisk informasjon)", "48765-2", reactions, "nilknown"),
    ]
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "56445-0"}], "text": TITLE},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": now.isoformat(),
        "author": [{"display": "samhandling: Pasientens legemiddelliste"}],
        "title": TITLE,
        "section": sections,
    }
    paused = extension(listing, PAUSED)
    if paused:
        composition["extension"] = [paused]
    return composition


def _section(
    title: str, code: str, resources: list[dict[str, Any]] | None, empty: str
) -> dict[str, Any]:
    section: dict[str, Any] = {
        "title": title,
        "code": {"coding": [{"system": LOINC, "code": code}]},
    }
    if resources is None:
        section["emptyReason"] = {"coding": [{"system": EMPTY, "code": "withheld"}]}
    elif resources:
        section["entry"] = [{"reference": f"{r['resourceType']}/{r['id']}"} for r in resources]
    else:
        section["emptyReason"] = {"coding": [{"system": EMPTY, "code": empty}]}
    return section
