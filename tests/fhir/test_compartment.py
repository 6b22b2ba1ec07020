"""Patient-compartment membership per the official R4 Patient CompartmentDefinition."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from samhandling.fhir.compartment import (
    compartment_params,
    compartment_resource_types,
    patient_compartment_ids,
)
from samhandling.fhir.indexing.values import extract_index_values
from samhandling.fhir.search_parameters import default_registry


def test_compartment_params() -> None:
    assert compartment_params("Observation") == ("subject", "performer")
    assert compartment_params("Encounter") == ("patient",)
    assert compartment_params("Patient") == ("link",)
    assert compartment_params("AllergyIntolerance") == ("patient", "recorder", "asserter")
    assert compartment_params("Organization") == ()
    assert compartment_params("NoSuchType") == ()
    assert len(compartment_resource_types()) == 66
    assert "Task" not in compartment_resource_types()  # official R4: Task is not a member


def test_every_compartment_param_is_a_reference_parameter() -> None:
    registry = default_registry()
    for resource_type in compartment_resource_types():
        for code in compartment_params(resource_type):
            parameter = registry.get(resource_type, code)
            assert parameter is not None and parameter.type == "reference", (resource_type, code)


def test_observation_via_subject_and_performer() -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p1"},
        "performer": [
            {"reference": "Practitioner/d1"},
            {"reference": "Patient/p2/_history/3"},
            {"reference": "RelatedPerson/r1"},
        ],
    }
    assert patient_compartment_ids(observation) == {"p1", "p2"}
    observation["subject"] = {"reference": "Group/g1"}
    assert patient_compartment_ids(observation) == {"p2"}


def test_patient_is_in_its_own_compartment() -> None:
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    assert patient_compartment_ids(patient) == {"p1"}
    patient["link"] = [
        {"other": {"reference": "Patient/p0"}, "type": "replaces"},
        {"other": {"reference": "RelatedPerson/r1"}, "type": "seealso"},
    ]
    assert patient_compartment_ids(patient) == {"p1", "p0"}
    assert patient_compartment_ids({"resourceType": "Patient"}) == frozenset()


def test_encounter_via_patient() -> None:
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
    }
    assert patient_compartment_ids(encounter) == frozenset()
    encounter["subject"] = {"reference": "Patient/p1"}
    encounter["participant"] = [{"individual": {"reference": "Practitioner/d1"}}]
    assert patient_compartment_ids(encounter) == {"p1"}
    encounter["subject"] = {"reference": "Group/g1"}
    assert patient_compartment_ids(encounter) == frozenset()


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Organization", "id": "o1", "partOf": {"reference": "Patient/p1"}},
        {"resourceType": "Practitioner", "id": "d1"},
        {"resourceType": "Medication", "id": "m1", "code": {"text": "Paracet"}},
        {"resourceType": "Task", "for": {"reference": "Patient/p1"}, "status": "ready"},
        {"resourceType": "NoSuchType", "subject": {"reference": "Patient/p1"}},
        {"subject": {"reference": "Patient/p1"}},
    ],
)
def test_resources_outside_the_compartment(resource: dict[str, Any]) -> None:
    assert patient_compartment_ids(resource) == frozenset()


@pytest.mark.parametrize(
    "subject",
    [
        {"reference": "https://other.example.no/fhir/Patient/p1"},
        {"reference": "urn:uuid:8a4c9c04-1524-9f1c-d65b-9b17e4520fef"},
        {"reference": "#p1"},
        {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13116900216"}},
        {"display": "Kari Nordmann"},
    ],
)
def test_only_relative_patient_references_count(subject: dict[str, Any]) -> None:
    condition = {"resourceType": "Condition", "subject": subject}
    assert patient_compartment_ids(condition) == frozenset()


def test_precomputed_index_gives_the_same_answer() -> None:
    claim = {
        "resourceType": "Claim",
        "patient": {"reference": "Patient/p1"},
        "payee": {"type": {"text": "x"}, "party": {"reference": "Patient/p2"}},
        "provider": {"reference": "Organization/o1"},
    }
    index = extract_index_values(claim)
    assert patient_compartment_ids(claim, index) == patient_compartment_ids(claim) == {"p1", "p2"}


def test_synthea_patients_own_their_records(
    shared_data: Path, synthea_resources: Callable[[Path], list[dict[str, Any]]]
) -> None:
    """In a Synthea patient bundle every compartment resource belongs to that patient."""
    bundles = sorted(p for p in (shared_data / "synthea").glob("*.json.bz2") if p.name[:2] != "0-")
    members: Counter[str] = Counter()
    for path in bundles[:3]:
        resources = synthea_resources(path)
        [patient] = [r for r in resources if r["resourceType"] == "Patient"]
        for resource in resources:
            ids = patient_compartment_ids(resource)
            if compartment_params(resource["resourceType"]) or resource is patient:
                assert ids == {patient["id"]}, f"{resource['resourceType']}/{resource['id']}"
                members[resource["resourceType"]] += 1
            else:
                assert ids == frozenset(), resource["resourceType"]
    assert {"Patient", "Observation", "Encounter", "Claim", "Provenance"} <= set(members)
