"""What a citizen may learn of resources that are not theirs (issue 16, items 3 and 4).

A reference to another server's Patient is no reference to a local patient, whatever its
path ends with; and a deleted resource is exactly as visible as it was (404, not 410, for
somebody else's, and no deletion entries in its history).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON, mint
from samhandling.auth.dev.personas import persona
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

CITIZEN_FNR = persona("citizen").pid or ""
OTHER_FNR = "12837510110"
LOCAL_ID = "persona-citizen"


def _write(client: TestClient, body: dict[str, Any]) -> Any:
    if "id" in body:
        response = client.put(
            f"/fhir/{body['resourceType']}/{body['id']}",
            content=orjson.dumps(body),
            headers=FHIR_JSON,
        )
    else:
        response = client.post(
            f"/fhir/{body['resourceType']}", content=orjson.dumps(body), headers=FHIR_JSON
        )
    assert response.status_code == 201, response.text
    return response.json()


def _observation(subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": subject},
    }


@pytest.fixture
def citizen(client: TestClient, tmp_path: Path) -> dict[str, str]:
    identifier = [{"system": FNR_SYSTEM, "value": CITIZEN_FNR}]
    _write(client, {"resourceType": "Patient", "id": LOCAL_ID, "identifier": identifier})
    token = mint(tmp_path, "citizen", patient_fnr=CITIZEN_FNR)
    return {"Authorization": f"Bearer {token}"}


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if "resource" in e}


@pytest.mark.parametrize(
    "subject",
    [
        f"https://other-hospital.example/fhir/Patient/{LOCAL_ID}",
        f"https://other-hospital.example/fhir/Patient/{LOCAL_ID}/_history/1",
        f"http://testserver/elsewhere/Patient/{LOCAL_ID}",
    ],
)
def test_foreign_patient_url_is_not_the_local_patient(
    client: TestClient, citizen: dict[str, str], subject: str
) -> None:
    foreign = _write(client, _observation(subject))["id"]
    own = _write(client, _observation(f"Patient/{LOCAL_ID}"))["id"]
    assert client.get(f"/fhir/Observation/{own}", headers=citizen).status_code == 200
    assert client.get(f"/fhir/Observation/{foreign}", headers=citizen).status_code == 404
    assert client.get(f"/fhir/Observation/{foreign}/_history/1", headers=citizen).status_code == 404
    assert client.get(f"/fhir/Observation/{foreign}/_history", headers=citizen).status_code == 404
    for path in ("Observation/_history", "_history", f"Observation?subject=Patient/{LOCAL_ID}"):
        response = client.get(f"/fhir/{path}", headers=citizen)
        assert response.status_code == 200, response.text
        assert own in _ids(response.json())
        assert foreign not in response.text


def test_others_deleted_resource_is_not_known_to_a_citizen(
    client: TestClient, citizen: dict[str, str], tmp_path: Path
) -> None:
    other = _write(
        client,
        {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": OTHER_FNR}]},
    )["id"]
    theirs = _write(client, _observation(f"Patient/{other}"))["id"]
    own = _write(client, _observation(f"Patient/{LOCAL_ID}"))["id"]
    for rid in (theirs, own):
        assert client.delete(f"/fhir/Observation/{rid}").status_code == 204
    never = client.get("/fhir/Observation/never-existed", headers=citizen)
    assert never.status_code == 404
    read = client.get(f"/fhir/Observation/{theirs}", headers=citizen)
    assert read.status_code == 404, read.text
    assert read.json()["issue"][0]["diagnostics"] == f"Observation/{theirs} is not known"
    vread = client.get(f"/fhir/Observation/{theirs}/_history/2", headers=citizen)
    assert vread.status_code == 404, vread.text
    assert vread.json()["issue"][0]["diagnostics"] == (
        f"Observation/{theirs}/_history/2 is not known"
    )
    history = client.get(f"/fhir/Observation/{theirs}/_history", headers=citizen)
    assert history.status_code == 404, history.text
    # the citizen's own deleted resource still answers 410, with its deletion in the history
    assert client.get(f"/fhir/Observation/{own}", headers=citizen).status_code == 410
    assert client.get(f"/fhir/Observation/{own}/_history/2", headers=citizen).status_code == 410
    own_history = client.get(f"/fhir/Observation/{own}/_history", headers=citizen).json()
    statuses = [e["response"]["status"] for e in own_history["entry"]]
    assert statuses == ["410 Gone", "201 Created"]
    # a clinician outside the other's reach is refused as for a live resource
    gp = {"Authorization": f"Bearer {mint(tmp_path, 'gp', patient_fnr=CITIZEN_FNR)}"}
    assert client.get(f"/fhir/Observation/{theirs}", headers=gp).status_code == 403


def test_writes_on_a_deleted_resource_answer_as_on_the_live_one(
    client: TestClient, citizen: dict[str, str], tmp_path: Path
) -> None:
    other = _write(
        client,
        {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": OTHER_FNR}]},
    )["id"]
    live = _write(client, _observation(f"Patient/{other}"))["id"]
    gone = _write(client, _observation(f"Patient/{other}"))["id"]
    assert client.delete(f"/fhir/Observation/{gone}").status_code == 204
    token = mint(tmp_path, "gp", patient_fnr=CITIZEN_FNR, scopes=("user/*.cruds",))
    patch = orjson.dumps([{"op": "replace", "path": "/status", "value": "amended"}])
    patch_type = {"Content-Type": "application/json-patch+json"}
    for caller in (citizen, {"Authorization": f"Bearer {token}"}):
        answers = {
            rid: (
                client.delete(f"/fhir/Observation/{rid}", headers=caller).status_code,
                client.patch(
                    f"/fhir/Observation/{rid}", content=patch, headers=caller | patch_type
                ).status_code,
            )
            for rid in (live, gone)
        }
        assert answers[gone] == answers[live] == (403, 403), answers
    # whoever may write it still learns that it is gone
    assert client.delete(f"/fhir/Observation/{gone}").status_code == 204
    assert (
        client.patch(f"/fhir/Observation/{gone}", content=patch, headers=patch_type).status_code
        == 410
    )
