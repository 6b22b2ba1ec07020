"""Named queries of the notifications service's rest-hook sender
(services/notifications/delivery.py): the subscriptions due, leased to one sender while it
posts (claimed `FOR UPDATE SKIP LOCKED` on PostgreSQL, see `notification_queries`), and
what it records when done: delivered, failed, or its leases handed back."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, select, update

from samhandling.store.notification_queries import LIVE, WEBSOCKET, locked
from samhandling.store.service_tables import notification_subscription

_SUB = notification_subscription.c


def due(now_us: int) -> tuple[ColumnElement[bool], ...]:
    """The conditions of a subscription the sender has to look at (`claim_due`)."""
    woken = _SUB.next_attempt_us <= now_us
    pending = (_SUB.delivered_through < _SUB.events_since_start) & (_SUB.failures == 0)
    requested = _SUB.status == "requested"
    return (
        _SUB.status.in_(LIVE),
        ~_SUB.endpoint.startswith(WEBSOCKET),
        requested | pending | woken,
        (_SUB.lease_until_us.is_(None)) | (_SUB.lease_until_us < now_us),
    )


def claim_due(connection: Connection, holder: str, now_us: int, lease_us: int) -> list[str]:
    """Lease to `holder` the subscriptions due: a requested one (its handshake), an active
    one with undelivered events (unless backing off after a failure), or one whose wake-up
    time has come (a retry, a heartbeat, its end)."""
    stmt = select(_SUB.subscription_id).where(*due(now_us)).order_by(_SUB.subscription_id).limit(20)
    ids = [row[0] for row in connection.execute(locked(stmt, connection, skip=True))]
    if ids:
        connection.execute(
            update(notification_subscription)
            .where(_SUB.subscription_id.in_(ids))
            .values(lease_holder=holder, lease_until_us=now_us + lease_us)
        )
    return ids


def record_delivery(
    connection: Connection,
    subscription_id: str,
    holder: str,
    through: int,
    wake_at_us: int | None = None,
) -> None:
    """Events up to `through` were delivered: move the mark, clear failures and the lease;
    the next look without events at `wake_at_us` (a heartbeat, the end)."""
    connection.execute(
        update(notification_subscription)
        .where(_SUB.subscription_id == subscription_id, _SUB.lease_holder == holder)
        .values(
            delivered_through=through,
            failures=0,
            failing_since_us=None,
            next_attempt_us=wake_at_us,
            error=None,
            lease_holder=None,
            lease_until_us=None,
        )
    )


def record_failure(
    connection: Connection,
    subscription_id: str,
    holder: str,
    *,
    error: str,
    failing_since_us: int,
    next_attempt_us: int,
    gives_up: bool,
) -> None:
    """A delivery failed: count it, set the next attempt (or `error`), clear the lease."""
    connection.execute(
        update(notification_subscription)
        .where(_SUB.subscription_id == subscription_id, _SUB.lease_holder == holder)
        .values(
            failures=_SUB.failures + 1,
            failing_since_us=failing_since_us,
            next_attempt_us=next_attempt_us,
            error=error,
            status="error" if gives_up else _SUB.status,
            lease_holder=None,
            lease_until_us=None,
        )
    )


def release_leases(connection: Connection, holder: str) -> None:
    """Hand back every lease `holder` still holds (a worker stopping)."""
    connection.execute(
        update(notification_subscription)
        .where(_SUB.lease_holder == holder)
        .values(lease_holder=None, lease_until_us=None)
    )
