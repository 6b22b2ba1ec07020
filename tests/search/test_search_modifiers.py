"""Modifiers: each test fails when the modifier is ignored or applied to the wrong rows."""

from __future__ import annotations

import pytest
from searchkit import SearchStore

from samhandling.fhir.outcome import FhirError

SNOMED = "http://snomed.info/sct"
V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def patient(rid: str, **fields: object) -> dict:
    return {"resourceType": "Patient", "id": rid, **fields}


def test_missing(store: SearchStore) -> None:
    store.put(
        patient("born", birthDate="1990-01-01", gender="male"),
        patient("unborn"),
        patient("named", name=[{"family": "A"}]),
    )
    assert store.found("Patient", "birthdate:missing=true") == {"unborn", "named"}
    assert store.found("Patient", "birthdate:missing=false") == {"born"}
    assert store.found("Patient", "gender:missing=true") == {"unborn", "named"}
    assert store.found("Patient", "name:missing=false") == {"named"}


def test_not_includes_resources_without_a_value(store: SearchStore) -> None:
    store.put(patient("m", gender="male"), patient("f", gender="female"), patient("none"))
    assert store.found("Patient", "gender:not=male") == {"f", "none"}
    assert store.found("Patient", "gender:not=male,female") == {"none"}


def test_not_on_a_multi_valued_token(store: SearchStore) -> None:
    both = {"coding": [{"code": "a"}, {"code": "b"}]}
    store.put(
        {"resourceType": "Observation", "id": "ab", "status": "final", "code": both},
        {
            "resourceType": "Observation",
            "id": "b",
            "status": "final",
            "code": {"coding": [{"code": "b"}]},
        },
    )
    # "not a" must exclude a resource that has a, even if its first coding is something else
    assert store.found("Observation", "code:not=a") == {"b"}


def test_text_on_tokens(store: SearchStore) -> None:
    store.put(
        {
            "resourceType": "Condition",
            "id": "display",
            "subject": {"reference": "Patient/x"},
            "code": {"coding": [{"system": SNOMED, "code": "1", "display": "Akutt hjerteinfarkt"}]},
        },
        {
            "resourceType": "Condition",
            "id": "text",
            "subject": {"reference": "Patient/x"},
            "code": {"coding": [{"system": SNOMED, "code": "2"}], "text": "Hjertesvikt"},
        },
        {
            "resourceType": "Condition",
            "id": "none",
            "subject": {"reference": "Patient/x"},
            "code": {"coding": [{"system": SNOMED, "code": "hjerte"}]},
        },
    )
    assert store.found("Condition", "code:text=hjerte") == {"display", "text"}
    assert store.found("Condition", "code:text=HJERTEINFARKT") == {"display"}
    assert store.found("Condition", "code=hjerte") == {"none"}


def test_of_type(store: SearchStore) -> None:
    mr = {"coding": [{"system": V2, "code": "MR"}]}
    store.put(
        patient("mr", identifier=[{"type": mr, "system": "urn:h", "value": "123"}]),
        patient("plain", identifier=[{"system": "urn:h", "value": "123"}]),
    )
    assert store.found("Patient", f"identifier:of-type={V2}|MR|123") == {"mr"}
    assert store.found("Patient", f"identifier:of-type={V2}|MR|124") == set()
    assert store.found("Patient", "identifier=urn:h|123") == {"mr", "plain"}


def test_identifier_on_references(store: SearchStore) -> None:
    store.put(
        {
            "resourceType": "Observation",
            "id": "byid",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"identifier": {"system": "urn:fnr", "value": "123"}},
        },
        {
            "resourceType": "Observation",
            "id": "byref",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/123"},
        },
    )
    assert store.found("Observation", "subject:identifier=urn:fnr|123") == {"byid"}
    assert store.found("Observation", "subject=123") == {"byref"}


def test_type_modifier_on_references(store: SearchStore) -> None:
    store.put(
        {
            "resourceType": "Observation",
            "id": "p",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/1"},
        },
        {
            "resourceType": "Observation",
            "id": "g",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Group/1"},
        },
    )
    assert store.found("Observation", "subject:Group=1") == {"g"}
    assert store.found("Observation", "subject:Patient=1") == {"p"}


def test_above_below_on_a_hierarchy(store: SearchStore) -> None:
    def location(rid: str, parent: str | None) -> dict:
        body = {"resourceType": "Location", "id": rid, "name": rid}
        if parent:
            body["partOf"] = {"reference": f"Location/{parent}"}
        return body

    store.put(
        location("hospital", None),
        location("ward", "hospital"),
        location("room", "ward"),
        location("other", None),
    )
    assert store.found("Location", "partof:below=Location/hospital") == {"ward", "room"}
    assert store.found("Location", "partof:above=Location/room") == {"ward", "hospital"}
    assert store.found("Location", "partof=Location/hospital") == {"ward"}


@pytest.mark.parametrize(
    "query",
    ["gender:exact=male", "birthdate:contains=1990", "name:foo=x", "gender:below=x", "gender:in=x"],
)
def test_unsupported_modifiers_are_refused(store: SearchStore, query: str) -> None:
    with pytest.raises(FhirError) as caught:
        store.bundle("Patient", query)
    assert caught.value.status == 400


def test_missing_needs_true_or_false(store: SearchStore) -> None:
    with pytest.raises(FhirError) as caught:
        store.bundle("Patient", "gender:missing=maybe")
    assert caught.value.status == 400
