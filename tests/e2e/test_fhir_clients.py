"""A real FHIR client library (fhirpy) against a real `samhandling serve` process."""

from __future__ import annotations

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound

from fixtures.server_process import ServerProcess


def test_fhirpy_create_read_search_update_delete(server: ServerProcess) -> None:
    client = SyncFHIRClient(server.base_url, authorization=f"Bearer {server.token()}")
    patient = client.resource(
        "Patient",
        identifier=[{"system": "urn:example:mrn", "value": "e2e-1"}],
        name=[{"family": "Ødegård", "given": ["Åse"]}],
        gender="female",
    )
    patient.save()
    assert patient.id and patient["meta"]["versionId"] == "1"
    found = client.resources("Patient").search(identifier="urn:example:mrn|e2e-1").fetch_all()
    assert [p.id for p in found] == [patient.id]
    patient["gender"] = "other"
    patient.save()
    fetched = client.reference("Patient", patient.id).to_resource()
    assert fetched["gender"] == "other" and fetched["meta"]["versionId"] == "2"
    fetched.delete()
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", patient.id).to_resource()


def test_operational_endpoints(server: ServerProcess) -> None:
    root = server.base_url.removesuffix("/fhir")
    assert httpx.get(f"{root}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{root}/readyz").status_code == 200
    httpx.get(f"{server.base_url}/Patient/nope", headers=server.headers())
    metrics = httpx.get(f"{root}/metrics").text
    assert 'samhandling_requests_total{interaction="read",status="404"}' in metrics
    statement = httpx.get(f"{server.base_url}/metadata").json()
    assert (
        statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    )
    log = server.log_path.read_text()
    assert '"message":"request"' in log and '"status":404' in log
    assert "\x1b" not in log and "\\u001b" not in log  # uvicorn's colours stay out of JSON
    requests = [line for line in log.splitlines() if '"message":"request"' in line]
    assert all('"request_id":"' in line and '"client_id":' in line for line in requests)
