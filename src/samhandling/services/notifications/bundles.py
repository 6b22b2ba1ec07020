"""Notification and status resources in the R4 Backport shape.

A notification is a `history` Bundle whose first entry is the subscription status (a
`Parameters` of the backport's `backport-subscription-status-r4` profile: the subscription,
its topic, status, the notification type, `events-since-subscription-start` and one
`notification-event` per event with its number, time and focus) followed, for `id-only`
payloads, by one entry per focus naming the resource and nothing of its content.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from samhandling.fhir.instants import format_instant
from samhandling.store.notification_queries import NumberedEvent, SubscriptionState

STATUS_PROFILE = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-status-r4"
)


def status_parameters(
    state: SubscriptionState,
    base_url: str,
    kind: str,
    events: Sequence[NumberedEvent] = (),
) -> dict[str, Any]:
    """The SubscriptionStatus of `state` (`kind`: event-notification, query-status, …)."""
    parameters: list[dict[str, Any]] = [
        {
            "name": "subscription",
            "valueReference": {"reference": f"{base_url}/Subscription/{state.subscription_id}"},
        },
        {"name": "topic", "valueCanonical": state.topic},
        {"name": "status", "valueCode": state.status},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(state.events_since_start)},
    ]
    if state.error:
        parameters.append({"name": "error", "valueCodeableConcept": {"text": state.error}})
    parameters.extend(_event(e, state.payload) for e in events)
    return {
        "resourceType": "Parameters",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": parameters,
    }


def _event(event: NumberedEvent, payload: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"name": "event-number", "valueString": str(event.event_number)},
        {"name": "timestamp", "valueInstant": format_instant(event.created_at_us)},
    ]
    if payload != "empty":
        focus = f"{event.resource_type}/{event.resource_id}"
        parts.append({"name": "focus", "valueReference": {"reference": focus}})
    return {"name": "notification-event", "part": parts}


def notification(
    state: SubscriptionState, base_url: str, events: Sequence[NumberedEvent], kind: str
) -> dict[str, Any]:
    """The Bundle that delivers (or, for `$events`, answers with) `events`."""
    status = status_parameters(state, base_url, kind, events)
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{status['id']}",
            "resource": status,
            "request": {"method": "GET", "url": f"Subscription/{state.subscription_id}/$status"},
            "response": {"status": "200"},
        }
    ]
    if state.payload != "empty":
        for event in events:
            url = f"{event.resource_type}/{event.resource_id}"
            entries.append(
                {
                    "fullUrl": f"{base_url}/{url}",
                    "request": {"method": "PUT" if event.version_id > 1 else "POST", "url": url},
                    "response": {"status": "200" if event.version_id > 1 else "201"},
                }
            )
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "history"}
    if events:
        bundle["timestamp"] = format_instant(events[-1].created_at_us)
    bundle["entry"] = entries
    return bundle
