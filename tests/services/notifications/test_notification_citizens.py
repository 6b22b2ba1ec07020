"""Citizens subscribe to their own record through the API, and to nothing else: another's
patient, another's subscription (read, search, $status, $events, update), no filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN
from fixtures.fhir_app import FHIR_JSON, mint
from samhandling.store.database import Engine
from services.notifications.notification_kit import (
    OTHER_PATIENT,
    Clock,
    raise_alerts,
    subscribe,
    subscription,
    worker,
)
from services.notifications.receiver import Receiver

SCOPES = ("patient/*.rs", "patient/Subscription.cru")
HOOK = "https://receiver.example/hook"


def citizen(tmp_path: Path, persona: str = "citizen") -> dict[str, str]:
    """A citizen's headers, with a scope to write Subscriptions."""
    return {"Authorization": f"Bearer {mint(tmp_path, persona, scopes=SCOPES)}", **FHIR_JSON}


def own(endpoint: str = HOOK, patient: str = CITIZEN) -> dict[str, object]:
    return subscription(endpoint, filters=(f"Communication?patient=Patient/{patient}",))


def test_a_citizen_subscribes_to_their_own_record_and_is_told_of_it_only(
    client: TestClient, engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    subscription_id = subscribe(client, own(receiver.url), citizen(tmp_path))
    stored = client.get(f"/fhir/Subscription/{subscription_id}", headers=citizen(tmp_path))
    assert stored.status_code == 200, stored.text
    others = raise_alerts(client, 2, OTHER_PATIENT)
    mine = raise_alerts(client, 2, CITIZEN)
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 2
    delivering.close()
    assert receiver.focuses() == mine
    assert not set(others) & set(receiver.focuses())


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (own(patient=OTHER_PATIENT), 403, "outside the citizen's compartment"),
        (subscription(HOOK), 403, "patient of this request cannot be determined"),
    ],
)
def test_a_citizen_may_not_subscribe_to_another_record_or_to_all(
    client: TestClient, tmp_path: Path, body: dict[str, object], status: int, reason: str
) -> None:
    response = client.post("/fhir/Subscription", json=body, headers=citizen(tmp_path))
    assert response.status_code == status, response.text
    assert reason in response.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/Subscription").json().get("total", 0) == 0


def test_a_citizen_without_a_write_scope_may_not_subscribe(
    client: TestClient, tmp_path: Path
) -> None:
    plain = {"Authorization": f"Bearer {mint(tmp_path, 'citizen')}", **FHIR_JSON}
    response = client.post("/fhir/Subscription", json=own(), headers=plain)
    assert response.status_code == 403, response.text


def test_another_citizen_cannot_see_or_change_a_subscription(
    client: TestClient, tmp_path: Path
) -> None:
    owner = citizen(tmp_path)
    subscription_id = subscribe(client, own(), owner)
    intruder = citizen(tmp_path, "parent")
    url = f"/fhir/Subscription/{subscription_id}"
    for path in (url, f"{url}/$status", f"{url}/$events"):
        assert client.get(path, headers=intruder).status_code in (403, 404), path
    found = client.get("/fhir/Subscription", headers=intruder).json()
    assert not [e for e in found.get("entry", []) if e["resource"]["id"] == subscription_id]
    body = {**own(), "id": subscription_id, "status": "off"}
    assert client.put(url, json=body, headers=intruder).status_code in (403, 404)
    taken = {**own("https://intruder.example/hook", OTHER_PATIENT), "id": subscription_id}
    assert client.put(url, json=taken, headers=intruder).status_code in (403, 404)
    assert client.delete(url, headers=intruder).status_code in (403, 404)
    stored = client.get(url, headers=owner).json()
    assert stored["status"] == "requested"
    assert stored["channel"]["endpoint"] == HOOK
    status = client.get(f"{url}/$status", headers=owner).json()
    assert {p["name"]: p for p in status["parameter"]}["status"]["valueCode"] == "requested"


def test_a_citizen_cannot_forge_the_owner(client: TestClient, tmp_path: Path) -> None:
    victim = subscribe(client, own(), citizen(tmp_path))
    stamped = client.get(f"/fhir/Subscription/{victim}", headers=citizen(tmp_path)).json()
    intruder = citizen(tmp_path, "parent")
    forged = {**own(patient=OTHER_PATIENT), "extension": stamped["extension"]}
    response = client.post("/fhir/Subscription", json=forged, headers=intruder)
    assert response.status_code == 403, response.text
    theirs = subscribe(client, own(patient=OTHER_PATIENT), intruder)  # stamped as theirs
    mine = client.get(f"/fhir/Subscription/{theirs}", headers=citizen(tmp_path))
    assert mine.status_code in (403, 404)
    assert client.get(f"/fhir/Subscription/{theirs}", headers=intruder).status_code == 200


def test_a_citizen_resumes_and_switches_off_their_own(client: TestClient, tmp_path: Path) -> None:
    subscription_id = subscribe(client, own(), citizen(tmp_path))
    url = f"/fhir/Subscription/{subscription_id}"
    body = {**own(), "id": subscription_id, "status": "off"}
    response = client.put(url, json=body, headers=citizen(tmp_path))
    assert response.status_code == 200, response.text
    status = client.get(f"{url}/$status", headers=citizen(tmp_path)).json()
    assert {p["name"]: p for p in status["parameter"]}["status"]["valueCode"] == "off"


def test_another_system_cannot_see_or_change_a_systems_subscription(
    client: TestClient, tmp_path: Path
) -> None:
    body = subscription(HOOK)
    body["channel"]["header"] = ["Authorization: Bearer receiver-secret"]
    subscription_id = subscribe(client, body)  # the client's own system persona
    other = {"Authorization": f"Bearer {mint(tmp_path, client_id='other-epj')}", **FHIR_JSON}
    url = f"/fhir/Subscription/{subscription_id}"
    for path in (url, f"{url}/$status", f"{url}/$events"):
        answer = client.get(path, headers=other)
        assert answer.status_code in (403, 404), path
        assert "receiver-secret" not in answer.text
    found = client.get("/fhir/Subscription", headers=other)
    assert "receiver-secret" not in found.text
    off = {**body, "id": subscription_id, "status": "off"}
    assert client.put(url, json=off, headers=other).status_code in (403, 404)
    assert client.delete(url, headers=other).status_code in (403, 404)
    assert client.get(url).json()["status"] == "requested"  # the owner still reads it
