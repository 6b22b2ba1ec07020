"""Unknown parameters, lenient handling and malformed values."""

from __future__ import annotations

import pytest
from searchkit import SearchStore

from samhandling.fhir.outcome import FhirError


@pytest.mark.parametrize(
    "query",
    [
        "nonsense=1",
        "_query=x",
        "_list=x",
        "_text:exact=x",
        "subject.nonsense=1",
        "_has:Observation:nope:code=1",
        "_include=Observation:nope",
        "_sort=nope",
        "_contained=true",
        "near=1|2|3|km",
    ],
)
def test_unknown_or_unsupported_is_400(store: SearchStore, query: str) -> None:
    resource_type = "Location" if query.startswith("near") else "Observation"
    with pytest.raises(FhirError) as caught:
        store.bundle(resource_type, query)
    assert caught.value.status == 400
    assert caught.value.issues[0].code == "not-supported"


def test_lenient_ignores_and_reports(store: SearchStore) -> None:
    store.put({"resourceType": "Patient", "id": "p", "gender": "male"})
    bundle = store.bundle("Patient", "gender=male&nonsense=1&gender:in=x", lenient=True)
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert [e["resource"]["id"] for e in matches] == ["p"]
    issues = outcome[0]["resource"]["issue"]
    assert {i["expression"][0] for i in issues} == {"nonsense", "gender:in"}
    assert all(i["severity"] == "warning" for i in issues)


@pytest.mark.parametrize(
    ("resource_type", "query", "needle"),
    [
        ("Patient", "birthdate=1990-02-30", "Invalid date"),
        ("Patient", "birthdate=zz1990", "unknown prefix 'zz'"),
        ("Observation", "value-quantity=1x2", "Invalid number"),
        ("Observation", "value-quantity=abc", "Invalid number"),
        ("Observation", "value-quantity=5|a", "Invalid quantity"),
        ("RiskAssessment", "probability=1,2x", "Invalid number"),
        ("Patient", "_count=-1", "_count"),
        ("Patient", "_summary=maybe", "_summary"),
        ("Patient", "_total=some", "_total"),
        ("Patient", "identifier:of-type=a|b", "of-type"),
        ("Observation", "code-value-quantity=a", "components"),
        ("Patient", "_lastUpdated=yesterday", "Invalid date"),
    ],
)
def test_malformed_values_are_400_even_when_lenient(
    store: SearchStore, resource_type: str, query: str, needle: str
) -> None:
    with pytest.raises(FhirError) as caught:
        store.bundle(resource_type, query, lenient=True)
    assert caught.value.status == 400
    assert needle in caught.value.message
