"""The audit record of a delivered notification: who was told of which resources, written in
the transaction that records the delivery (so there is no recorded delivery without its
record). The agent is the subscriber as recorded at subscription (`Principal.audit_agent`),
the entities the announced versions, the patients theirs: a citizen's access log shows which
system was told of their record, and when."""

from __future__ import annotations

from collections.abc import Sequence

from samhandling.audit.records import AuditRecord
from samhandling.store.notification_queries import NumberedEvent, SubscriptionState


def delivery_record(
    state: SubscriptionState, events: Sequence[NumberedEvent], channel: str, now_us: int
) -> AuditRecord:
    """The record of `events` delivered to `state`'s subscriber by `channel`."""
    first, last = events[0].event_number, events[-1].event_number
    numbers = f"event {first}" if first == last else f"events {first}-{last}"
    return AuditRecord(
        interaction="operation:notify",
        http_status=200,
        recorded_at_us=now_us,
        agent=dict(state.subscriber.get("audit") or {}),
        entities=[(e.resource_type, e.resource_id, str(e.version_id)) for e in events],
        patients={e.patient_id for e in events if e.patient_id},
        outcome_description=(
            f"{numbers} of Subscription/{state.subscription_id} delivered by {channel}"
        ),
        method="POST",
        path=f"/fhir/Subscription/{state.subscription_id}",
    )
