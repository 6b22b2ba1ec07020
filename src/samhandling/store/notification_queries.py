"""Named queries of the notifications service (services/notifications): the delivery state of
each Subscription, the outbox events waiting to be matched, and the events numbered per
subscription, numbered from 1 (events held back, stored under negative numbers:
`notification_held_queries`; the queue's depth: `notification_queue_queries`; the sender's
leases and what it records: `notification_sender_queries`). SQLAlchemy Core, the same on
SQLite and PostgreSQL.

Claims: the outbox rows a matcher takes and the subscriptions a sender takes are selected
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several processes share the work without taking
the same row; a sender then holds a lease on the subscription (holder and expiry written in
the row) while it posts, so no other process sends that subscription's events meanwhile.
SQLite ignores the row locks: its write transactions are serialised, and the lease does
the rest.

"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select, event, insert, select, update

from samhandling.store.database import is_sqlite
from samhandling.store.schema import outbox
from samhandling.store.service_tables import notification_event, notification_subscription

_SUB = notification_subscription.c
#: the endpoint recorded for a websocket subscription: its notifications go to the sockets
#: bound to it (services/notifications/websocket), not to the rest-hook sender
WEBSOCKET = "websocket:"


@dataclass(frozen=True)
class SubscriptionState:
    """One subscription as delivery sees it."""

    subscription_id: str
    topic: str
    filters: tuple[tuple[str, str], ...]
    endpoint: str
    headers: tuple[str, ...]
    payload: str
    subscriber: dict[str, Any]
    status: str
    start_tx: int
    events_since_start: int
    delivered_through: int
    failures: int
    failing_since_us: int | None
    next_attempt_us: int | None
    error: str | None


@dataclass(frozen=True)
class OutboxEvent:
    """One written version announced by the outbox."""

    event_id: int
    tx_id: int
    resource_type: str
    resource_id: str
    version_id: int
    event: str


@dataclass(frozen=True)
class NumberedEvent:
    """An event as numbered for one subscription."""

    event_number: int
    resource_type: str
    resource_id: str
    version_id: int
    created_at_us: int
    #: when the write was committed (its outbox row), and the patient it concerns
    written_at_us: int | None = None
    patient_id: str | None = None


def locked(stmt: Select[Any], connection: Connection, *, skip: bool) -> Select[Any]:
    """`stmt` with the rows it selects locked until the transaction ends (`skip`: rows
    another transaction holds are passed over); as it is on SQLite, which serialises its
    write transactions."""
    if is_sqlite(connection):
        return stmt
    return stmt.with_for_update(skip_locked=skip)


def _state(row: Any) -> SubscriptionState:
    return SubscriptionState(
        subscription_id=row["subscription_id"],
        topic=row["topic"],
        filters=tuple((str(n), str(v)) for n, v in json.loads(row["filters"])),
        endpoint=row["endpoint"],
        headers=tuple(json.loads(row["headers"])),
        payload=row["payload"],
        subscriber=json.loads(row["subscriber"]),
        status=row["status"],
        start_tx=row["start_tx"],
        events_since_start=row["events_since_start"],
        delivered_through=row["delivered_through"],
        failures=row["failures"],
        failing_since_us=row["failing_since_us"],
        next_attempt_us=row["next_attempt_us"],
        error=row["error"],
    )


#: set on a connection whose transaction saved a subscription, for `on_write_commit`
_SAVED = "samhandling.notifications.subscription_saved"


def save_subscription(
    connection: Connection,
    subscription_id: str,
    *,
    topic: str,
    filters: Sequence[tuple[str, str]],
    endpoint: str,
    headers: Sequence[str],
    payload: str,
    subscriber: dict[str, Any],
    start_tx: int,
    status: str = "active",
    wake_at_us: int | None = None,
) -> None:
    """Record a new subscription, or a changed one (which becomes `status` again — requested
    until its handshake, or active — keeping its numbering and undelivered events: an owner
    resumes a subscription in `error` this way); the sender looks at it by `wake_at_us`."""
    connection.info[_SAVED] = True  # its commit tells the worker (`on_write_commit`)
    values = {
        "topic": topic,
        "filters": json.dumps([list(f) for f in filters]),
        "endpoint": endpoint,
        "headers": json.dumps(list(headers)),
        "payload": payload,
        "subscriber": json.dumps(subscriber, sort_keys=True),
        "status": status,
        "failures": 0,
        "failing_since_us": None,
        "next_attempt_us": wake_at_us,
        "error": None,
    }
    _update_or_insert(connection, subscription_id, start_tx, values)


def _update_or_insert(
    connection: Connection, subscription_id: str, start_tx: int, values: dict[str, Any]
) -> None:
    """Write a subscription's row: changed in place when it exists (numbering and delivery
    kept), else inserted with no events yet (those of transactions after `start_tx` count)."""
    found = connection.execute(
        update(notification_subscription)
        .where(_SUB.subscription_id == subscription_id)
        .values(**values)
    )
    if found.rowcount == 0:
        connection.execute(
            insert(notification_subscription).values(
                subscription_id=subscription_id,
                start_tx=start_tx,
                events_since_start=0,
                delivered_through=0,
                **values,
            )
        )


def switch_off(connection: Connection, subscription_id: str) -> None:
    """Stop delivering to a subscription (deleted, or set `off` by its owner)."""
    set_status(connection, subscription_id, "off")


def set_status(
    connection: Connection, subscription_id: str, status: str, error: str | None = None
) -> None:
    """Set a subscription's status (and its last error, when given)."""
    values: dict[str, Any] = {"status": status}
    if error is not None:
        values["error"] = error
    connection.execute(
        update(notification_subscription)
        .where(_SUB.subscription_id == subscription_id)
        .values(**values)
    )


def subscription_state(connection: Connection, subscription_id: str) -> SubscriptionState | None:
    """The delivery state of one subscription, or None when it has none."""
    row = (
        connection.execute(
            select(notification_subscription).where(_SUB.subscription_id == subscription_id)
        )
        .mappings()
        .first()
    )
    return _state(row) if row is not None else None


#: the subscriptions events are numbered for: active, and requested (awaiting the handshake)
LIVE = ("requested", "active")


def any_active(connection: Connection) -> bool:
    """Whether any subscription is live (else the matcher has nothing to do)."""
    stmt = select(_SUB.subscription_id).where(_SUB.status.in_(LIVE)).limit(1)
    return connection.execute(stmt).first() is not None


def any_unmatched(connection: Connection) -> bool:
    """Whether an outbox event waits to be matched (the index on `delivered_at_us`)."""
    stmt = select(outbox.c.event_id).where(outbox.c.delivered_at_us.is_(None)).limit(1)
    return connection.execute(stmt).first() is not None


def active_subscriptions_locked(connection: Connection) -> list[SubscriptionState]:
    """The live subscriptions, locked until the transaction ends (their counters change)."""
    stmt = (
        select(notification_subscription)
        .where(_SUB.status.in_(LIVE))
        .order_by(_SUB.subscription_id)
    )
    rows = connection.execute(locked(stmt, connection, skip=False)).mappings()
    return [_state(row) for row in rows]


def claim_outbox(connection: Connection, limit: int) -> list[OutboxEvent]:
    """The oldest outbox events not yet matched, claimed until the transaction ends."""
    o = outbox.c
    stmt = (
        select(o.event_id, o.tx_id, o.resource_type, o.resource_id, o.version_id, o.event)
        .where(o.delivered_at_us.is_(None))
        .order_by(o.event_id)
        .limit(limit)
    )
    rows = connection.execute(locked(stmt, connection, skip=True)).mappings()
    return [OutboxEvent(**row) for row in rows]


def mark_matched(connection: Connection, event_ids: Sequence[int], at_us: int) -> None:
    """Mark outbox events as matched to the subscriptions (`delivered_at_us`)."""
    if event_ids:
        connection.execute(
            update(outbox).where(outbox.c.event_id.in_(event_ids)).values(delivered_at_us=at_us)
        )


def number_events(
    connection: Connection, subscription_id: str, first: int, rows: Sequence[dict[str, Any]]
) -> None:
    """Store events numbered `first`, `first + 1`, … for a subscription and move its count."""
    if not rows:
        return
    numbered = [
        {"subscription_id": subscription_id, "event_number": first + i, **row}
        for i, row in enumerate(rows)
    ]
    connection.execute(insert(notification_event), numbered)
    connection.execute(
        update(notification_subscription)
        .where(_SUB.subscription_id == subscription_id)
        .values(events_since_start=first + len(rows) - 1)
    )


def _numbered() -> Select[Any]:
    e = notification_event.c
    return select(
        e.event_number,
        e.resource_type,
        e.resource_id,
        e.version_id,
        e.created_at_us,
        outbox.c.created_at_us.label("written_at_us"),
        outbox.c.patient_id,
    ).select_from(notification_event.outerjoin(outbox, outbox.c.event_id == e.outbox_event_id))


def pending_events(
    connection: Connection, subscription_id: str, after: int, limit: int
) -> list[NumberedEvent]:
    """A subscription's events numbered after `after`, in order."""
    e = notification_event.c
    stmt = (
        _numbered()
        .where(e.subscription_id == subscription_id, e.event_number > after)
        .order_by(e.event_number)
        .limit(limit)
    )
    return [NumberedEvent(**row) for row in connection.execute(stmt).mappings()]


def events_between(
    connection: Connection, subscription_id: str, low: int, high: int
) -> list[NumberedEvent]:
    """A subscription's events numbered `low` to `high` (inclusive), in order."""
    e = notification_event.c
    stmt = (
        _numbered()
        .where(e.subscription_id == subscription_id, e.event_number >= low, e.event_number <= high)
        .order_by(e.event_number)
    )
    return [NumberedEvent(**row) for row in connection.execute(stmt).mappings()]


def grant_binding(
    connection: Connection, subscription_id: str, digest: str, expires_us: int
) -> None:
    """Let a websocket bind to the subscription with the token of `digest` until
    `expires_us` (one token at a time: a new one replaces the last). Kept in the endpoint
    column, which a websocket subscription has no other use for."""
    connection.execute(
        update(notification_subscription)
        .where(_SUB.subscription_id == subscription_id, _SUB.endpoint.startswith(WEBSOCKET))
        .values(endpoint=f"{WEBSOCKET}{expires_us}:{digest}")
    )


def binding_of(connection: Connection, subscription_id: str) -> tuple[str, int] | None:
    """The digest and expiry of a websocket subscription's binding token, or None."""
    state = subscription_state(connection, subscription_id)
    if state is None or not state.endpoint.startswith(WEBSOCKET):
        return None
    expires, _, digest = state.endpoint.removeprefix(WEBSOCKET).partition(":")
    return (digest, int(expires)) if digest else None


def record_socket_delivery(connection: Connection, subscription_id: str, through: int) -> None:
    """A websocket sent the events up to `through` (the mark only moves forward)."""
    connection.execute(
        update(notification_subscription)
        .where(_SUB.subscription_id == subscription_id, _SUB.delivered_through < through)
        .values(delivered_through=through)
    )


def on_write_commit(engine: Engine, wake: Callable[[bool], None]) -> Callable[[], None]:
    """Call `wake` whenever a write transaction (`write_connection`) of `engine` commits in
    this process (with True when it saved a subscription), so the delivery worker need not
    wait for its next round; the function returned stops it. Other processes' writes wait
    for their own workers' rounds."""

    def committed(connection: Connection) -> None:
        if connection.get_execution_options().get("write"):
            wake(bool(connection.info.pop(_SAVED, False)))

    event.listen(engine, "commit", committed)
    return lambda: event.remove(engine, "commit", committed)
