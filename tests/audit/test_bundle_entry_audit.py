"""Every read entry of a batch or transaction Bundle leaves the audit record a plain GET
would, whether or not the Bundle also writes; a failed entry's record names the patient it
aimed at (the trail's, never the caller's answer)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from fixtures.audit_records import recorded_events
from fixtures.fhir_app import FHIR_JSON, mint
from samhandling.auth.dev.personas import persona
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

CITIZEN_FNR = persona("citizen").pid or ""
OTHER_FNR = "12837510110"


def _create(client: TestClient, body: dict[str, Any]) -> str:
    response = client.post(f"/fhir/{body['resourceType']}", json=body, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _observation(patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def _patient_with_observation(client: TestClient, fnr: str) -> tuple[str, str]:
    patient = {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": fnr}]}
    patient_id = _create(client, patient)
    return patient_id, _create(client, _observation(patient_id))


def _bearer(tmp_path: Path, name: str, fnr: str = CITIZEN_FNR) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(tmp_path, name, patient_fnr=fnr)}", **FHIR_JSON}


def _get(url: str) -> dict[str, Any]:
    return {"request": {"method": "GET", "url": url}}


def _post(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}


def _bundle(
    client: TestClient, kind: str, entries: list[dict[str, Any]], headers: dict[str, str]
) -> list[dict[str, Any]]:
    body = {"resourceType": "Bundle", "type": kind, "entry": entries}
    response = client.post("/fhir", content=orjson.dumps(body), headers=headers)
    assert response.status_code == 200, response.text
    return [entry["response"] for entry in response.json()["entry"]]


def _new_events(client: TestClient, before: int) -> list[dict[str, Any]]:
    return recorded_events(client.app.state.engine)[before:]  # type: ignore[attr-defined]


def _count(client: TestClient) -> int:
    return len(recorded_events(client.app.state.engine))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Two:
    """The citizen's record and another patient's, a gp attested for the citizen, and how
    many audit rows there were before the test's request."""

    patient_id: str
    observation_id: str
    other_id: str
    others_observation: str
    gp: dict[str, str]
    before: int


def _two_records(client: TestClient, tmp_path: Path) -> _Two:
    mine = _patient_with_observation(client, CITIZEN_FNR)
    other = _patient_with_observation(client, OTHER_FNR)
    return _Two(*mine, *other, _bearer(tmp_path, "gp"), _count(client))


@pytest.mark.parametrize("kind", ["batch", "transaction"])
def test_read_entries_of_a_bundle_that_writes_are_audited_as_reads(
    client: TestClient, tmp_path: Path, kind: str
) -> None:
    patient_id, observation_id = _patient_with_observation(client, CITIZEN_FNR)
    gp = _bearer(tmp_path, "gp")
    before = _count(client)
    entries = [
        _get(f"Observation/{observation_id}"),
        _get(f"Observation?patient={patient_id}"),
        _post(_observation(patient_id)),
    ]
    statuses = [r["status"] for r in _bundle(client, kind, entries, gp)]
    assert statuses[0].startswith("200") and statuses[2].startswith("201"), statuses
    recorded = _new_events(client, before)
    by_interaction = {e["interaction"]: e for e in recorded}
    assert sorted(by_interaction) == ["create", "read", "search"], recorded
    read, search = by_interaction["read"], by_interaction["search"]
    assert read["outcome"] == "0" and read["action"] == "R" and read["patients"] == [patient_id]
    assert read["agent_kind"] == "clinician"
    assert {"reference": f"Observation/{observation_id}/_history/1"} in [
        e["what"] for e in read["event"]["entity"] if "what" in e
    ]
    assert search["outcome"] == "0" and search["action"] == "E"
    assert search["patients"] == [patient_id]
    query = [e for e in search["event"]["entity"] if e["role"]["code"] == "24"]
    assert query[0]["description"] == f"GET /fhir/Observation?patient={patient_id}"
    # in the patient's own access log, as a plain read and search are
    citizen = _bearer(tmp_path, "citizen")
    log = client.get(f"/fhir/Patient/{patient_id}/$access-log", headers=citizen).json()
    actions = [
        part["valueString"]
        for access in log["parameter"]
        for part in access["part"]
        if part["name"] == "action"
    ]
    assert "leste" in actions and "søkte i" in actions and "registrerte" in actions


def test_a_batch_of_reads_with_a_refused_one_keeps_the_allowed_read(
    client: TestClient, tmp_path: Path
) -> None:
    two = _two_records(client, tmp_path)
    patient_id, observation_id, other_id = two.patient_id, two.observation_id, two.other_id
    others_observation, gp, before = two.others_observation, two.gp, two.before
    entries = [_get(f"Observation/{observation_id}"), _get(f"Observation/{others_observation}")]
    allowed, refused = _bundle(client, "batch", entries, gp)
    assert allowed["status"].startswith("200") and refused["status"].startswith("403")
    assert other_id not in orjson.dumps(refused).decode()  # the answer names nobody
    recorded = _new_events(client, before)
    assert [(e["interaction"], e["outcome"]) for e in recorded] == [("read", "0"), ("read", "4")]
    assert recorded[0]["patients"] == [patient_id]
    # the refused entry names the patient it aimed at, for the trail
    assert recorded[1]["patients"] == [other_id]
    assert recorded[1]["event"]["outcomeDesc"].startswith("Bundle.entry[1] (GET Observation/")


def test_a_refused_write_entry_names_the_patient_of_its_body(
    client: TestClient, tmp_path: Path
) -> None:
    two = _two_records(client, tmp_path)
    patient_id, other_id, gp, before = two.patient_id, two.other_id, two.gp, two.before
    entries = [_post(_observation(patient_id)), _post(_observation(other_id))]
    kept, refused = _bundle(client, "batch", entries, gp)
    assert kept["status"].startswith("201") and refused["status"].startswith("403")
    created, refusal = _new_events(client, before)
    assert created["interaction"] == "create" and created["patients"] == [patient_id]
    assert refusal["interaction"] == "create" and refusal["outcome"] == "4"
    assert refusal["patients"] == [other_id]


def test_a_citizens_concealed_entry_is_a_plain_404_and_names_the_patient_in_the_trail(
    client: TestClient, tmp_path: Path
) -> None:
    _patient_with_observation(client, CITIZEN_FNR)
    other_id, others_observation = _patient_with_observation(client, OTHER_FNR)
    citizen = _bearer(tmp_path, "citizen")
    before = _count(client)
    entries = [_get(f"Observation/{others_observation}"), _get("Observation/nonexistent")]
    concealed, missing = _bundle(client, "batch", entries, citizen)
    assert concealed["status"] == missing["status"] and concealed["status"].startswith("404")
    said = [r["outcome"]["issue"][0]["diagnostics"] for r in (concealed, missing)]
    assert said == [
        f"Bundle.entry[0] (GET Observation/{others_observation}): "
        f"Observation/{others_observation} is not known",
        "Bundle.entry[1] (GET Observation/nonexistent): Observation/nonexistent is not known",
    ]
    assert other_id not in orjson.dumps(concealed).decode()
    refusals = _new_events(client, before)
    assert [e["patients"] for e in refusals] == [[other_id], []]


def test_a_plain_refused_read_names_the_patient_of_the_resource(
    client: TestClient, tmp_path: Path
) -> None:
    two = _two_records(client, tmp_path)
    other_id, others_observation, gp, before = (
        two.other_id,
        two.others_observation,
        two.gp,
        two.before,
    )
    response = client.get(f"/fhir/Observation/{others_observation}", headers=gp)
    assert response.status_code == 403 and other_id not in response.text
    (refused,) = _new_events(client, before)
    assert refused["outcome"] == "4" and refused["patients"] == [other_id]


def test_a_transaction_refused_one_entry_is_one_refusal_naming_its_patient(
    client: TestClient, tmp_path: Path
) -> None:
    two = _two_records(client, tmp_path)
    entries = [
        _post(_observation(two.patient_id)),
        _get(f"Observation/{two.observation_id}"),
        _get(f"Observation/{two.others_observation}"),
    ]
    body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = client.post("/fhir", content=orjson.dumps(body), headers=two.gp)
    assert response.status_code == 403 and two.other_id not in response.text
    (refusal,) = _new_events(client, two.before)  # the write and the reads went back with it
    assert refusal["interaction"] == "transaction" and refusal["outcome"] == "4"
    assert two.other_id in refusal["patients"]
