"""A search fixed on one patient looked at that patient's record, even when it finds
nothing: its audit record names the patient, so the access log lists it; and a search sent
by POST is recorded as a search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fixtures.audit_records import recorded_events
from fixtures.fhir_app import FHIR_JSON, mint
from samhandling.auth.dev.personas import persona
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

CITIZEN_FNR = persona("citizen").pid or ""
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _patient(client: TestClient, fnr: str = CITIZEN_FNR) -> str:
    body = {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": fnr}]}
    response = client.post("/fhir/Patient", json=body, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _bearer(tmp_path: Path, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(tmp_path, name, patient_fnr=CITIZEN_FNR)}"}


def _last_event(client: TestClient) -> dict[str, Any]:
    return recorded_events(client.app.state.engine)[-1]  # type: ignore[attr-defined]


def _access_log_actions(client: TestClient, tmp_path: Path, patient_id: str) -> list[str]:
    citizen = _bearer(tmp_path, "citizen")
    log = client.get(f"/fhir/Patient/{patient_id}/$access-log", headers=citizen)
    assert log.status_code == 200, log.text
    return [
        part["valueString"]
        for access in log.json()["parameter"]
        for part in access["part"]
        if part["name"] == "action"
    ]


@pytest.mark.parametrize(
    "search",
    [
        "Observation?patient={id}",
        "Observation?subject=Patient/{id}",
        "Observation?subject:Patient={id}&code=x",
        "Observation?patient=http://testserver/fhir/Patient/{id}",
        "Patient/{id}/Observation",
        "Observation?patient.identifier=" + FNR_SYSTEM + "|" + CITIZEN_FNR,
        "Observation?subject:Patient.identifier=" + CITIZEN_FNR,
    ],
)
def test_an_empty_search_fixed_on_a_patient_is_in_their_access_log(
    client: TestClient, tmp_path: Path, search: str
) -> None:
    patient_id = _patient(client)
    gp = _bearer(tmp_path, "gp")
    response = client.get("/fhir/" + search.format(id=patient_id), headers=gp)
    assert response.status_code == 200, response.text
    assert response.json().get("entry", []) == []
    event = _last_event(client)
    assert event["interaction"] == "search" and event["action"] == "E"
    assert event["patients"] == [patient_id]
    assert _access_log_actions(client, tmp_path, patient_id) == ["søkte i", "registrerte"]


def test_a_search_of_nobody_in_particular_names_nobody(client: TestClient, tmp_path: Path) -> None:
    _patient(client)
    gp = _bearer(tmp_path, "gp")
    assert client.get("/fhir/Observation?code=x", headers=gp).status_code == 200
    assert _last_event(client)["patients"] == []
    unknown = "Observation?patient.identifier=" + FNR_SYSTEM + "|01010112345"
    assert client.get(f"/fhir/{unknown}", headers=gp).status_code == 200
    assert _last_event(client)["patients"] == []


def test_a_citizens_search_of_their_own_record_stays_out_of_their_access_log(
    client: TestClient, tmp_path: Path
) -> None:
    """As their own reads do: the record names them, the access log leaves it out."""
    patient_id = _patient(client)
    citizen = _bearer(tmp_path, "citizen")
    response = client.get(f"/fhir/Observation?patient={patient_id}", headers=citizen)
    assert response.status_code == 200
    event = _last_event(client)
    assert event["patients"] == [patient_id] and event["agent_kind"] == "citizen"
    assert _access_log_actions(client, tmp_path, patient_id) == ["registrerte"]  # the system


@pytest.mark.parametrize("path", ["Observation/_search", "Patient/{id}/Observation/_search"])
def test_a_search_by_post_is_recorded_as_a_search(
    client: TestClient, tmp_path: Path, path: str
) -> None:
    patient_id = _patient(client)
    gp = {**_bearer(tmp_path, "gp"), **FORM}
    response = client.post(
        "/fhir/" + path.format(id=patient_id), content=f"patient={patient_id}", headers=gp
    )
    assert response.status_code == 200, response.text
    event = _last_event(client)
    assert event["interaction"] == "search" and event["action"] == "E", event
    assert event["patients"] == [patient_id]
    assert _access_log_actions(client, tmp_path, patient_id) == ["søkte i", "registrerte"]


def test_a_search_narrowed_away_from_the_patient_looked_at_nothing_of_theirs(
    client: TestClient, tmp_path: Path
) -> None:
    """The gp attested for another patient: their search finds nothing because it may not
    look, as a read would be refused; it is not an access in this patient's log."""
    patient_id = _patient(client)
    _patient(client, "12837510110")
    other = {"Authorization": f"Bearer {mint(tmp_path, 'gp', patient_fnr='12837510110')}"}
    response = client.get(f"/fhir/Observation?patient={patient_id}", headers=other)
    assert response.status_code == 200 and not response.json().get("entry")
    assert _last_event(client)["patients"] == []
    assert _access_log_actions(client, tmp_path, patient_id) == ["registrerte"]
