"""Named queries of the notifications service: events held back from a subscriber until the
policy allows them (services/notifications/held_back.py).

Held-back events (an event a subscriber may not read yet, e.g. a lab result within its
release delay for a citizen) wait in `notification_event` too, without a number: under the
negative of their outbox event id (numbered events count from 1, so the two never meet and
no event is held twice for one subscription), with the time of their re-check in
`created_at_us`. Every query of numbered events asks for numbers from 1 up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from samhandling.store.notification_queries import OutboxEvent
from samhandling.store.service_tables import notification_event


@dataclass(frozen=True)
class HeldBack:
    """An event held back from one subscription until `recheck_at_us`."""

    subscription_id: str
    outbox_event_id: int
    resource_type: str
    resource_id: str
    version_id: int
    recheck_at_us: int


def hold_back(
    connection: Connection, subscription_id: str, event: OutboxEvent, recheck_at_us: int
) -> None:
    """Keep an event for a subscription, unnumbered, until `recheck_at_us`."""
    connection.execute(
        insert(notification_event).values(
            subscription_id=subscription_id,
            event_number=-event.event_id,
            outbox_event_id=event.event_id,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            version_id=event.version_id,
            created_at_us=recheck_at_us,
        )
    )


def held_back_due(
    connection: Connection, subscription_ids: Sequence[str], now_us: int
) -> list[HeldBack]:
    """The held-back events of these subscriptions due for a re-check, oldest first."""
    if not subscription_ids:
        return []
    e = notification_event.c
    stmt = (
        select(
            e.subscription_id,
            e.outbox_event_id,
            e.resource_type,
            e.resource_id,
            e.version_id,
            e.created_at_us.label("recheck_at_us"),
        )
        .where(
            e.subscription_id.in_(subscription_ids),
            e.event_number < 0,
            e.created_at_us <= now_us,
        )
        .order_by(e.outbox_event_id)
    )
    return [HeldBack(**row) for row in connection.execute(stmt).mappings()]


def recheck_later(connection: Connection, held: HeldBack, recheck_at_us: int | None) -> None:
    """Move a held-back event's re-check to `recheck_at_us`, or let it go (None)."""
    e = notification_event.c
    where = (e.subscription_id == held.subscription_id, e.event_number == -held.outbox_event_id)
    if recheck_at_us is None:
        connection.execute(delete(notification_event).where(*where))
    else:
        connection.execute(
            update(notification_event).where(*where).values(created_at_us=recheck_at_us)
        )
