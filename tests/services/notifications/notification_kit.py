"""Subscriptions, resources that trigger topics, and a worker on a fixed clock."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN
from fixtures.fhir_app import BASE, FHIR_JSON
from samhandling.services import default_platform
from samhandling.services.notifications import DeliveryWorker
from samhandling.store.database import Engine

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
NEWS2_ALERT = "https://samhandling.no/fhir/SubscriptionTopic/news2-alert"
LAB_RESULT = "https://samhandling.no/fhir/SubscriptionTopic/lab-result"
OTHER_PATIENT = "persona-parent"
START_US = 1_800_000_000_000_000


class Clock:
    """A fixed clock the test moves."""

    def __init__(self, at_us: int = START_US) -> None:
        self.at_us = at_us

    def __call__(self) -> int:
        return self.at_us

    def advance(self, seconds: float) -> None:
        self.at_us += int(seconds * 1_000_000)


def subscription(
    endpoint: str,
    topic: str = NEWS2_ALERT,
    *,
    channel: str = "rest-hook",
    payload: str = "id-only",
    filters: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A Subscription in the R4 Backport shape."""
    body: dict[str, Any] = {
        "resourceType": "Subscription",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
        "status": "requested",
        "reason": "test",
        "criteria": topic,
        "channel": {
            "type": channel,
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {
                "extension": [{"url": f"{BACKPORT}/backport-payload-content", "valueCode": payload}]
            },
        },
    }
    if filters:
        body["_criteria"] = {
            "extension": [
                {"url": f"{BACKPORT}/backport-filter-criteria", "valueString": f} for f in filters
            ]
        }
    return body


def subscribe(
    client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> str:
    response = client.post(
        "/fhir/Subscription", json=body, headers={**FHIR_JSON, **(headers or {})}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def alert(patient_id: str = CITIZEN, text: str = "NEWS2 7") -> dict[str, Any]:
    """A NEWS2 alert Communication about `patient_id`."""
    return {
        "resourceType": "Communication",
        "status": "preparation",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/communication-category",
                        "code": "alert",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{patient_id}"},
        "payload": [{"contentString": text}],
    }


def raise_alerts(client: TestClient, count: int, patient_id: str = CITIZEN) -> list[str]:
    """Write `count` alerts; their ids in order."""
    ids = []
    for i in range(count):
        response = client.post(
            "/fhir/Communication", json=alert(patient_id, f"NEWS2 {i}"), headers=FHIR_JSON
        )
        assert response.status_code == 201, response.text
        ids.append(f"Communication/{response.json()['id']}")
    return ids


def worker(engine: Engine, clock: Clock) -> DeliveryWorker:
    """A delivery worker of the platform's topics and policy on `clock`."""
    platform = default_platform()
    return DeliveryWorker(engine, platform.topics, platform.policy_rules, BASE, clock=clock)
