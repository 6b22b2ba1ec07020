"""Each kind of interaction leaves exactly the audit record it should."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.testclient import TestClient

from fixtures.audit_records import recorded_events
from fixtures.fhir_app import FHIR_JSON, mint
from samhandling.audit.events import (
    EMERGENCY_EXTENSION,
    EMERGENCY_REASON_EXTENSION,
    HEALTHCARE_SERVICE_EXTENSION,
)
from samhandling.auth.dev.personas import persona
from samhandling.fhir.fhir_dates import LOCAL_TZ
from samhandling.identifiers.identifier_systems import FNR_SYSTEM, HPR_SYSTEM

CITIZEN_FNR = persona("citizen").pid or ""


def events(client: TestClient) -> list[dict[str, Any]]:
    return recorded_events(client.app.state.engine)  # type: ignore[attr-defined]


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        f"/fhir/{body['resourceType']}", content=orjson.dumps(body), headers=FHIR_JSON
    )
    assert response.status_code == 201, response.text
    return response.json()


def patient_with_observation(client: TestClient) -> tuple[str, str]:
    patient = create(
        client,
        {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": CITIZEN_FNR}]},
    )
    observation = create(
        client,
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "weight"},
            "subject": {"reference": f"Patient/{patient['id']}"},
        },
    )
    return patient["id"], observation["id"]


def test_write_is_audited_in_its_transaction(client: TestClient) -> None:
    patient_id, observation_id = patient_with_observation(client)
    recorded = events(client)
    assert [e["interaction"] for e in recorded] == ["create", "create"]
    event = recorded[1]["event"]
    assert event["action"] == "C" and event["outcome"] == "0"
    assert event["subtype"][0]["code"] == "create"
    assert {"reference": f"Observation/{observation_id}/_history/1"} in [
        e["what"] for e in event["entity"]
    ]
    assert recorded[1]["patients"] == [patient_id]
    assert recorded[1]["agent_kind"] == "system" and recorded[1]["agent_org"] == "991000070"


def test_read_search_and_refusals_are_audited(client: TestClient, tmp_path: Path) -> None:
    patient_id, observation_id = patient_with_observation(client)
    assert client.get(f"/fhir/Observation/{observation_id}").status_code == 200
    assert client.get(f"/fhir/Observation?subject=Patient/{patient_id}").status_code == 200
    assert (
        client.get("/fhir/Observation/nope", headers={"Authorization": "Bearer forged"}).status_code
        == 401
    )
    # a citizen with no record here: refused before anything is looked up
    citizen = mint(tmp_path, "citizen", patient_fnr="12837510110")
    assert (
        client.get(
            f"/fhir/Observation/{observation_id}", headers={"Authorization": f"Bearer {citizen}"}
        ).status_code
        == 403
    )
    read, search, unauthenticated, refused = events(client)[2:]
    assert (
        read["interaction"] == "read" and read["action"] == "R" and read["patients"] == [patient_id]
    )
    assert search["interaction"] == "search" and search["action"] == "E"
    assert search["patients"] == [patient_id]
    query = [e for e in search["event"]["entity"] if e["role"]["code"] == "24"]
    assert query and "subject=Patient/" in query[0]["description"]
    assert unauthenticated["outcome"] == "4" and unauthenticated["http_status"] == 401
    assert unauthenticated["agent_kind"] is None
    assert refused["outcome"] == "4" and refused["agent_kind"] == "citizen"
    assert refused["patients"] == []  # nothing about the other patient is recorded as shown


def test_emergency_access_is_flagged_with_reason(client: TestClient, tmp_path: Path) -> None:
    _patient_id, observation_id = patient_with_observation(client)
    token = mint(tmp_path, "hospital-physician", purpose="BTG", reason="bevisstløs pasient")
    response = client.get(
        f"/fhir/Observation/{observation_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    last = events(client)[-1]
    assert last["emergency"] is True and last["purpose_of_use"] == "BTG"
    extensions = {e["url"]: e for e in last["event"]["extension"]}
    assert extensions[EMERGENCY_EXTENSION]["valueBoolean"] is True
    assert extensions[EMERGENCY_REASON_EXTENSION]["valueString"] == "bevisstløs pasient"
    assert extensions[HEALTHCARE_SERVICE_EXTENSION]["valueCoding"] == {
        "system": "urn:oid:2.16.578.1.12.4.1.1.8655",
        "code": "S03",
        "display": "Indremedisin",
    }
    assert (
        last["event"]["agent"][0]["who"]["identifier"]["value"]
        == persona("hospital-physician").hpr_number
    )


def test_full_national_ids_never_reach_the_trail(client: TestClient) -> None:
    patient_with_observation(client)
    client.get(f"/fhir/Patient?identifier={FNR_SYSTEM}|{CITIZEN_FNR}")
    for event in events(client):
        assert CITIZEN_FNR not in event["content"].decode()


def test_audit_events_are_never_writable(client: TestClient) -> None:
    body = orjson.dumps({"resourceType": "AuditEvent"})
    assert client.post("/fhir/AuditEvent", content=body, headers=FHIR_JSON).status_code == 405
    assert client.put("/fhir/AuditEvent/1", content=body, headers=FHIR_JSON).status_code == 405
    assert client.delete("/fhir/AuditEvent/1").status_code == 405


def test_security_officer_searches_the_trail(client: TestClient, tmp_path: Path) -> None:
    patient_id, observation_id = patient_with_observation(client)
    token = mint(tmp_path, "hospital-physician", purpose="ETREAT", reason="akutt")
    client.get(f"/fhir/Observation/{observation_id}", headers={"Authorization": f"Bearer {token}"})
    # the integration system (system/*.cruds) is not a security officer
    assert client.get("/fhir/AuditEvent").status_code == 403
    officer = {"Authorization": f"Bearer {mint(tmp_path, 'security-officer')}"}
    hpr = persona("hospital-physician").hpr_number
    found = client.get(f"/fhir/AuditEvent?agent={hpr}&emergency=true", headers=officer).json()
    assert len(found["entry"]) == 1
    assert found["entry"][0]["resource"]["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"
    by_patient = client.get(
        f"/fhir/AuditEvent?patient=Patient/{patient_id}", headers=officer
    ).json()
    assert len(by_patient["entry"]) >= 2
    assert client.get("/fhir/AuditEvent?date=ge2000-01-01&outcome=0", headers=officer).json()[
        "entry"
    ]
    assert client.get("/fhir/AuditEvent?bogus=1", headers=officer).status_code == 400
    event_id = found["entry"][0]["resource"]["id"]
    assert client.get(f"/fhir/AuditEvent/{event_id}", headers=officer).json()["id"] == event_id
    report = client.get(
        "/fhir/AuditEvent/$emergency-report?start=2000-01-01", headers=officer
    ).json()
    parts = report["parameter"][0]["part"]
    assert parts[0]["valueString"] == persona("hospital-physician").legal_entity[0]  # type: ignore[index]
    assert parts[1]["valueInteger"] == 1


def test_citizen_sees_who_accessed_their_data(client: TestClient, tmp_path: Path) -> None:
    patient_id, observation_id = patient_with_observation(client)
    gp = mint(tmp_path, "gp", patient_fnr=CITIZEN_FNR)
    client.get(f"/fhir/Observation/{observation_id}", headers={"Authorization": f"Bearer {gp}"})
    hospital = mint(tmp_path, "hospital-physician", patient_fnr=CITIZEN_FNR)
    read = client.get(
        f"/fhir/Observation/{observation_id}", headers={"Authorization": f"Bearer {hospital}"}
    )
    assert read.status_code == 200, read.text
    citizen = {"Authorization": f"Bearer {mint(tmp_path, 'citizen', patient_fnr=CITIZEN_FNR)}"}
    log = client.get(f"/fhir/Patient/{patient_id}/$access-log", headers=citizen)
    assert log.status_code == 200, log.text
    accesses = [
        {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in a["part"]}
        for a in log.json()["parameter"]
    ]
    gp_reads = [a for a in accesses if "991000011" in a.get("organisation", "")]
    assert gp_reads and gp_reads[0]["action"] == "leste" and gp_reads[0]["purpose"] == "behandling"
    assert gp_reads[0]["emergency"] is False and gp_reads[0]["role"] == "lege"
    assert "service" not in gp_reads[0]  # the GP's attestation names no healthcare service
    hospital_reads = [a for a in accesses if "991000046" in a.get("organisation", "")]
    assert hospital_reads and hospital_reads[0]["service"] == "Indremedisin"
    assert HPR_SYSTEM not in log.text  # no staff identifiers beyond what the portal shows
    # another citizen (with no record here) is refused before anything is looked up
    other = {"Authorization": f"Bearer {mint(tmp_path, 'citizen', patient_fnr='12837510110')}"}
    assert client.get(f"/fhir/Patient/{patient_id}/$access-log", headers=other).status_code == 403


def test_audit_can_be_off_only_for_benchmarks(database_url: str, tmp_path: Path) -> None:
    import pytest

    from fixtures.fhir_app import make_client

    with make_client(database_url, tmp_path, audit=False) as client:
        patient_with_observation(client)
        client.get("/fhir/Observation")
        assert events(client) == []
    with pytest.raises(RuntimeError, match="production"):
        make_client(
            database_url,
            tmp_path,
            audit=False,
            production=True,
            dev_issuer=False,
            trusted_issuers='[{"issuer": "https://helseid.example", "jwks_uri": "https://helseid.example/jwks"}]',
        )


def test_security_officer_pages_through_the_trail(client: TestClient, tmp_path: Path) -> None:
    """Searches page by (recorded time, id); `next` links lead through every match once
    (the officer's own searches name no patient, so this patient's matches stay put)."""
    patient_id, observation_id = patient_with_observation(client)
    for _ in range(5):
        assert client.get(f"/fhir/Observation/{observation_id}").status_code == 200
    officer = {"Authorization": f"Bearer {mint(tmp_path, 'security-officer')}"}
    query = f"/fhir/AuditEvent?patient=Patient/{patient_id}"
    everything = client.get(f"{query}&_count=1000", headers=officer).json()
    expected = [e["resource"]["id"] for e in everything["entry"]]
    assert len(expected) >= 6 and "next" not in {k["relation"] for k in everything["link"]}
    seen: list[str] = []
    url: str | None = f"{query}&_count=2"
    while url is not None:
        page = client.get(url, headers=officer)
        assert page.status_code == 200, page.text
        bundle = page.json()
        assert len(bundle["entry"]) <= 2
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url = links.get("next")
        if url is not None:
            assert "_count=2" in url and f"patient=Patient%2F{patient_id}" in url
            url = url.removeprefix("http://testserver")
    assert seen == expected
    assert client.get(f"{query}&_after=x", headers=officer).status_code == 400


def test_security_officer_date_prefixes_are_ranges(client: TestClient, tmp_path: Path) -> None:
    """date=YYYY-MM-DD is that day; gt after it, lt before it, le up to its end."""
    patient_with_observation(client)
    officer = {"Authorization": f"Bearer {mint(tmp_path, 'security-officer')}"}
    recorded = datetime.fromisoformat(events(client)[-1]["event"]["recorded"])
    today = recorded.astimezone(LOCAL_TZ).date().isoformat()  # a date is a local day

    def count(date: str) -> int:
        found = client.get(f"/fhir/AuditEvent?date={date}&_count=1000", headers=officer)
        assert found.status_code == 200, found.text
        return len(found.json().get("entry", []))

    assert count(today) >= 2 and count(f"le{today}") >= 2 and count(f"ge{today}") >= 2
    assert count(f"eq{today}") >= 2
    assert count("2000-01-01") == 0 and count(f"gt{today}") == 0 and count(f"lt{today}") == 0
    assert count("le2000-01-01") == 0 and count("ge2000-01-01") >= 2


def _client_agent(event: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in event["agent"] if not a["requestor"])


def test_refusals_record_the_reason_and_the_client_address(
    client: TestClient, tmp_path: Path
) -> None:
    _patient_id, observation_id = patient_with_observation(client)
    forged = client.get("/fhir/Observation", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    missing = client.get("/fhir/Observation", headers={"Authorization": ""})
    assert missing.status_code == 401
    citizen = mint(tmp_path, "citizen", patient_fnr="12837510110")
    refused = client.get(
        f"/fhir/Observation/{observation_id}", headers={"Authorization": f"Bearer {citizen}"}
    )
    assert refused.status_code == 403
    forged_event, missing_event, refused_event = (e["event"] for e in events(client)[2:])
    # the reason the client was given, and where the request came from (BALP agent.network)
    assert forged_event["outcomeDesc"] == forged.json()["issue"][0]["diagnostics"]
    assert missing_event["outcomeDesc"] == "authentication required"
    assert refused.json()["issue"][0]["diagnostics"].endswith(refused_event["outcomeDesc"])
    for event in (forged_event, missing_event, refused_event):
        assert _client_agent(event)["network"] == {"address": "testclient", "type": "2"}
    # an allowed access carries no address (personal data kept to what is needed)
    allowed = events(client)[1]["event"]
    assert all("network" not in agent for agent in allowed["agent"])


def test_writes_under_emergency_access_are_flagged(client: TestClient, tmp_path: Path) -> None:
    """Each write of a transaction Bundle made under emergency access says so on its own
    record (the guard keeps its first emergency decision as it is made)."""
    patient_id, _observation_id = patient_with_observation(client)
    token = mint(tmp_path, "hospital-physician", purpose="BTG", reason="bevisstløs pasient")
    entries = [
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": f"pulse {n}"},
                "subject": {"reference": f"Patient/{patient_id}"},
            },
            "request": {"method": "POST", "url": "Observation"},
        }
        for n in range(3)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    headers = {**FHIR_JSON, "Authorization": f"Bearer {token}"}
    response = client.post("/fhir", content=orjson.dumps(bundle), headers=headers)
    assert response.status_code == 200, response.text
    writes = [e for e in events(client) if e["interaction"] == "create"][-3:]
    assert [e["purpose_of_use"] for e in writes] == ["BTG"] * 3
    assert all(e["emergency"] is True for e in writes)
    reasons = [{x["url"]: x for x in e["event"]["extension"]} for e in writes]
    assert all(
        r[EMERGENCY_REASON_EXTENSION]["valueString"] == "bevisstløs pasient" for r in reasons
    )


def test_a_write_records_the_status_it_was_answered_with(client: TestClient) -> None:
    """Created 201, updated 200, deleted 204 (REST and a transaction's entry alike)."""
    patient_id, observation_id = patient_with_observation(client)
    update = {"resourceType": "Patient", "id": patient_id, "active": True}
    updated = client.put(
        f"/fhir/Patient/{patient_id}", content=orjson.dumps(update), headers=FHIR_JSON
    )
    deleted = client.delete(f"/fhir/Observation/{observation_id}")
    other = create(client, {"resourceType": "Patient", "active": False})
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": f"Patient/{other['id']}"}}],
    }
    answered = client.post("/fhir", content=orjson.dumps(bundle), headers=FHIR_JSON)
    assert (updated.status_code, deleted.status_code, answered.status_code) == (200, 204, 200)
    assert answered.json()["entry"][0]["response"]["status"] == "204 No Content"
    recorded = [(e["interaction"], e["http_status"]) for e in events(client)]
    assert recorded == [
        ("create", 201),
        ("create", 201),
        ("update", 200),
        ("delete", 204),
        ("create", 201),
        ("delete", 204),
    ]
