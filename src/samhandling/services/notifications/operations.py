"""`Subscription/$topics`, `Subscription/{id}/$status` and `Subscription/{id}/$events`.

`$topics` lists the platform's topics as R4 Backport `SubscriptionTopic`s (a `Basic` with the
cross-version extensions, each at its canonical). `$status` answers the subscription's
status, events so far and last error; `$events` the events numbered `eventsSinceNumber` to
`eventsUntilNumber` (at most 100) as a `history` Bundle, for a receiver that missed some.
Both read the Subscription first with the caller's guard, so only who may read it may ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from samhandling.definitions.operation_definitions import Param
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.read import read
from samhandling.services.notifications.bundles import notification, status_parameters
from samhandling.services.subscription_topic import Topic
from samhandling.store import notification_queries as queries
from samhandling.store.notification_queries import SubscriptionState

XVER = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic"
MOST_EVENTS = 100


def topic_resource(topic: Topic) -> dict[str, Any]:
    """A topic as the R4 Backport publishes one: a `Basic` with the R5 elements."""
    triggers = [
        {
            "url": f"{XVER}.resourceTrigger",
            "extension": [
                {"url": "description", "valueMarkdown": topic.description},
                {"url": "resource", "valueUri": f"http://hl7.org/fhir/StructureDefinition/{t}"},
                *({"url": "supportedInteraction", "valueCode": i} for i in topic.interactions),
            ],
        }
        for t in topic.resource_types
    ]
    filters = [
        {"url": f"{XVER}.canFilterBy", "extension": [{"url": "filterParameter", "valueString": f}]}
        for f in topic.filters
    ]
    return {
        "resourceType": "Basic",
        "id": topic.code,
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/fhir-types", "code": "SubscriptionTopic"}]
        },
        "extension": [
            {"url": f"{XVER}.url", "valueUri": topic.url},
            {"url": f"{XVER}.title", "valueString": topic.title},
            {"url": f"{XVER}.status", "valueCode": "active"},
            {"url": f"{XVER}.description", "valueMarkdown": topic.description},
            *triggers,
            *filters,
        ],
    }


def subscription_state(context: OperationContext) -> SubscriptionState:
    """The delivery state of the subscription asked about, read first with the caller's
    guard (404/403 as for a read)."""
    subscription_id = str(context.resource_id)
    read(context.connection, "Subscription", subscription_id, context.guard)
    state = queries.subscription_state(context.connection, subscription_id)
    if state is None:
        raise FhirError(
            404, [error("not-found", "the Subscription is not a topic-based subscription")]
        )
    return state


def status(context: OperationContext) -> OperationResult:
    """`$status`: the subscription's status Parameters."""
    state = subscription_state(context)
    return OperationResult(status_parameters(state, context.base_url, "query-status"))


def events(context: OperationContext) -> OperationResult:
    """`$events`: the numbered events asked for, as a history Bundle."""
    state = subscription_state(context)
    high = state.events_since_start
    since = context.integer("eventsSinceNumber", 1, 2**62) or 1
    until = context.integer("eventsUntilNumber", 1, 2**62) or high
    until = min(until, high, since + MOST_EVENTS - 1)
    found = queries.events_between(context.connection, state.subscription_id, since, until)
    return OperationResult(notification(state, context.base_url, found, "query-event"))


def operations(topics: Sequence[Topic]) -> tuple[Operation, ...]:
    """The operations, `$topics` listing `topics`."""

    def listed(_context: OperationContext) -> OperationResult:
        entries = [{"fullUrl": t.url, "resource": topic_resource(t)} for t in topics]
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
        return OperationResult(bundle)

    return (
        Operation(
            "topics",
            "type",
            "Subscription",
            listed,
            permission="",
            methods=("GET", "POST"),
            description="The notification topics this server offers (R4 Backport shape).",
            parameters=(("return", "out", 1, "1", "Bundle"),),
        ),
        Operation(
            "status",
            "instance",
            "Subscription",
            status,
            permission="r",
            methods=("GET", "POST"),
            description="The subscription's status, events so far and last error.",
            parameters=(("return", "out", 1, "1", "Parameters"),),
        ),
        Operation(
            "events",
            "instance",
            "Subscription",
            events,
            permission="r",
            methods=("GET", "POST"),
            description="Events of the subscription by number, for a receiver that missed some.",
            parameters=_EVENTS,
        ),
    )


_EVENTS: tuple[Param, ...] = (
    ("eventsSinceNumber", "in", 0, "1", "string"),
    ("eventsUntilNumber", "in", 0, "1", "string"),
    ("return", "out", 1, "1", "Bundle"),
)
