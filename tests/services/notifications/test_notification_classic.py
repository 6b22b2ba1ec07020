"""Classic R4 criteria subscriptions: the supported subset is honoured with search
semantics (type, patient, token parameters) and notified by an empty POST; anything else is
refused with the reason naming what is supported."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN
from fixtures.fhir_app import FHIR_JSON
from fixtures.lab_results import CRP, HGB, observation
from samhandling.store.database import Engine
from services.notifications.notification_kit import (
    OTHER_PATIENT,
    Clock,
    subscribe,
    worker,
)
from services.notifications.receiver import Receiver, events_of

HOOK = "http://127.0.0.1:9/hook"


def classic(endpoint: str, criteria: str, **channel: Any) -> dict[str, Any]:
    """A classic R4 Subscription (no topic, no payload: empty notifications)."""
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "test",
        "criteria": criteria,
        "channel": {"type": "rest-hook", "endpoint": endpoint, **channel},
    }


def _observe(client: TestClient, patient: str, analysis: tuple[str, str, str]) -> str:
    body = observation(patient, datetime.now(UTC).replace(microsecond=0), analysis=analysis)
    response = client.post("/fhir/Observation", json=body, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return f"Observation/{response.json()['id']}"


def test_classic_criteria_are_matched_with_search_semantics(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    criteria = f"Observation?patient={CITIZEN}&code=http://loinc.org|{HGB[0]}&status=final,amended"
    subscription_id = subscribe(client, classic(receiver.url, criteria))
    assert client.get(f"/fhir/Subscription/{subscription_id}").json()["status"] == "active"
    wanted = _observe(client, CITIZEN, HGB)
    _observe(client, CITIZEN, CRP)  # another code
    _observe(client, OTHER_PATIENT, HGB)  # another patient
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 1
    delivering.close()
    assert receiver.pings == 1  # an empty POST
    assert receiver.bundles == []
    found = client.get(f"/fhir/Subscription/{subscription_id}/$events").json()
    assert events_of(found) == [(1, wanted)]


def test_a_bare_code_matches_any_system(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscribe(client, classic(receiver.url, f"Observation?code={CRP[0]}"))
    _observe(client, CITIZEN, HGB)
    _observe(client, OTHER_PATIENT, CRP)
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 1
    delivering.close()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (classic(HOOK, "Observation?value-quantity=gt5"), "'value-quantity' is not supported"),
        (classic(HOOK, "Observation?code:text=blod"), "'code:text' is not supported"),
        (classic(HOOK, "Observation?subject.name=x"), "is not supported"),
        (classic(HOOK, "Nothing?code=x"), "unknown resource type"),
        (classic(HOOK, "Observation?code="), "has no value"),
        (classic(HOOK, "Observation", payload="application/fhir+json"), "omit channel.payload"),
        ({**classic(HOOK, "Observation"), "channel": {"type": "websocket"}}, "rest-hook only"),
        (classic("http://example.org/hook", "Observation"), "https"),
    ],
)
def test_classic_criteria_outside_the_subset_are_refused(
    client: TestClient, body: dict[str, Any], reason: str
) -> None:
    response = client.post("/fhir/Subscription", json=body, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert reason in diagnostics
    if "criteria" in response.json()["issue"][0].get("expression", [""])[0]:
        assert "token parameters" in diagnostics  # names what is supported
    assert client.get("/fhir/Subscription").json().get("total", 0) == 0
