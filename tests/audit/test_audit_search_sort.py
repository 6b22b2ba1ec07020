"""AuditEvent search sorts by the recorded time: newest first, or oldest with `_sort=date`."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON, mint


def patient_with_observation(client: TestClient) -> tuple[str, str]:
    patient = client.post("/fhir/Patient", json={"resourceType": "Patient"}, headers=FHIR_JSON)
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": f"Patient/{patient.json()['id']}"},
    }
    created = client.post("/fhir/Observation", json=observation, headers=FHIR_JSON)
    return patient.json()["id"], created.json()["id"]


def _ids(client: TestClient, url: str, officer: dict[str, str]) -> list[str]:
    """Every matching id, following `next` links two at a time."""
    seen: list[str] = []
    next_url: str | None = f"{url}&_count=2"
    while next_url is not None:
        page = client.get(next_url, headers=officer)
        assert page.status_code == 200, page.text
        bundle = page.json()
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        next_url = links.get("next", "").removeprefix("http://testserver") or None
    return seen


def test_audit_search_sorts_by_date_both_ways(client: TestClient, tmp_path: Path) -> None:
    patient_id, observation_id = patient_with_observation(client)
    for _ in range(4):
        assert client.get(f"/fhir/Observation/{observation_id}").status_code == 200
    officer = {"Authorization": f"Bearer {mint(tmp_path, 'security-officer')}"}
    query = f"/fhir/AuditEvent?patient=Patient/{patient_id}"
    newest_first = _ids(client, query, officer)
    assert len(newest_first) >= 6
    assert _ids(client, f"{query}&_sort=-date", officer) == newest_first
    assert _ids(client, f"{query}&_sort=date", officer) == newest_first[::-1]
    recorded = [
        e["resource"]["recorded"]
        for e in client.get(f"{query}&_sort=date&_count=100", headers=officer).json()["entry"]
    ]
    assert recorded == sorted(recorded)


def test_audit_search_refuses_other_sorts(client: TestClient, tmp_path: Path) -> None:
    officer = {"Authorization": f"Bearer {mint(tmp_path, 'security-officer')}"}
    for sort in ("agent", "_id", "date,agent", ""):
        response = client.get(f"/fhir/AuditEvent?_sort={sort}", headers=officer)
        assert response.status_code == 400, sort
        assert response.json()["issue"][0]["expression"] == ["_sort"]
