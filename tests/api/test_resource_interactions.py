"""create, read, vread, update, patch, delete and their headers (R4 §3.1.0)."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from fixtures.fhir_app import BASE, FHIR_JSON

PATIENT = {
    "resourceType": "Patient",
    "name": [{"family": "Nordmann", "given": ["Kari"]}],
    "gender": "female",
}


def post(client: TestClient, body: dict, path: str = "/fhir/Patient", **headers: str):
    return client.post(path, content=orjson.dumps(body), headers={**FHIR_JSON, **headers})


def put(client: TestClient, path: str, body: dict, **headers: str):
    return client.put(path, content=orjson.dumps(body), headers={**FHIR_JSON, **headers})


def test_create_sets_id_meta_and_headers(client: TestClient) -> None:
    response = post(client, {**PATIENT, "id": "client-chosen", "meta": {"versionId": "77"}})
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "client-chosen"
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"].endswith("Z")
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == f"{BASE}/Patient/{body['id']}/_history/1"
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["content-type"].startswith("application/fhir+json")


def test_read_vread_update_and_history(client: TestClient) -> None:
    created = post(client, PATIENT).json()
    rid = created["id"]
    updated = put(client, f"/fhir/Patient/{rid}", {**created, "gender": "other"})
    assert updated.status_code == 200
    assert updated.json()["meta"]["versionId"] == "2"
    assert updated.headers["etag"] == 'W/"2"'
    current = client.get(f"/fhir/Patient/{rid}")
    assert current.json()["gender"] == "other"
    first = client.get(f"/fhir/Patient/{rid}/_history/1")
    assert first.status_code == 200 and first.json()["gender"] == "female"
    assert client.get(f"/fhir/Patient/{rid}/_history/9").status_code == 404
    history = client.get(f"/fhir/Patient/{rid}/_history").json()
    assert history["type"] == "history" and history["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]


def test_stale_if_match_is_refused_and_writes_nothing(client: TestClient) -> None:
    created = post(client, PATIENT).json()
    rid = created["id"]
    assert (
        put(
            client, f"/fhir/Patient/{rid}", {**created, "gender": "male"}, **{"If-Match": 'W/"1"'}
        ).status_code
        == 200
    )
    stale = put(
        client, f"/fhir/Patient/{rid}", {**created, "gender": "other"}, **{"If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert "current version is 2" in stale.json()["issue"][0]["diagnostics"]
    assert stale.headers["etag"] == 'W/"2"'
    current = client.get(f"/fhir/Patient/{rid}").json()
    assert current["gender"] == "male" and current["meta"]["versionId"] == "2"
    stale_delete = client.delete(f"/fhir/Patient/{rid}", headers={"If-Match": 'W/"1"'})
    assert stale_delete.status_code == 412
    assert client.get(f"/fhir/Patient/{rid}").status_code == 200


def test_update_as_create_with_client_id(client: TestClient) -> None:
    response = put(client, "/fhir/Patient/kari-1", {**PATIENT, "id": "kari-1"})
    assert response.status_code == 201
    assert response.headers["location"] == f"{BASE}/Patient/kari-1/_history/1"
    assert client.get("/fhir/Patient/kari-1").json()["meta"]["versionId"] == "1"


def test_update_with_mismatched_id_is_400(client: TestClient) -> None:
    response = put(client, "/fhir/Patient/a", {**PATIENT, "id": "b"})
    assert response.status_code == 400
    assert client.get("/fhir/Patient/a").status_code == 404


def test_delete_is_logical_and_answers_gone(client: TestClient) -> None:
    rid = post(client, PATIENT).json()["id"]
    assert client.delete(f"/fhir/Patient/{rid}").status_code == 204
    gone = client.get(f"/fhir/Patient/{rid}")
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    history = client.get(f"/fhir/Patient/{rid}/_history").json()
    assert history["entry"][0]["request"]["method"] == "DELETE"
    assert history["entry"][0]["response"]["status"] == "410 Gone"
    assert client.get(f"/fhir/Patient/{rid}/_history/1").status_code == 200
    recreated = put(client, f"/fhir/Patient/{rid}", {**PATIENT, "id": rid})
    assert recreated.status_code == 201 and recreated.json()["meta"]["versionId"] == "3"


def test_json_patch_and_fhirpath_patch(client: TestClient) -> None:
    rid = post(client, PATIENT).json()["id"]
    operations = [{"op": "replace", "path": "/gender", "value": "male"}]
    patched = client.patch(
        f"/fhir/Patient/{rid}",
        content=orjson.dumps(operations),
        headers={"Content-Type": "application/json-patch+json", "If-Match": 'W/"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["gender"] == "male" and patched.json()["meta"]["versionId"] == "2"
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "Patient.gender"},
                    {"name": "value", "valueCode": "female"},
                ],
            }
        ],
    }
    fhirpath = client.patch(
        f"/fhir/Patient/{rid}", content=orjson.dumps(parameters), headers=FHIR_JSON
    )
    assert fhirpath.status_code == 200, fhirpath.text
    assert fhirpath.json()["gender"] == "female"
    invalid = [{"op": "replace", "path": "/gender", "value": "not-a-gender"}]
    refused = client.patch(
        f"/fhir/Patient/{rid}",
        content=orjson.dumps(invalid),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert refused.status_code == 400
    assert client.get(f"/fhir/Patient/{rid}").json()["meta"]["versionId"] == "3"


def test_prefer_return(client: TestClient) -> None:
    minimal = post(client, PATIENT, Prefer="return=minimal")
    assert minimal.status_code == 201 and minimal.content == b""
    assert minimal.headers["location"]
    outcome = post(client, PATIENT, Prefer="return=OperationOutcome")
    assert outcome.json()["resourceType"] == "OperationOutcome"
    assert post(client, PATIENT, Prefer="return=representation").json()["resourceType"] == "Patient"


def test_conditional_create_update_delete(client: TestClient) -> None:
    body = {**PATIENT, "identifier": [{"system": "urn:example:mrn", "value": "123"}]}
    first = post(client, body, **{"If-None-Exist": "identifier=urn:example:mrn|123"})
    second = post(client, body, **{"If-None-Exist": "identifier=urn:example:mrn|123"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    updated = put(
        client, "/fhir/Patient?identifier=urn:example:mrn|123", {**body, "gender": "male"}
    )
    assert updated.status_code == 200 and updated.json()["id"] == first.json()["id"]
    other = {**PATIENT, "identifier": [{"system": "urn:example:mrn", "value": "999"}]}
    created = put(client, "/fhir/Patient?identifier=urn:example:mrn|999", other)
    assert created.status_code == 201
    assert client.delete("/fhir/Patient?identifier=urn:example:mrn|123").status_code == 204
    assert client.get(f"/fhir/Patient/{first.json()['id']}").status_code == 410
