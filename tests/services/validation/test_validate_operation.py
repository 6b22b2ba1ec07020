"""`$validate`: the checks of a write, one issue per problem with its location, nothing
stored; the official IPS examples pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _errors(outcome: dict[str, object]) -> list[dict[str, object]]:
    issues = outcome["issue"]
    assert isinstance(issues, list)
    return [i for i in issues if i["severity"] in ("error", "fatal")]


def test_one_issue_per_problem_with_its_location(client: TestClient) -> None:
    broken = {"resourceType": "Patient", "gender": "nope", "birthDate": "1990-13-01"}
    answer = client.post("/fhir/Patient/$validate", json=broken, headers=FHIR_JSON)
    assert answer.status_code == 200, answer.text
    where = sorted(tuple(i["expression"]) for i in _errors(answer.json()))  # type: ignore[arg-type]
    assert where == [("Patient.birthDate",), ("Patient.gender",)]
    assert client.get("/fhir/Patient").json()["total"] == 0  # nothing stored


def test_a_valid_resource_as_body_or_parameter(client: TestClient) -> None:
    # with a narrative: without one, dom-6 (a "should") is a warning
    div = '<div xmlns="http://www.w3.org/1999/xhtml">Nordmann</div>'
    patient = {"resourceType": "Patient", "text": {"status": "generated", "div": div},
               "name": [{"family": "Nordmann"}]}  # fmt: skip
    for body in (patient, {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": patient}, {"name": "mode", "valueCode": "create"}
    ]}):  # fmt: skip
        answer = client.post("/fhir/Patient/$validate", json=body, headers=FHIR_JSON)
        assert answer.status_code == 200 and _errors(answer.json()) == []
        assert answer.json()["issue"][0]["severity"] == "information"


def test_a_claimed_shipped_profile_and_identifiers_are_checked(client: TestClient) -> None:
    claimed = {
        "resourceType": "AllergyIntolerance",
        "meta": {"profile": ["https://samhandling.no/fhir/StructureDefinition/kj-allergy-intolerance"]},
        "patient": {"reference": "Patient/x"},
    }  # fmt: skip
    answer = client.post("/fhir/AllergyIntolerance/$validate", json=claimed, headers=FHIR_JSON)
    assert len(_errors(answer.json())) >= 2  # the profile's required elements, each named
    bad_number = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "12345678901"}],
    }
    answer = client.post("/fhir/Patient/$validate", json=bad_number, headers=FHIR_JSON)
    assert _errors(answer.json())[0]["expression"] == ["Patient.identifier[0].value"]


def test_what_is_not_supported_is_refused(client: TestClient) -> None:
    for parameter in ({"name": "mode", "valueCode": "delete"},
                      {"name": "profile", "valueUri": "http://x/profile"}):  # fmt: skip
        body = {"resourceType": "Parameters", "parameter": [parameter]}
        answer = client.post("/fhir/Patient/$validate", json=body, headers=FHIR_JSON)
        assert answer.status_code == 400 and answer.json()["issue"][0]["code"] == "not-supported"
    other = client.post("/fhir/Patient/$validate", json={"resourceType": "Observation"})
    assert other.status_code == 400


def test_the_official_ips_examples_pass(client: TestClient, shared_data: Path) -> None:
    examples = sorted((shared_data / "ips").glob("**/*.json"))
    checked = 0
    for path in examples:
        body = json.loads(path.read_text())
        if not isinstance(body, dict) or body.get("resourceType") in (None, "StructureDefinition"):
            continue
        url = f"/fhir/{body['resourceType']}/$validate"
        answer = client.post(url, json=body, headers=FHIR_JSON)
        if answer.status_code == 404:  # a type this server does not route (none expected)
            pytest.fail(f"{path.name}: {answer.text}")
        assert _errors(answer.json()) == [], path.name
        checked += 1
    assert checked >= 10


def test_listed_on_every_type_with_the_resource_definition(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    for resource in statement["rest"][0]["resource"]:
        names = {op["name"]: op["definition"] for op in resource.get("operation", [])}
        assert names["validate"].endswith("/OperationDefinition/samhandling-Resource-validate")
