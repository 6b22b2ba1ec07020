"""Named queries of the notifications service: how much is waiting, for its metrics
(services/notifications/delivery_metrics.py; aggregates over indexed columns, run when the
metrics are scraped), and whether the worker has anything to do (`outlook`, each round)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, exists, func, select

from samhandling.store.notification_queries import LIVE
from samhandling.store.notification_sender_queries import due
from samhandling.store.schema import outbox
from samhandling.store.service_tables import notification_event, notification_subscription

_SUB = notification_subscription.c


@dataclass(frozen=True)
class QueueDepth:
    """How much is waiting, for the metrics."""

    unmatched: int  # outbox events not yet matched
    undelivered: int  # numbered events not yet delivered, over the live subscriptions
    held_back: int  # events held back until the policy allows them
    by_status: dict[str, int]  # subscriptions per status
    failing: list[int]  # the consecutive failures of each failing subscription


def queue_depth(connection: Connection) -> QueueDepth:
    """The queue's depth now (four aggregate queries)."""
    unmatched = connection.execute(
        select(func.count()).select_from(outbox).where(outbox.c.delivered_at_us.is_(None))
    ).scalar_one()
    undelivered = connection.execute(
        select(func.coalesce(func.sum(_SUB.events_since_start - _SUB.delivered_through), 0)).where(
            _SUB.status.in_(LIVE)
        )
    ).scalar_one()
    held = connection.execute(
        select(func.count())
        .select_from(notification_event)
        .where(notification_event.c.event_number < 0)
    ).scalar_one()
    statuses = connection.execute(select(_SUB.status, func.count()).group_by(_SUB.status))
    failing = connection.execute(select(_SUB.failures).where(_SUB.failures > 0))
    return QueueDepth(
        int(unmatched),
        int(undelivered),
        int(held),
        {str(status): int(count) for status, count in statuses},
        [int(row[0]) for row in failing],
    )


@dataclass(frozen=True)
class Outlook:
    """What a delivery worker's round has to do."""

    live: bool  # a subscription is live (requested or active): else nothing at all
    unmatched: bool  # an outbox event waits to be matched
    due: bool  # a subscription is due for the sender (`notification_sender_queries.claim_due`)


def outlook(connection: Connection, now_us: int) -> Outlook:
    """The worker's outlook now, in one statement of three indexed `EXISTS`."""
    live = exists().where(_SUB.status.in_(LIVE))
    unmatched = exists().where(outbox.c.delivered_at_us.is_(None))
    row = connection.execute(select(live, unmatched, exists().where(*due(now_us)))).one()
    return Outlook(bool(row[0]), bool(row[1]), bool(row[2]))
