"""Events held back from a subscriber until the policy allows them (a timed re-check).

A citizen may not read a lab result until its release delay has passed. When the matcher
meets such an event, the policy is asked when it would allow the read (`access.visible_from`)
and the event is kept, unnumbered, for that subscription until then. At that time, in a
later matching round, it is judged again with the resource **as it is then**:

- a newer version exists (the result was corrected, blocked or released again): the old
  event goes; the newer version is an event of its own and was matched itself;
- the resource is deleted: it goes;
- the policy allows it now: it is numbered like any other event and sent;
- still refused: kept until the next time the policy would allow it, or let go when no
  time will (e.g. a clinician blocked it without writing a new version of the report).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from samhandling.auth.policy import ServiceRules
from samhandling.services.notifications.access import may_read, visible_from
from samhandling.store import notification_held_queries as held_queries
from samhandling.store.database import Connection
from samhandling.store.notification_held_queries import HeldBack
from samhandling.store.notification_queries import SubscriptionState
from samhandling.store.reader import read_current


def recheck_due(
    connection: Connection,
    subscriptions: Sequence[SubscriptionState],
    rules: ServiceRules,
    now_us: int,
) -> dict[str, list[dict[str, Any]]]:
    """Judge the held-back events that are due; the rows to number, by subscription."""
    by_id = {s.subscription_id: s for s in subscriptions}
    ready: dict[str, list[dict[str, Any]]] = {}
    for held in held_queries.held_back_due(connection, list(by_id), now_us):
        subscriber = by_id[held.subscription_id].subscriber
        content = _unchanged(connection, held)
        if content is None:
            held_queries.recheck_later(connection, held, None)
        elif may_read(subscriber, content, rules, now_us):
            held_queries.recheck_later(connection, held, None)
            ready.setdefault(held.subscription_id, []).append(_row(held, now_us))
        else:
            later = visible_from(subscriber, content, rules, now_us)
            held_queries.recheck_later(connection, held, later)
    return ready


def _unchanged(connection: Connection, held: HeldBack) -> dict[str, Any] | None:
    """The event's version if it is still the live current one, else None."""
    current = read_current(connection, held.resource_type, held.resource_id)
    if current is None or current.deleted or current.version_id != held.version_id:
        return None
    return current.resource()


def _row(held: HeldBack, now_us: int) -> dict[str, Any]:
    return {
        "outbox_event_id": held.outbox_event_id,
        "resource_type": held.resource_type,
        "resource_id": held.resource_id,
        "version_id": held.version_id,
        "created_at_us": now_us,
    }
