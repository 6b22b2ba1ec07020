"""Every error is an OperationOutcome with the right status (R4 §3.1.0 and §2.21)."""

from __future__ import annotations

import orjson
import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON


def outcome(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["diagnostics"]
    return body


def test_malformed_json_is_400(client: TestClient) -> None:
    outcome(client.post("/fhir/Patient", content=b"{not json", headers=FHIR_JSON), 400)


def test_unknown_resource_type_is_400(client: TestClient) -> None:
    outcome(client.get("/fhir/Spaceship/1"), 400)
    body = orjson.dumps({"resourceType": "Spaceship"})
    outcome(client.post("/fhir/Patient", content=body, headers=FHIR_JSON), 400)


def test_wrong_resource_type_for_url_is_400(client: TestClient) -> None:
    body = orjson.dumps({"resourceType": "Observation", "status": "final", "code": {"text": "x"}})
    outcome(client.post("/fhir/Patient", content=body, headers=FHIR_JSON), 400)


def test_invalid_resource_says_where(client: TestClient) -> None:
    body = orjson.dumps(
        {"resourceType": "Patient", "gender": "sometimes", "birthDate": "1990-13-45"}
    )
    result = outcome(client.post("/fhir/Patient", content=body, headers=FHIR_JSON), 400)
    expressions = {e for issue in result["issue"] for e in issue.get("expression", [])}
    assert "Patient.gender" in expressions and "Patient.birthDate" in expressions
    assert client.get("/fhir/Patient").json()["total"] == 0


def test_not_found_and_method_not_allowed(client: TestClient) -> None:
    outcome(client.get("/fhir/Patient/does-not-exist"), 404)
    outcome(client.patch("/fhir/Patient", content=b"[]", headers=FHIR_JSON), 405)
    outcome(client.get("/nowhere"), 404)


def test_wrong_content_type_is_415(client: TestClient) -> None:
    outcome(
        client.post(
            "/fhir/Patient", content=b"<Patient/>", headers={"Content-Type": "application/xml"}
        ),
        415,
    )


def test_oversized_payload_is_413(client: TestClient) -> None:
    huge = orjson.dumps({"resourceType": "Patient", "name": [{"text": "x" * 300_000}]})
    outcome(client.post("/fhir/Patient", content=huge, headers=FHIR_JSON), 413)


@pytest.mark.parametrize("query", ["birthdate=not-a-date", "bogus-parameter=1"])
def test_bad_search_is_400(client: TestClient, query: str) -> None:
    outcome(client.get(f"/fhir/Patient?{query}"), 400)


def test_lenient_handling_reports_ignored_parameter(client: TestClient) -> None:
    response = client.get("/fhir/Patient?bogus-parameter=1", headers={"Prefer": "handling=lenient"})
    assert response.status_code == 200
    outcomes = [e for e in response.json()["entry"] if e["search"]["mode"] == "outcome"]
    assert "bogus-parameter" in outcomes[0]["resource"]["issue"][0]["diagnostics"]


def test_xml_only_accept_is_406(client: TestClient) -> None:
    outcome(client.get("/fhir/Patient", headers={"Accept": "application/fhir+xml"}), 406)
