"""The notifications' metrics (queue depth, delivery latency, failures by bounded labels)
and the audit record of each delivery."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN
from fixtures.fhir_app import mint
from samhandling.fhir.instants import now_us
from samhandling.services.notifications import DeliveryWorker
from samhandling.store.database import Engine
from services.notifications.notification_kit import Clock, raise_alerts, subscribe, subscription
from services.notifications.notification_kit import worker as delivery_worker
from services.notifications.receiver import Receiver


def _scrape(delivering: DeliveryWorker) -> dict[str, float]:
    """The worker's metrics as `name{labels}` -> value."""
    registry = CollectorRegistry()
    registry.register(delivering.collector)
    found = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def test_queue_depth_latency_and_failures(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscribe(client, subscription(receiver.url))
    clock = Clock(now_us())
    delivering = delivery_worker(engine, clock)
    delivering.run_once()  # the handshake
    raise_alerts(client, 3)
    waiting = _scrape(delivering)
    assert waiting['samhandling_notification_queue{stage="unmatched"}'] >= 3
    clock.advance(0.05)
    assert delivering.run_once() == 3
    done = _scrape(delivering)
    assert done['samhandling_notification_queue{stage="unmatched"}'] == 0
    assert done['samhandling_notification_queue{stage="undelivered"}'] == 0
    assert done['samhandling_notifications_delivered_total{channel="rest-hook"}'] == 3
    assert done['samhandling_notification_delivery_seconds_count{channel="rest-hook"}'] == 3
    assert done['samhandling_notification_subscriptions{status="active"}'] == 1
    receiver.down = True
    raise_alerts(client, 2)
    delivering.run_once()
    failing = _scrape(delivering)
    delivering.close()
    key = 'samhandling_notification_failures_total{channel="rest-hook",reason="http-5xx"}'
    assert failing[key] == 1
    assert failing['samhandling_notification_failing_subscriptions{failures="1"}'] == 1
    assert failing['samhandling_notification_queue{stage="undelivered"}'] == 2
    assert not [name for name in failing if "subscription_id" in name]  # bounded labels


def test_each_delivery_is_audited_with_the_subscriber_and_what_it_was_told(
    client: TestClient, engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    subscription_id = subscribe(client, subscription(receiver.url))
    written = raise_alerts(client, 2)
    delivering = delivery_worker(engine, Clock())
    delivering.run_once()
    delivering.close()
    officer = {"Authorization": f"Bearer {mint(tmp_path, 'security-officer')}"}
    found = client.get("/fhir/AuditEvent", params={"_count": "100"}, headers=officer)
    assert found.status_code == 200, found.text
    events = [e["resource"] for e in found.json()["entry"]]
    (event,) = [e for e in events if "delivered by rest-hook" in e.get("outcomeDesc", "")]
    assert (
        event["outcomeDesc"]
        == f"events 1-2 of Subscription/{subscription_id} delivered by rest-hook"
    )
    displays = [a.get("who", {}).get("display") for a in event["agent"]]
    assert "Fjordbyen integrasjonsmotor" in displays  # the subscriber
    entities = [e.get("what", {}).get("reference") for e in event["entity"]]
    assert all(any(r and r.startswith(w) for r in entities) for w in written)
    assert any(r == f"Patient/{CITIZEN}" for r in entities)
