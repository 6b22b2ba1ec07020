"""Subscriptions are checked when written: refused with the reason when they cannot be
honoured, active at once when they can; topics, $status."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON, mint
from services.notifications.notification_kit import NEWS2_ALERT, subscribe, subscription

HOOK = "http://127.0.0.1:9/hook"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (subscription(HOOK, "https://example.org/SubscriptionTopic/x"), "unknown topic"),
        (subscription(HOOK, channel="email"), "only rest-hook and websocket"),
        (subscription(HOOK, channel="message"), "only rest-hook and websocket"),
        (subscription("http://example.org/hook"), "https"),
        (subscription("ftp://127.0.0.1/hook"), "absolute http(s) URL"),
        (subscription(HOOK, payload="full-resource"), "empty or id-only"),
        (subscription(HOOK, filters=("Communication?code=x",)), "not offered by the topic"),
        (subscription(HOOK, filters=("Observation?patient=Patient/a",)), "no resource type"),
    ],
)
def test_a_subscription_the_server_cannot_honour_is_refused(
    client: TestClient, body: dict[str, object], reason: str
) -> None:
    response = client.post("/fhir/Subscription", json=body, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    assert reason in response.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/Subscription").json().get("total", 0) == 0


def test_a_clinician_may_not_subscribe(client: TestClient, tmp_path: Path) -> None:
    gp = {"Authorization": f"Bearer {mint(tmp_path, 'gp')}"}
    response = client.post(
        "/fhir/Subscription", json=subscription(HOOK), headers={**FHIR_JSON, **gp}
    )
    assert response.status_code in (403, 422), response.text


def test_an_accepted_subscription_is_requested_until_its_handshake(client: TestClient) -> None:
    body = subscription("https://receiver.example/hook", filters=("patient=Patient/p1",))
    subscription_id = subscribe(client, body)
    stored = client.get(f"/fhir/Subscription/{subscription_id}").json()
    assert stored["status"] == "requested"
    status = client.get(f"/fhir/Subscription/{subscription_id}/$status")
    assert status.status_code == 200, status.text
    parameters = {p["name"]: p for p in status.json()["parameter"]}
    assert parameters["status"]["valueCode"] == "requested"
    assert parameters["topic"]["valueCanonical"] == NEWS2_ALERT
    assert parameters["type"]["valueCode"] == "query-status"
    assert parameters["events-since-subscription-start"]["valueString"] == "0"


def test_switched_off_by_its_owner(client: TestClient) -> None:
    subscription_id = subscribe(client, subscription("https://receiver.example/hook"))
    body = {**subscription("https://receiver.example/hook"), "id": subscription_id}
    body["status"] = "off"
    response = client.put(f"/fhir/Subscription/{subscription_id}", json=body, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    status = client.get(f"/fhir/Subscription/{subscription_id}/$status").json()
    assert {p["name"]: p for p in status["parameter"]}["status"]["valueCode"] == "off"


def test_the_topics_are_published_in_the_backport_shape(client: TestClient) -> None:
    response = client.get("/fhir/Subscription/$topics")
    assert response.status_code == 200, response.text
    urls = {entry["fullUrl"] for entry in response.json()["entry"]}
    codes = {url.rsplit("/", 1)[1] for url in urls}
    assert codes == {
        "critical-information",
        "medication-list",
        "lab-result",
        "news2-alert",
        "identity-merge",
        "document",
    }
    topic = response.json()["entry"][0]["resource"]
    assert topic["resourceType"] == "Basic"
    assert topic["code"]["coding"][0]["code"] == "SubscriptionTopic"
