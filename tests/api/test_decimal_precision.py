"""A decimal comes back as it was written, through every path (R4 §2.1.0 decimal)."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON

OBSERVATION = b"""{"resourceType": "Observation", "status": "final",
 "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}], "text": "1.50 mmol"},
 "valueQuantity": {"value": 1.50, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                   "code": "mmol/L"},
 "referenceRange": [{"low": {"value": 4.0}, "high": {"value": 6.10}}]}"""


def test_create_read_search_and_history_keep_the_written_form(client: TestClient) -> None:
    created = client.post("/fhir/Observation", content=OBSERVATION, headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    assert b'"value":1.50' in created.content and b'"value":6.10' in created.content
    rid = created.json()["id"]
    for path in (
        f"/fhir/Observation/{rid}",
        f"/fhir/Observation/{rid}/_history/1",
        f"/fhir/Observation/{rid}/_history",
        "/fhir/Observation?code=2345-7",
        "/fhir/Observation?value-quantity=1.50",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert b'"value":1.50' in response.content, path
        assert b'"value":4.0' in response.content and b'"value":6.10' in response.content, path


def test_search_uses_the_written_precision(client: TestClient) -> None:
    """1.50 means [1.495, 1.505), where 1.5 would mean [1.45, 1.55) (R4 §3.1.1.4.2)."""
    assert client.post("/fhir/Observation", content=OBSERVATION, headers=FHIR_JSON).is_success
    assert _count(client, "value-quantity=1.504") == 0  # the search value's own range
    assert _count(client, "value-quantity=1.5") == 1
    # sa/eb compare the target's own range: [1.495, 1.505) for 1.50, [1.45, 1.55) for 1.5
    assert _count(client, "value-quantity=sa1.47") == 1
    assert _count(client, "value-quantity=eb1.51") == 1
    assert _count(client, "value-quantity=sa1.5") == 0


def _count(client: TestClient, query: str) -> int:
    bundle = client.get(f"/fhir/Observation?{query}&_total=accurate").json()
    return int(bundle["total"])


def test_transaction_and_patch_keep_it(client: TestClient) -> None:
    entry = {
        "resource": orjson.loads(OBSERVATION),
        "request": {"method": "POST", "url": "Observation"},
    }
    body = orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [entry]})
    body = body.replace(b'"value":1.5,', b'"value":1.50,')
    response = client.post("/fhir", content=body, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    location = response.json()["entry"][0]["response"]["location"].split("/_history")[0]
    assert b'"value":1.50' in client.get(f"/fhir/{location}").content
    patch = b'[{"op": "replace", "path": "/valueQuantity/value", "value": 2.500}]'
    headers = {"Content-Type": "application/json-patch+json"}
    patched = client.patch(f"/fhir/{location}", content=patch, headers=headers)
    assert patched.status_code == 200, patched.text
    assert b'"value":2.500' in client.get(f"/fhir/{location}").content
