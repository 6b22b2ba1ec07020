"""Conditional interactions under the access policy (issue 16, items 1 and 2).

A conditional create, update or delete looks for matches only among what the caller may
see, after its permission on the type was decided: no answer (200, 201, 204, 403, 412)
depends on a resource the caller may not see, and a returned match is audited with its
patient.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON, mint
from samhandling.audit.storage.tables import audit_event, audit_patient
from samhandling.audit.stored_form import event_of
from samhandling.auth.dev.personas import persona
from samhandling.auth.labels import NO_9603
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

CITIZEN_FNR = persona("citizen").pid or ""
OTHER_FNR = "12837510110"
CODE = "http://example.org/codes|secret-diagnosis"


def _bearer(tmp_path: Path, name: str, **claims: Any) -> dict[str, str]:
    return {**FHIR_JSON, "Authorization": f"Bearer {mint(tmp_path, name, **claims)}"}


def _post(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    response = client.post(
        f"/fhir/{body['resourceType']}", content=orjson.dumps(body), headers=FHIR_JSON | headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def _patient(client: TestClient, fnr: str) -> str:
    body = {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": fnr}]}
    return str(_post(client, body)["id"])


def _condition(patient_id: str, *, label: str | None = None) -> dict[str, Any]:
    system, code = CODE.split("|")
    body: dict[str, Any] = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if label:
        body["meta"] = {"security": [{"system": NO_9603, "code": label}]}
    return body


@pytest.fixture
def people(client: TestClient) -> dict[str, str]:
    """The citizen and another person, the other with a Condition (written by a system)."""
    own, other = _patient(client, CITIZEN_FNR), _patient(client, OTHER_FNR)
    other_condition = _post(client, _condition(other))["id"]
    return {"own": own, "other": other, "other-condition": other_condition}


def _conditional_create(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], criteria: str
) -> Any:
    return client.post(
        "/fhir/Condition",
        content=orjson.dumps(body),
        headers={**headers, "If-None-Exist": criteria},
    )


def _count(client: TestClient, criteria: str) -> int:
    bundle = client.get(f"/fhir/Condition?{criteria}&_total=accurate").json()
    return int(bundle["total"])


def test_citizen_conditional_create_discloses_nothing(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    citizen = _bearer(tmp_path, "citizen", patient_fnr=CITIZEN_FNR)
    answers = []
    for fnr in (OTHER_FNR, "01010112345"):  # a match exists / does not exist
        criteria = f"patient.identifier={FNR_SYSTEM}|{fnr}"
        response = _conditional_create(client, citizen, _condition(people["own"]), criteria)
        assert people["other-condition"] not in response.text
        answers.append(response.status_code)
    assert answers == [403, 403]


def test_security_officer_conditional_create_is_refused(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    officer = _bearer(tmp_path, "security-officer")
    criteria = f"patient.identifier={FNR_SYSTEM}|{OTHER_FNR}"
    response = _conditional_create(client, officer, _condition(people["other"]), criteria)
    assert response.status_code == 403, response.text
    assert people["other-condition"] not in response.text


def test_clinician_limited_to_one_patient_does_not_match_another(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    gp = _bearer(tmp_path, "gp", patient_fnr=CITIZEN_FNR)
    criteria = f"patient.identifier={FNR_SYSTEM}|{OTHER_FNR}"
    response = _conditional_create(client, gp, _condition(people["own"]), criteria)
    assert response.status_code == 201, response.text  # the other's Condition does not match
    assert response.json()["id"] != people["other-condition"]
    assert response.json()["subject"]["reference"] == f"Patient/{people['own']}"
    # the same for the other patient's record itself: refused as a write, nothing shown
    response = _conditional_create(client, gp, _condition(people["other"]), criteria)
    assert response.status_code == 403, response.text
    assert people["other-condition"] not in response.text


def test_blocked_resource_does_not_match_for_personnel(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    blocked = _post(client, _condition(people["own"], label="NORS"))["id"]
    gp = _bearer(tmp_path, "gp", patient_fnr=CITIZEN_FNR)
    criteria = f"patient={people['own']}&code={CODE}"
    response = _conditional_create(client, gp, _condition(people["own"]), criteria)
    assert response.status_code == 201, response.text
    assert blocked not in response.text


def test_transaction_if_none_exist_matches_only_what_the_caller_sees(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    gp = _bearer(tmp_path, "gp", patient_fnr=CITIZEN_FNR)
    entry = {
        "resource": _condition(people["own"]),
        "request": {
            "method": "POST",
            "url": "Condition",
            "ifNoneExist": f"patient.identifier={FNR_SYSTEM}|{OTHER_FNR}",
        },
    }
    for kind in ("transaction", "batch"):
        bundle = {"resourceType": "Bundle", "type": kind, "entry": [entry]}
        response = client.post("/fhir", content=orjson.dumps(bundle), headers=gp)
        assert response.status_code == 200, response.text
        assert response.json()["entry"][0]["response"]["status"].startswith("201")
        assert people["other-condition"] not in response.text


def _audited(client: TestClient, entity: str) -> list[dict[str, Any]]:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        found = []
        for row in connection.execute(select(audit_event)).mappings():
            if entity in orjson.dumps(event_of(row["content"])).decode():
                patients = connection.execute(
                    select(audit_patient.c.patient_id).where(
                        audit_patient.c.event_id == row["event_id"]
                    )
                ).scalars()
                found.append({"status": row["http_status"], "patients": set(patients)})
        return found


def test_returned_match_is_audited_with_its_patient(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    gp = _bearer(tmp_path, "gp", patient_fnr=OTHER_FNR)
    criteria = f"patient.identifier={FNR_SYSTEM}|{OTHER_FNR}"
    response = _conditional_create(client, gp, _condition(people["other"]), criteria)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == people["other-condition"]
    audited = _audited(client, f"Condition/{people['other-condition']}")
    assert any(a["status"] == 200 and a["patients"] == {people["other"]} for a in audited)
    # several matches (412): the record names them and their patients too
    own_condition = _post(client, _condition(people["own"]))["id"]
    response = _conditional_create(client, FHIR_JSON, _condition(people["own"]), f"code={CODE}")
    assert response.status_code == 412, response.text
    audited = _audited(client, f"Condition/{own_condition}")
    assert any(
        a["status"] == 412 and a["patients"] == {people["own"], people["other"]} for a in audited
    )


@pytest.mark.parametrize("method", ["DELETE", "PUT"])
def test_citizen_conditional_write_is_no_oracle(
    client: TestClient, tmp_path: Path, people: dict[str, str], method: str
) -> None:
    _post(client, _condition(people["own"]))  # a second match for the code
    citizen = _bearer(tmp_path, "citizen", patient_fnr=CITIZEN_FNR)
    answers = []
    for criteria in (
        "code=http://example.org/codes|none",
        f"patient={people['other']}",
        "code=" + CODE,
    ):
        body = orjson.dumps(_condition(people["own"])) if method == "PUT" else None
        response = client.request(
            method, f"/fhir/Condition?{criteria}", content=body, headers=citizen
        )
        answers.append(response.status_code)
    assert answers == [403, 403, 403]  # none, one, several: the same refusal
    assert _count(client, f"code={CODE}") == 2


def test_conditional_delete_counts_only_visible_matches(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    _post(client, _condition(people["other"]))  # the other has two now
    gp = _bearer(tmp_path, "gp", patient_fnr=CITIZEN_FNR, scopes=("user/*.cruds",))
    response = client.delete(f"/fhir/Condition?code={CODE}", headers=gp)
    assert response.status_code == 204, response.text  # no visible match: nothing done
    assert _count(client, f"code={CODE}") == 2
    own = _post(client, _condition(people["own"]))["id"]
    response = client.delete(f"/fhir/Condition?code={CODE}", headers=gp)
    assert response.status_code == 204, response.text  # the one visible match is deleted
    assert client.get(f"/fhir/Condition/{own}").status_code == 410
    assert _count(client, f"code={CODE}") == 2


def test_conditional_update_counts_only_visible_matches(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    _post(client, _condition(people["other"]))
    gp = _bearer(tmp_path, "gp", patient_fnr=CITIZEN_FNR)
    body = orjson.dumps(_condition(people["own"]))
    response = client.put(f"/fhir/Condition?code={CODE}", content=body, headers=gp)
    assert response.status_code == 201, response.text  # not 412: the others' do not match
    assert response.json()["subject"]["reference"] == f"Patient/{people['own']}"
    others = client.get(f"/fhir/Condition?patient={people['other']}").json()["entry"]
    assert all(e["resource"]["meta"]["versionId"] == "1" for e in others)


def test_conditional_reference_resolves_only_to_what_the_caller_sees(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    gp = _bearer(tmp_path, "gp", patient_fnr=CITIZEN_FNR)
    answers = []
    for fnr in (OTHER_FNR, "01010112345", CITIZEN_FNR):  # another's, nobody's, own
        condition = _condition(people["own"])
        condition["subject"] = {"reference": f"Patient?identifier={FNR_SYSTEM}|{fnr}"}
        entry = {"resource": condition, "request": {"method": "POST", "url": "Condition"}}
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        response = client.post("/fhir", content=orjson.dumps(bundle), headers=gp)
        assert people["other"] not in response.text
        answers.append(response.status_code)
    assert answers == [412, 412, 200]
