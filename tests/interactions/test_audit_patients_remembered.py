"""The patients an audit record names of a resource (`audit_patients.patients_of`) are
remembered by what the compartment walk reads (issue #24): the same answers as the walk
itself, whatever came before, and never a stale one."""

from __future__ import annotations

import random
from typing import Any

from samhandling.fhir.compartment import patient_compartment_ids
from samhandling.interactions import audit_patients
from samhandling.interactions.audit_patients import patients_of


def walked(resource: dict[str, Any]) -> frozenset[str]:
    """The answer without the memory: the walk and a Binary's context."""
    context = audit_patients._security_context_patient(resource)
    return patient_compartment_ids(resource) | context


def ref(text: str) -> dict[str, Any]:
    return {"reference": text}


def resources(chance: random.Random) -> list[dict[str, Any]]:
    patient = f"p{chance.randrange(4)}"
    other = f"p{chance.randrange(4)}"
    return [
        {"resourceType": "Observation", "id": "o1", "subject": ref(f"Patient/{patient}")},
        {"resourceType": "Observation", "id": "o2", "subject": ref(f"Group/{patient}")},
        {
            "resourceType": "Observation",
            "id": "o3",
            "subject": ref(f"Patient/{patient}"),
            "performer": [ref(f"Patient/{other}"), ref("Practitioner/d1")],
        },
        {"resourceType": "Observation", "id": "o4", "subject": ref(f"https://x/Patient/{patient}")},
        {"resourceType": "Observation", "id": "o5", "status": "final"},
        {"resourceType": "Condition", "id": "c1", "asserter": ref(f"Patient/{other}")},
        {"resourceType": "Encounter", "id": "e1", "subject": ref(f"Patient/{patient}")},
        {"resourceType": "Patient", "id": patient},
        {"resourceType": "Patient", "id": other, "link": [{"other": ref(f"Patient/{patient}")}]},
        {"resourceType": "Binary", "id": "b1", "securityContext": ref(f"Patient/{patient}")},
        {"resourceType": "Organization", "id": "org1"},
        {"id": "untyped", "subject": ref(f"Patient/{patient}")},
    ]


def test_remembered_answers_are_the_walks() -> None:
    chance = random.Random(24)
    for _ in range(300):
        for resource in chance.sample(resources(chance), 5):
            assert patients_of(resource) == walked(resource), resource


def test_a_changed_reference_is_a_new_answer() -> None:
    first = {"resourceType": "Observation", "id": "o1", "subject": ref("Patient/a")}
    assert patients_of(first) == {"a"}
    moved = {**first, "subject": ref("Patient/b")}
    assert patients_of(moved) == {"b"}
    assert patients_of({"resourceType": "Patient", "id": "a"}) == {"a"}
    assert patients_of({"resourceType": "Patient", "id": "b"}) == {"b"}


def test_the_same_subject_is_walked_once(monkeypatch: Any) -> None:
    audit_patients._remembered.clear()
    walks: list[str] = []

    def counted(resource: dict[str, Any], *args: Any, **kwargs: Any) -> frozenset[str]:
        walks.append(resource["id"])
        return patient_compartment_ids(resource, *args, **kwargs)

    monkeypatch.setattr(audit_patients, "patient_compartment_ids", counted)
    for n in range(50):
        resource = {"resourceType": "Observation", "id": f"o{n}", "subject": ref("Patient/p")}
        assert patients_of(resource) == {"p"}
    assert walks == ["o0"]
