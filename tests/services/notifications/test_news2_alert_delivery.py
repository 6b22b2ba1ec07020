"""The NEWS2 alert end to end, in process: vital signs posted by a measurement system, a
clinician's `$news2` raises the alert `Communication` (preparation), the notifications
service delivers it to the care team's subscription (topic `news2-alert`), and the alert is
then `completed`, with the time of delivery as `sent`; not before, and only once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from samhandling.fhir.instants import format_instant
from samhandling.store.database import Engine
from services.measurements.vitals_kit import batch, vital_set
from services.notifications.notification_kit import (
    Clock,
    raise_alerts,
    subscribe,
    subscription,
    worker,
)
from services.notifications.receiver import Receiver


def _raise_alert(world: World) -> str:
    """Store a worrying set of vital signs and score it: the alert's reference."""
    signs = vital_set("2024-03-01T08:00:00Z", 26, 91, 95, 125, "A", 39.4)  # NEWS2 high
    stored = world.client.post("/fhir", json=batch(signs), headers=FHIR_JSON)
    locations = [e["response"]["location"].split("/_history")[0] for e in stored.json()["entry"]]
    parameters: list[dict[str, Any]] = [
        {"name": "observation", "valueReference": {"reference": r}} for r in locations
    ]
    parameters.append({"name": "supplementalOxygen", "valueBoolean": False})
    body = {"resourceType": "Parameters", "parameter": parameters}
    scored = world.client.post(
        f"/fhir/Patient/{CITIZEN}/$news2", json=body, headers={**FHIR_JSON, **world.as_("gp")}
    )
    assert scored.status_code == 201, scored.text
    found = {p["name"]: p["resource"] for p in scored.json()["parameter"]}
    assert found["alert"]["status"] == "preparation"
    return f"Communication/{found['alert']['id']}"


def test_a_delivered_news2_alert_is_completed_once(
    client: TestClient, engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    world = World(client, tmp_path)
    care_team = subscribe(
        client, subscription(receiver.url, filters=(f"Communication?patient=Patient/{CITIZEN}",))
    )
    clock = Clock()
    delivering = worker(engine, clock)
    try:
        delivering.run_once()  # the handshake: the subscription is active
        alert = _raise_alert(world)
        (other,) = raise_alerts(client, 1)  # an alert Communication `$news2` did not raise
        receiver.down = True  # not delivered: still awaiting delivery
        delivering.run_once()
        assert client.get(f"/fhir/{alert}").json()["status"] == "preparation"
        receiver.down = False
        clock.advance(3600)
        assert delivering.run_once() == 2
        assert receiver.focuses() == [alert, other]
        delivered = client.get(f"/fhir/{alert}").json()
        assert delivered["status"] == "completed"
        assert delivered["sent"] == format_instant(clock.at_us)
        assert delivered["meta"]["versionId"] == "2"
        clock.advance(3600)
        assert delivering.run_once() == 0  # the completion is not announced again
    finally:
        delivering.close()
    assert client.get(f"/fhir/{alert}").json()["meta"]["versionId"] == "2"
    assert client.get(f"/fhir/{other}").json()["status"] == "preparation"  # not ours
    assert client.get(f"/fhir/Subscription/{care_team}").json()["status"] == "active"
