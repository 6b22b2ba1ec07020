"""`_typeFilter` (Bulk Data Access 2.0): `Type?criteria`, several per type OR-ed, applied
through the search engine; a malformed or unsupported filter is a 400 at the kick-off."""

from __future__ import annotations

import pytest

from fixtures.bulk_export import ASYNC, Store
from samhandling.services.bulk_export import runner


def _values(store: Store, status_url: str) -> list[float]:
    exported = store.exported(status_url)
    return sorted(r["valueQuantity"]["value"] for r in exported.get("Observation", []))


def test_filters_of_one_type_are_ored_and_other_types_are_whole(store: Store) -> None:
    status_url = store.client.get(
        "/fhir/$export",
        params=[
            ("_type", "Observation,Patient"),
            ("_typeFilter", "Observation?value-quantity=gt61"),
            ("_typeFilter", "Observation?value-quantity=lt61&code=http://loinc.org|8867-4,x|y"),
        ],
        headers=ASYNC,
    ).headers["Content-Location"]
    worker = store.worker()
    worker.limits = runner.RunLimits(batch_size=2)  # filtered batch by batch
    assert worker.run_once()
    assert _values(store, status_url) == [60, 60, 60, 62]
    assert len(store.exported(status_url)["Patient"]) == 3


def test_a_filter_on_a_reference_and_one_on_a_string(store: Store) -> None:
    first, second = store.patients[0], store.patients[1]
    status_url = store.kick_off(
        _typeFilter=f"Observation?subject=Patient/{second},Patient?family=Eksport0",
    )
    store.worker().run_once()
    exported = store.exported(status_url)
    assert [p["id"] for p in exported["Patient"]] == [first]
    assert _values(store, status_url) == [60, 61]
    assert len(exported["Organization"]) == 1  # no filter on it


@pytest.mark.parametrize(
    "wrong",
    [
        "Observation",  # no criteria
        "Observation?",
        "Observation?unknown-parameter=1",
        "Observation?value-quantity=many",
        "Observation?_count=5",
        "Observation?_include=Observation:subject",
        "Observation?subject:Patient.family=Eksport0",  # a chain reaches Patients
        "Patient?_has:Observation:subject:code=8867-4",
        "Condition?code=x",  # not an exported type
    ],
)
def test_a_filter_the_search_refuses_is_a_400(store: Store, wrong: str) -> None:
    answer = store.client.get(
        "/fhir/$export",
        params={"_type": "Observation,Patient", "_typeFilter": wrong},
        headers=ASYNC,
    )
    assert answer.status_code == 400, wrong
    assert answer.json()["resourceType"] == "OperationOutcome"
