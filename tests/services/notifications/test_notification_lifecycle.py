"""The handshake (requested → active, or error), the heartbeat when nothing else was sent,
and the end of a subscription, on a fixed clock with a real receiver."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from samhandling.fhir.instants import format_instant
from samhandling.store.database import Engine
from services.notifications.notification_kit import (
    BACKPORT,
    Clock,
    raise_alerts,
    subscribe,
    subscription,
    worker,
)
from services.notifications.receiver import Receiver


def _status(client: TestClient, subscription_id: str) -> dict[str, Any]:
    body = client.get(f"/fhir/Subscription/{subscription_id}/$status").json()
    return {p["name"]: p for p in body["parameter"]}


def test_the_handshake_makes_a_subscription_active(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscription_id = subscribe(client, subscription(receiver.url))
    assert client.get(f"/fhir/Subscription/{subscription_id}").json()["status"] == "requested"
    written = raise_alerts(client, 1)  # while requested: numbered, sent after the handshake
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 1
    delivering.close()
    assert receiver.kinds() == ["handshake", "event-notification"]
    handshake = {p["name"]: p for p in receiver.bundles[0]["entry"][0]["resource"]["parameter"]}
    assert handshake["status"]["valueCode"] == "requested"
    assert receiver.focuses() == written
    assert client.get(f"/fhir/Subscription/{subscription_id}").json()["status"] == "active"
    assert _status(client, subscription_id)["status"]["valueCode"] == "active"


def test_a_failed_handshake_turns_the_subscription_error(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscription_id = subscribe(client, subscription(receiver.url))
    receiver.down = True
    raise_alerts(client, 1)
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 0
    assert delivering.run_once() == 0  # not retried: its owner writes it again
    delivering.close()
    stored = client.get(f"/fhir/Subscription/{subscription_id}").json()
    assert stored["status"] == "error"
    assert "handshake failed" in stored["error"] and "503" in stored["error"]
    assert _status(client, subscription_id)["status"]["valueCode"] == "error"


def _with_heartbeat(body: dict[str, Any], seconds: int) -> dict[str, Any]:
    body["channel"]["extension"] = [
        {"url": f"{BACKPORT}/backport-heartbeat-period", "valueUnsignedInt": seconds}
    ]
    return body


def test_a_heartbeat_when_nothing_else_was_sent(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscribe(client, _with_heartbeat(subscription(receiver.url), 60))
    clock = Clock()
    delivering = worker(engine, clock)
    delivering.run_once()  # the handshake at 0 s
    clock.advance(59)
    delivering.run_once()
    assert receiver.kinds() == ["handshake"]
    clock.advance(1)
    delivering.run_once()  # 60 s of silence
    assert receiver.kinds() == ["handshake", "heartbeat"]
    clock.advance(30)
    raise_alerts(client, 1)
    delivering.run_once()  # an event at 90 s
    clock.advance(59)
    delivering.run_once()  # 59 s after the event: no heartbeat yet
    assert receiver.kinds() == ["handshake", "heartbeat", "event-notification"]
    clock.advance(1)
    delivering.run_once()
    delivering.close()
    assert receiver.kinds() == ["handshake", "heartbeat", "event-notification", "heartbeat"]
    beat = {p["name"]: p for p in receiver.bundles[-1]["entry"][0]["resource"]["parameter"]}
    assert beat["events-since-subscription-start"]["valueString"] == "1"


def test_nothing_is_delivered_after_the_end(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    clock = Clock()
    body = subscription(receiver.url)
    body["end"] = format_instant(clock() + 3600 * 1_000_000)
    subscription_id = subscribe(client, body)
    delivering = worker(engine, clock)
    before = raise_alerts(client, 2)
    assert delivering.run_once() == 2
    clock.advance(3600)
    delivering.run_once()  # its end: off, without any event to wake it
    raise_alerts(client, 2)
    clock.advance(1)
    assert delivering.run_once() == 0
    delivering.close()
    assert receiver.focuses() == before
    assert client.get(f"/fhir/Subscription/{subscription_id}").json()["status"] == "off"
    assert _status(client, subscription_id)["status"]["valueCode"] == "off"
