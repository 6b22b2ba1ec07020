"""Medication-list entries and calls for the tests."""

from __future__ import annotations

import uuid
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON

ATC = "http://www.whocc.no/atc"
KIND = "https://samhandling.no/fhir/CodeSystem/pll-entry-kind"
REASON = "https://samhandling.no/fhir/StructureDefinition/pll-change-reason"
PATIENT = CITIZEN


def statement(
    atc: str | None = "C10AA01",
    text: str = "Simvastatin 20 mg",
    entry_id: str | None = None,
    kind: str | None = None,
    patient: str = PATIENT,
    **fields: Any,
) -> dict[str, Any]:
    """A MedicationStatement entry (a new UUID unless given)."""
    entry_id = entry_id or str(uuid.uuid4())
    concept: dict[str, Any] = {"text": text}
    if atc:
        concept["coding"] = [{"system": ATC, "code": atc}]
    entry: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{entry_id}"}],
        "status": "active",
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"Patient/{patient}"},
        "dosage": [{"text": "1 tablett om kvelden"}],
        **fields,
    }
    if kind:
        entry["category"] = {"coding": [{"system": KIND, "code": kind}]}
    return entry


def uuid_of(entry: dict[str, Any]) -> str:
    return str(entry["identifier"][0]["value"]).removeprefix("urn:uuid:")


def with_reason(entry: dict[str, Any], reason: str, **changes: Any) -> dict[str, Any]:
    """The entry changed (or withdrawn) with the prescriber's reason."""
    changed = {k: v for k, v in entry.items() if k not in ("meta", "extension")}
    changed.update(changes)
    changed["extension"] = [{"url": REASON, "valueString": reason}]
    return changed


def body(based_on: int | None, entries: list[dict[str, Any]]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [{"name": "entry", "resource": e} for e in entries]
    if based_on is not None:
        parameters.insert(0, {"name": "basedOn", "valueInteger": based_on})
    return {"resourceType": "Parameters", "parameter": parameters}


def save(
    world: World,
    persona: str,
    based_on: int | None,
    entries: list[dict[str, Any]],
    patient: str = PATIENT,
    if_match: str | None = None,
) -> Any:
    headers = {**FHIR_JSON, **world.as_(persona)}
    if if_match is not None:
        headers["If-Match"] = if_match
    url = f"/fhir/Patient/{patient}/$medication-list-update"
    return world.client.post(url, json=body(based_on, entries), headers=headers)


def read_list(world: World, persona: str, patient: str = PATIENT) -> Any:
    url = f"/fhir/Patient/{patient}/$medication-list"
    return world.client.get(url, headers=world.as_(persona))


def resources(document: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def version(response: Any) -> int:
    return int(response.headers["ETag"].split('"')[1])
