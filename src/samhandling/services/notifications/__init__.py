"""Notifications: topic-based Subscriptions (R4 Backport shape) delivered from the
transactional outbox, at least once, in order, numbered, and only what the subscriber may
read (docs/NOTIFICATIONS.md).

The topics are the other services' (`Service.topics`); `subscriptions` checks and records a
Subscription (a write rule), `matching` numbers the outbox's events per subscription,
`delivery` posts them, `worker` runs both beside the requests, `operations` answers
`$topics`, `$status` and `$events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from samhandling.services.notifications import websocket
from samhandling.services.notifications.operations import operations
from samhandling.services.notifications.ownership import CitizenOwnsSubscription
from samhandling.services.notifications.subscriptions import SubscriptionRule
from samhandling.services.notifications.worker import DeliveryWorker
from samhandling.services.service import Platform, Service

__all__ = ["DeliveryWorker", "service"]


def service(others: Sequence[Service]) -> Service:
    """The notifications service for the topics of `others` (whose access rules delivery
    applies, with the platform's policy)."""
    topics = tuple(topic for s in others for topic in s.topics)

    def worker(engine: Any, settings: Any) -> DeliveryWorker:
        return DeliveryWorker(
            engine, topics, lambda: Platform.of(others).policy_rules(), settings.base_url
        )

    return Service(
        name="notifications",
        operations=(*operations(topics), websocket.OPERATION),
        write_rules=(SubscriptionRule(topics),),
        access_rules=(CitizenOwnsSubscription(),),
        workers=(worker,),
        citizen_writable=frozenset({"Subscription"}),
    )
