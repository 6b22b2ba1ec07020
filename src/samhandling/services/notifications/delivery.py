"""Sending: each subscription's numbered events, in order, to its rest-hook endpoint.

A sender leases the subscriptions that have undelivered events and are due (lease and
`SKIP LOCKED` in `store/notification_queries`, so no two processes send one subscription's
events at once), posts one notification Bundle of the oldest undelivered events, and records
the result: delivered (the mark moves, failures clear) or failed (the next attempt after an
exponential back-off, 1 s doubling up to an hour; after 24 hours of failures the
subscription turns `error` with the reason). Delivery is at least once: a process killed
between a receiver's answer and the record sends those events again, with the same numbers,
so the receiver de-duplicates. Times come from the caller (`now_us`): tests use fixed clocks.
"""

from __future__ import annotations

import dataclasses
import logging

import httpx

from samhandling.fhir import json_codec
from samhandling.fhir.instants import format_instant
from samhandling.interactions import crud
from samhandling.services.notifications.bundles import notification
from samhandling.store import notification_queries as queries
from samhandling.store.database import Connection, Engine, read_connection, write_connection
from samhandling.store.notification_queries import NumberedEvent, SubscriptionState
from samhandling.store.version_writer import VersionWriter

log = logging.getLogger("samhandling.notifications")

SECOND_US = 1_000_000
FIRST_RETRY_US = SECOND_US
LONGEST_RETRY_US = 3600 * SECOND_US
GIVE_UP_AFTER_US = 24 * 3600 * SECOND_US
LEASE_US = 60 * SECOND_US
EVENTS_PER_NOTIFICATION = 100


def retry_delay_us(failures: int) -> int:
    """The wait before the next attempt after `failures` failures in a row (≥ 1)."""
    return min(FIRST_RETRY_US * 2 ** min(failures - 1, 32), LONGEST_RETRY_US)


def send_due(engine: Engine, client: httpx.Client, base_url: str, holder: str, now_us: int) -> int:
    """Send every due subscription's next notification; the number of events delivered."""
    with write_connection(engine) as connection:
        leased = queries.claim_due(connection, holder, now_us, LEASE_US)
    delivered = 0
    for subscription_id in leased:
        delivered += _send(engine, client, base_url, holder, subscription_id, now_us)
    return delivered


def _send(
    engine: Engine,
    client: httpx.Client,
    base_url: str,
    holder: str,
    subscription_id: str,
    now_us: int,
) -> int:
    with read_connection(engine) as connection:
        state = queries.subscription_state(connection, subscription_id)
        if state is None:
            return 0
        events = queries.pending_events(
            connection, subscription_id, state.delivered_through, EVENTS_PER_NOTIFICATION
        )
    if not events:
        with write_connection(engine) as connection:
            queries.record_delivery(connection, subscription_id, holder, state.delivered_through)
        return 0
    failure = _post(client, state, base_url, events)
    with write_connection(engine) as connection:
        if failure is None:
            queries.record_delivery(connection, subscription_id, holder, events[-1].event_number)
            return len(events)
        _record_failure(connection, state, holder, failure, now_us)
    return 0


def _post(
    client: httpx.Client,
    state: SubscriptionState,
    base_url: str,
    events: list[NumberedEvent],
) -> str | None:
    """Post one notification; None when the receiver took it, else why not."""
    shown = dataclasses.replace(state, events_since_start=events[-1].event_number)
    body = json_codec.dump(notification(shown, base_url, events, "event-notification"))
    headers = {"Content-Type": "application/fhir+json"}
    for header in state.headers:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    try:
        response = client.post(state.endpoint, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"the endpoint could not be reached: {type(exc).__name__}"
    if response.is_success:
        return None
    return f"the endpoint answered {response.status_code}"


def _record_failure(
    connection: Connection,
    state: SubscriptionState,
    holder: str,
    failure: str,
    now_us: int,
) -> None:
    since = state.failing_since_us or now_us
    gives_up = now_us - since >= GIVE_UP_AFTER_US
    log.warning(
        "notification to subscription %s failed (%s)%s",
        state.subscription_id,
        failure,
        "; giving up" if gives_up else "",
    )
    reason = f"{failure}; failing since {format_instant(since)}" if gives_up else failure
    queries.record_failure(
        connection,
        state.subscription_id,
        holder,
        error=reason,
        failing_since_us=since,
        next_attempt_us=now_us + retry_delay_us(state.failures + 1),
        gives_up=gives_up,
    )
    if gives_up:
        _mark_error(connection, state.subscription_id, reason)


def _mark_error(connection: Connection, subscription_id: str, reason: str) -> None:
    """Show the give-up on the Subscription itself: `status` error and the reason, a new
    version written through the interactions by the platform (no caller's guard)."""
    writer = VersionWriter(connection)
    current = writer.current("Subscription", subscription_id)
    if current is None or current.deleted:
        return
    body = current.resource()
    body["status"] = "error"
    body["error"] = reason
    crud.update(writer, "Subscription", subscription_id, body, if_match=current.version_id)
