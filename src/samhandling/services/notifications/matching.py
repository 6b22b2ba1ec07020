"""Matching: outbox events to the active subscriptions, numbered per subscription.

One transaction per batch: lock the active subscriptions (their counters change; this also
makes matching one process at a time, so numbers follow the outbox order), claim the oldest
unmatched outbox events (`SKIP LOCKED`), number each event that a subscription's topic and
filters select and that its subscriber may read, and mark the events matched. Access is
judged here, at once after the write, with the platform's policy and the subscriber as
recorded: a subscriber is never told, even by id, of a resource it may not read. An event the
subscriber may not read is not numbered for it, so its numbers have no gaps; one it may read
later if nothing changes (a lab result within its release delay) is held back and judged
again then (`held_back`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from samhandling.auth.compartment import patient_ids_of
from samhandling.auth.policy import ServiceRules
from samhandling.services.notifications.access import may_read, visible_from
from samhandling.services.notifications.criteria import CLASSIC, classic_topic, matches
from samhandling.services.notifications.held_back import recheck_due
from samhandling.services.subscription_topic import Topic
from samhandling.store import notification_held_queries as held_queries
from samhandling.store import notification_queries as queries
from samhandling.store.database import Connection, Engine, read_connection, write_connection
from samhandling.store.notification_queries import OutboxEvent, SubscriptionState
from samhandling.store.reader import read_live_before, read_version

BATCH = 500


def match_batch(
    engine: Engine,
    topics: Sequence[Topic],
    rules: Callable[[], ServiceRules],
    now_us: int,
    limit: int = BATCH,
    recheck: bool = True,
) -> int:
    """Match one batch of outbox events, and with `recheck` judge the held-back events that
    are due; the number of outbox events taken (0: none waiting)."""
    with read_connection(engine) as connection:  # no write lock while there is nothing to do
        if not queries.any_active(connection):
            return 0
        if not recheck and not queries.any_unmatched(connection):
            return 0
    return match_claimed(engine, topics, rules, now_us, limit, recheck)


def match_claimed(
    engine: Engine,
    topics: Sequence[Topic],
    rules: Callable[[], ServiceRules],
    now_us: int,
    limit: int = BATCH,
    recheck: bool = True,
) -> int:
    """`match_batch` without first asking whether anything waits (the worker's `outlook`
    did): one write transaction."""
    with write_connection(engine) as connection:
        subscriptions = queries.active_subscriptions_locked(connection)
        events = queries.claim_outbox(connection, limit)
        by_url = {topic.url: topic for topic in topics}
        numbered = recheck_due(connection, subscriptions, rules(), now_us) if recheck else {}
        wanted = _wanted(subscriptions, by_url)
        for event in events:
            content = _content(connection, event) if _may_matter(event, wanted) else None
            if content is not None:
                _match(connection, event, content, subscriptions, by_url, rules(), now_us, numbered)
        for subscription in subscriptions:
            rows = numbered.get(subscription.subscription_id, [])
            first = subscription.events_since_start + 1
            queries.number_events(connection, subscription.subscription_id, first, rows)
        queries.mark_matched(connection, [e.event_id for e in events], now_us)
    return len(events)


def _match(
    connection: Connection,
    event: OutboxEvent,
    content: dict[str, Any],
    subscriptions: Sequence[SubscriptionState],
    by_url: dict[str, Topic],
    rules: ServiceRules,
    now_us: int,
    numbered: dict[str, list[dict[str, Any]]],
) -> None:
    """Add the event to the rows to number of each subscription it is for, or hold it back."""
    for subscription in subscriptions:
        topic = _topic(subscription, by_url)
        if topic is None or not _selects(subscription, topic, event, content):
            continue
        verdict = _judge(subscription.subscriber, content, rules, now_us)
        if verdict is True:
            numbered.setdefault(subscription.subscription_id, []).append(_row(event, now_us))
        elif verdict is not False:
            held_queries.hold_back(connection, subscription.subscription_id, event, verdict)


def _wanted(subscriptions: Sequence[SubscriptionState], by_url: dict[str, Topic]) -> dict[str, int]:
    """Per resource type a subscription's topic covers, the earliest start transaction."""
    wanted: dict[str, int] = {}
    for subscription in subscriptions:
        topic = _topic(subscription, by_url)
        for rtype in topic.resource_types if topic else ():
            wanted[rtype] = min(wanted.get(rtype, subscription.start_tx), subscription.start_tx)
    return wanted


def _topic(subscription: SubscriptionState, by_url: dict[str, Topic]) -> Topic | None:
    """The subscription's topic (a classic criteria subscription's stands for its type)."""
    return by_url.get(subscription.topic) or classic_topic(subscription.topic)


def _may_matter(event: OutboxEvent, wanted: dict[str, int]) -> bool:
    """Whether any subscription may want the event (else its content is not read)."""
    start = wanted.get(event.resource_type)
    return start is not None and event.tx_id > start


def _row(event: OutboxEvent, now_us: int) -> dict[str, Any]:
    return {
        "outbox_event_id": event.event_id,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "version_id": event.version_id,
        "created_at_us": now_us,
    }


def _content(connection: Connection, event: OutboxEvent) -> dict[str, Any] | None:
    """The written content (for a delete: the content it deleted)."""
    version = read_version(connection, event.resource_type, event.resource_id, event.version_id)
    if version is not None and version.deleted:
        version = read_live_before(
            connection, event.resource_type, event.resource_id, event.version_id
        )
    if version is None or version.deleted:
        return None
    return version.resource()


def _selects(
    subscription: SubscriptionState, topic: Topic, event: OutboxEvent, content: dict[str, Any]
) -> bool:
    """Whether the subscription's topic and filters select the event (access aside)."""
    if event.tx_id <= subscription.start_tx:
        return False
    if not topic.triggered_by(event.resource_type, event.event, content):
        return False
    if subscription.topic.startswith(CLASSIC):
        return matches(subscription.filters, content)
    return _filters_match(subscription.filters, content)


def _judge(
    subscriber: dict[str, Any], content: dict[str, Any], rules: ServiceRules, now_us: int
) -> bool | int:
    """True: tell now; an int: hold back until then (`held_back`); False: never."""
    if may_read(subscriber, content, rules, now_us):
        return True
    return visible_from(subscriber, content, rules, now_us) or False


def _filters_match(filters: Sequence[tuple[str, str]], content: dict[str, Any]) -> bool:
    patients = patient_ids_of(content) or frozenset()
    return all(value in patients for name, value in filters if name == "patient")
