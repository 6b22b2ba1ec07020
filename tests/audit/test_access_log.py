"""The citizen's access log pages, filters and names who accessed (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON, mint
from samhandling.auth.dev.personas import persona
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

CITIZEN_FNR = persona("citizen").pid or ""
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


def _record(client: TestClient, fnr: str = CITIZEN_FNR) -> tuple[str, str]:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
    }
    patient_id = client.post("/fhir/Patient", json=patient, headers=FHIR_JSON).json()["id"]
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    created = client.post("/fhir/Observation", json=observation, headers=FHIR_JSON)
    return patient_id, created.json()["id"]


def _bearer(tmp_path: Path, name: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(tmp_path, name, **claims)}"}


def _accesses(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in a["part"]}
        for a in parameters["parameter"]
        if a["name"] == "access"
    ]


def _log(client: TestClient, url: str, citizen: dict[str, str]) -> dict[str, Any]:
    response = client.get(url, headers=citizen)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _next(parameters: dict[str, Any]) -> str | None:
    found = [p["valueUri"] for p in parameters["parameter"] if p["name"] == "next"]
    return found[0].removeprefix("http://testserver") if found else None


def test_the_access_log_pages_through_every_access(client: TestClient, tmp_path: Path) -> None:
    patient_id, observation_id = _record(client)
    gp = _bearer(tmp_path, "gp", patient_fnr=CITIZEN_FNR)
    for _ in range(7):
        assert client.get(f"/fhir/Observation/{observation_id}", headers=gp).status_code == 200
    citizen = _bearer(tmp_path, "citizen", patient_fnr=CITIZEN_FNR)
    url = f"/fhir/Patient/{patient_id}/$access-log"
    everything = _log(client, url, citizen)
    assert _next(everything) is None and len(_accesses(everything)) >= 9
    seen: list[dict[str, Any]] = []
    page_url: str | None = f"{url}?_count=3"
    while page_url is not None:
        page = _log(client, page_url, citizen)
        assert len(_accesses(page)) <= 3
        seen += _accesses(page)
        page_url = _next(page)
        assert page_url is None or "_count=3" in page_url
    assert seen == _accesses(everything)
    assert client.get(f"{url}?_after=x", headers=citizen).status_code == 400
    assert client.get(f"{url}?bogus=1", headers=citizen).status_code == 400


def test_the_access_log_filters_by_period_and_organisation(
    client: TestClient, tmp_path: Path
) -> None:
    patient_id, observation_id = _record(client)
    for name in ("gp", "hospital-physician"):
        reader = _bearer(tmp_path, name, patient_fnr=CITIZEN_FNR)
        assert client.get(f"/fhir/Observation/{observation_id}", headers=reader).status_code == 200
    citizen = _bearer(tmp_path, "citizen", patient_fnr=CITIZEN_FNR)
    url = f"/fhir/Patient/{patient_id}/$access-log"

    def count(query: str) -> int:
        return len(_accesses(_log(client, f"{url}?{query}", citizen)))

    total = count("")
    assert total >= 4
    assert count("date=ge2000-01-01") == total and count("start=2000-01-01") == total
    assert count("date=le2000-01-01") == 0 and count("end=2000-01-01") == 0
    assert count("date=ge2999-01-01") == 0 and count("start=2999-01-01") == 0
    assert count("date=ge2000-01-01&date=le2999-12-31") == total
    hospital = persona("hospital-physician").legal_entity[0]  # type: ignore[index]
    by_hospital = _accesses(_log(client, f"{url}?organisation={hospital}", citizen))
    assert len(by_hospital) == 1 and hospital in by_hospital[0]["organisation"]
    assert client.get(f"{url}?date=notadate", headers=citizen).status_code == 400


def test_the_access_log_names_the_organisation_and_the_system(
    client: TestClient, tmp_path: Path
) -> None:
    patient_id, observation_id = _record(client)
    physician = persona("hospital-physician")
    reader = _bearer(tmp_path, "hospital-physician", patient_fnr=CITIZEN_FNR)
    assert client.get(f"/fhir/Observation/{observation_id}", headers=reader).status_code == 200
    citizen = _bearer(tmp_path, "citizen", patient_fnr=CITIZEN_FNR)
    (access,) = _accesses(_log(client, f"/fhir/Patient/{patient_id}/$access-log", citizen))[:1]
    legal, unit, department = physician.legal_entity, physician.point_of_care, physician.department
    assert legal and unit and department
    assert access["organisation"] == f"{legal[1]}, {unit[1]}, {department[1]} ({legal[0]})"
    assert access["system"] == physician.client_name


def test_a_read_of_critical_information_reads_as_a_read(client: TestClient, tmp_path: Path) -> None:
    patient_id, _ = _record(client)
    reader = _bearer(tmp_path, "hospital-physician", patient_fnr=CITIZEN_FNR)
    summary = client.get(f"/fhir/Patient/{patient_id}/$critical-information", headers=reader)
    assert summary.status_code == 200, summary.text
    citizen = _bearer(tmp_path, "citizen", patient_fnr=CITIZEN_FNR)
    latest = _accesses(_log(client, f"/fhir/Patient/{patient_id}/$access-log", citizen))[0]
    assert latest["action"] == "leste" and "991000046" in latest["organisation"]


def test_an_attorneys_look_ups_are_in_the_grantors_log_by_name_and_her_own_are_not(
    client: TestClient, tmp_path: Path
) -> None:
    attorney = persona("attorney")
    assert attorney.pid and attorney.grantor_pid
    grantor_id, observation_id = _record(client, attorney.grantor_pid)
    own_id, _ = _record(client, attorney.pid)
    grant = {  # the platform's register of powers of attorney (written by a system)
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": {"reference": f"Patient/{grantor_id}"},
        "identifier": [{"system": FNR_SYSTEM, "value": attorney.pid}],
        "relationship": [{"coding": [{"system": ROLE_CODE, "code": "POWATT"}]}],
    }
    assert client.post("/fhir/RelatedPerson", json=grant, headers=FHIR_JSON).status_code == 201
    frida = _bearer(tmp_path, "attorney")  # acts for the grantor (power of attorney)
    assert client.get(f"/fhir/Observation/{observation_id}", headers=frida).status_code == 200
    assert client.get(f"/fhir/Patient/{own_id}", headers=frida).status_code == 200
    grantor = _bearer(tmp_path, "citizen", patient_fnr=attorney.grantor_pid)
    log = _accesses(_log(client, f"/fhir/Patient/{grantor_id}/$access-log", grantor))
    (hers,) = [a for a in log if a.get("representative")]
    assert hers["representative"] == attorney.display_name and hers["role"] == "fullmektig"
    assert hers["action"] == "leste" and "organisation" not in hers
    own = _accesses(_log(client, f"/fhir/Patient/{own_id}/$access-log", frida))
    assert not [a for a in own if a.get("representative")]  # her own look is not listed
    stranger = _bearer(tmp_path, "attorney")
    other_id, other_observation = _record(client)  # Cecilie: nobody gave Frida anything
    answer = client.get(f"/fhir/Observation/{other_observation}", headers=stranger)
    assert answer.status_code in (403, 404)
    cecilie = _bearer(tmp_path, "citizen", patient_fnr=CITIZEN_FNR)
    log = _accesses(_log(client, f"/fhir/Patient/{other_id}/$access-log", cecilie))
    assert not [a for a in log if a.get("representative")]
