"""batch and transaction Bundles (R4 §3.1.0.11)."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON

MRN = "urn:example:mrn"


def bundle(kind: str, *entries: dict) -> bytes:
    return orjson.dumps({"resourceType": "Bundle", "type": kind, "entry": list(entries)})


def patient_entry(full_url: str, mrn: str, **request: str) -> dict:
    return {
        "fullUrl": full_url,
        "resource": {"resourceType": "Patient", "identifier": [{"system": MRN, "value": mrn}]},
        "request": {"method": "POST", "url": "Patient", **request},
    }


def observation_entry(subject: str, status: str = "final") -> dict:
    return {
        "resource": {
            "resourceType": "Observation",
            "status": status,
            "code": {"text": "weight"},
            "subject": {"reference": subject},
        },
        "request": {"method": "POST", "url": "Observation"},
    }


def test_transaction_resolves_urn_uuid_references(client: TestClient) -> None:
    body = bundle(
        "transaction",
        observation_entry("urn:uuid:11111111-1111-1111-1111-111111111111"),
        patient_entry("urn:uuid:11111111-1111-1111-1111-111111111111", "1"),
    )
    response = client.post("/fhir", content=body, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created", "201 Created"]
    patient_location = result["entry"][1]["response"]["location"]
    patient_id = patient_location.split("/")[1]
    observation = client.get("/fhir/" + result["entry"][0]["response"]["location"]).json()
    assert observation["subject"]["reference"] == f"Patient/{patient_id}"


def test_transaction_is_all_or_nothing(client: TestClient) -> None:
    body = bundle(
        "transaction",
        patient_entry("urn:uuid:a", "2"),
        observation_entry("Patient/whatever", status="not-a-status"),
    )
    response = client.post("/fhir", content=body, headers=FHIR_JSON)
    assert response.status_code == 400
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert "Bundle.entry[1]" in diagnostics
    assert client.get("/fhir/Patient").json()["total"] == 0
    assert client.get("/fhir/_history").json()["total"] == 0


def test_transaction_conditional_create_and_conditional_reference(client: TestClient) -> None:
    first = bundle(
        "transaction", patient_entry("urn:uuid:p", "3", ifNoneExist=f"identifier={MRN}|3")
    )
    assert client.post("/fhir", content=first, headers=FHIR_JSON).status_code == 200
    again = client.post("/fhir", content=first, headers=FHIR_JSON).json()
    assert again["entry"][0]["response"]["status"] == "200 OK"
    second = bundle("transaction", observation_entry(f"Patient?identifier={MRN}|3"))
    result = client.post("/fhir", content=second, headers=FHIR_JSON)
    assert result.status_code == 200, result.text
    observation = client.get("/fhir/" + result.json()["entry"][0]["response"]["location"]).json()
    patient = client.get(f"/fhir/Patient?identifier={MRN}|3").json()["entry"][0]["resource"]
    assert observation["subject"]["reference"] == f"Patient/{patient['id']}"
    missing = bundle("transaction", observation_entry(f"Patient?identifier={MRN}|404"))
    assert client.post("/fhir", content=missing, headers=FHIR_JSON).status_code == 412


def test_transaction_processing_order_delete_before_create(client: TestClient) -> None:
    pid = client.post(
        "/fhir/Patient", content=orjson.dumps({"resourceType": "Patient"}), headers=FHIR_JSON
    ).json()["id"]
    body = bundle(
        "transaction",
        {"request": {"method": "GET", "url": f"Patient/{pid}"}},
        patient_entry("urn:uuid:n", "4"),
        {"request": {"method": "DELETE", "url": f"Patient/{pid}"}},
    )
    response = client.post("/fhir", content=body, headers=FHIR_JSON)
    # GET runs last, after the DELETE: the read inside the transaction sees it deleted.
    assert response.status_code == 410


def test_batch_entries_succeed_or_fail_alone(client: TestClient) -> None:
    body = bundle(
        "batch",
        patient_entry("urn:uuid:x", "5"),
        observation_entry("Patient/x", status="bogus"),
        {"request": {"method": "GET", "url": "Patient/nope"}},
    )
    response = client.post("/fhir", content=body, headers=FHIR_JSON)
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"].startswith("400")
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert entries[2]["response"]["status"].startswith("404")
    assert client.get("/fhir/Patient").json()["total"] == 1


def test_not_a_batch_is_400(client: TestClient) -> None:
    body = orjson.dumps({"resourceType": "Bundle", "type": "collection"})
    assert client.post("/fhir", content=body, headers=FHIR_JSON).status_code == 400
