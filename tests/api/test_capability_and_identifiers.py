"""The CapabilityStatement tells the truth; Norwegian identifiers are checked on write."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.identifiers.identifier_systems import FNR_SYSTEM, ORGANISATION_NUMBER_SYSTEM


def test_capability_statement_is_open_and_truthful(client: TestClient) -> None:
    statement = client.get("/fhir/metadata", headers={"Authorization": ""}).json()
    rest = statement["rest"][0]
    assert rest["security"]["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert {op["name"] for op in patient["operation"]} >= {
        "allocate-fh",
        "merge",
        "match",
        "access-log",
    }
    assert {"identifier", "birthdate", "name"} <= {p["name"] for p in patient["searchParam"]}
    assert "SubscriptionStatus" not in {r["type"] for r in rest["resource"]}
    smart = client.get(
        "/fhir/.well-known/smart-configuration", headers={"Authorization": ""}
    ).json()
    assert "permission-v2" in smart["capabilities"] and smart["token_endpoint"].endswith("/token")


def test_invalid_national_id_is_422_with_the_reason(client: TestClient) -> None:
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": "01019012345"}],
    }
    response = client.post("/fhir/Patient", content=orjson.dumps(body), headers=FHIR_JSON)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Patient.identifier[0].value"]
    assert "check digit" in issue["diagnostics"]
    assert client.get("/fhir/Patient").json()["total"] == 0


def test_legacy_organisation_oid_is_normalised(client: TestClient) -> None:
    body = {
        "resourceType": "Organization",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.2.101", "value": "991000011"}],
    }
    stored = client.post("/fhir/Organization", content=orjson.dumps(body), headers=FHIR_JSON).json()
    assert stored["identifier"][0]["system"] == ORGANISATION_NUMBER_SYSTEM
    bad = {**body, "identifier": [{"system": ORGANISATION_NUMBER_SYSTEM, "value": "991000012"}]}
    assert (
        client.post("/fhir/Organization", content=orjson.dumps(bad), headers=FHIR_JSON).status_code
        == 422
    )


def test_unusable_custom_search_parameter_is_422(client: TestClient) -> None:
    body = {
        "resourceType": "SearchParameter",
        "url": "https://samhandling.no/fhir/SearchParameter/broken",
        "name": "broken",
        "status": "active",
        "description": "an expression that does not parse",
        "code": "broken",
        "base": ["Patient"],
        "type": "token",
        "expression": "Patient.name.where(",
    }
    response = client.post("/fhir/SearchParameter", content=orjson.dumps(body), headers=FHIR_JSON)
    assert response.status_code == 422, response.text
