"""NEWS2 alerts: a `Communication` (category `alert`, status `preparation`) raised when a
patient's score crosses into a higher clinical risk at or above the alert threshold
(aggregate ≥ 5, or 3 in any single parameter; ≥ 7 urgent).

A crossing is judged against the patient's previous score by effective time: an alert is
raised when the new risk is at least low-medium and higher than the previous score's (or
there is none). Staying at a risk raises nothing; falling and rising again is a new
crossing. Written through the interactions like any resource, so its outbox event is what
the notifications service (issue 21) delivers to the care team (topic `news2-alert`); once a
subscriber has taken the notification, `mark_delivered` moves it to `completed`.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.instants import format_instant
from samhandling.interactions import crud
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.operations import OperationContext
from samhandling.services.measurements.news2 import RISK_ORDER, Risk
from samhandling.services.measurements.score_resource import NEWS2_CODE, SCT, risk_of
from samhandling.store.database import Connection
from samhandling.store.version_writer import VersionWriter

ALERT_FROM: Risk = "low-medium"
PRIORITY: dict[Risk, str] = {"low-medium": "urgent", "medium": "asap", "high": "stat"}
ALERT_SYSTEM = "https://samhandling.no/fhir/sid/news2-alert"


def previous_risk(context: OperationContext, patient_id: str, effective: str) -> Risk | None:
    """The risk of the patient's latest score effective before `effective` that the caller
    may see (None: there is none)."""
    query = [
        ("subject", f"Patient/{patient_id}"),
        ("code", f"{SCT}|{NEWS2_CODE}"),
        ("date", f"lt{effective}"),
        ("_sort", "-date"),
        ("_count", "1"),
    ]
    bundle = guarded_search(
        context.connection, "Observation", query, context.base_url, context.guard
    )
    for entry in bundle.get("entry", []):
        if (entry.get("search") or {}).get("mode", "match") == "match":
            return risk_of(entry["resource"])
    return None


def crosses(previous: Risk | None, risk: Risk) -> bool:
    """Whether moving from `previous` to `risk` is a crossing that raises an alert."""
    if RISK_ORDER[risk] < RISK_ORDER[ALERT_FROM]:
        return False
    return previous is None or RISK_ORDER[risk] > RISK_ORDER[previous]


def raise_alert(context: OperationContext, score: dict[str, Any], risk: Risk) -> dict[str, Any]:
    """Write the alert about the stored `score` (through `crud.create`)."""
    total = score["valueQuantity"]["value"]
    interpretation = score["interpretation"][0]["text"]
    alert = {
        "resourceType": "Communication",
        "identifier": [{"system": ALERT_SYSTEM, "value": score["id"]}],
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
        "priority": PRIORITY[risk],
        "subject": score["subject"],
        "topic": {"text": "NEWS2"},
        "about": [{"reference": f"Observation/{score['id']}"}],
        "payload": [{"contentString": f"NEWS2 {total}. {interpretation}"}],
    }
    return crud.create(context.writer, alert).version.resource()


def mark_delivered(
    connection: Connection, resource_type: str, resource_id: str, now_us: int
) -> None:
    """An alert `$news2` raised, delivered to a subscriber: `completed`, `sent` the time of
    delivery (a new version written by the platform). Idempotent: an alert not in
    `preparation` (already completed, or changed by a clinician) is left as it is, and so
    is a Communication of category alert that another writer raised."""
    if resource_type != "Communication":
        return
    writer = VersionWriter(connection)
    current = writer.current(resource_type, resource_id)
    if current is None or current.deleted:
        return
    body = current.resource()
    raised_here = any(i.get("system") == ALERT_SYSTEM for i in body.get("identifier", []))
    if body.get("status") != "preparation" or not raised_here:
        return
    body["status"] = "completed"
    body["sent"] = format_instant(now_us)
    crud.update(writer, resource_type, resource_id, body, if_match=current.version_id)
