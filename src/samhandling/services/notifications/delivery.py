"""Sending: each subscription's numbered events, in order, to its rest-hook endpoint.

A sender leases the subscriptions that have undelivered events and are due (lease and
`SKIP LOCKED` in `store/notification_sender_queries`, so no two processes send one subscription's
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
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from samhandling.audit.trail import append_at_commit
from samhandling.fhir import json_codec
from samhandling.fhir.instants import format_instant
from samhandling.services.notifications.bundles import notification
from samhandling.services.notifications.criteria import NO_PAYLOAD
from samhandling.services.notifications.delivery_audit import delivery_record
from samhandling.services.notifications.delivery_metrics import DeliveryMetrics
from samhandling.services.notifications.lifecycle import (
    Terms,
    show_status,
    stored_subscription,
    terms_of,
)
from samhandling.services.subscription_topic import Topic
from samhandling.store import notification_queries as queries
from samhandling.store import notification_sender_queries as sender_queries
from samhandling.store.database import Connection, Engine, read_connection, write_connection
from samhandling.store.notification_queries import NumberedEvent, SubscriptionState

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


@dataclass
class Sender:
    """Posts the due notifications of the rest-hook subscriptions, as `holder`."""

    engine: Engine
    client: httpx.Client
    base_url: str
    holder: str
    metrics: DeliveryMetrics | None = None
    #: the topics, for their `on_delivered` hooks
    topics: Sequence[Topic] = field(default_factory=tuple)

    def send_due(self, now_us: int) -> int:
        """Send every due subscription's next notification; the number of events delivered."""
        with write_connection(self.engine) as connection:
            leased = sender_queries.claim_due(connection, self.holder, now_us, LEASE_US)
        return sum(self._send(subscription_id, now_us) for subscription_id in leased)

    def _send(self, subscription_id: str, now_us: int) -> int:
        with read_connection(self.engine) as connection:
            state = queries.subscription_state(connection, subscription_id)
            resource = stored_subscription(connection, subscription_id)
        if state is None or resource is None:
            return 0
        terms = terms_of(resource)
        if terms.ended(now_us):
            with write_connection(self.engine) as connection:
                sender_queries.record_delivery(
                    connection, subscription_id, self.holder, state.delivered_through
                )
                queries.switch_off(connection, subscription_id)
                show_status(connection, subscription_id, "off")
            return 0
        if state.status == "requested" and not self._handshake(state):
            return 0
        return self._deliver(state, terms, now_us)

    def _handshake(self, state: SubscriptionState) -> bool:
        """The backport's handshake: a requested subscription turns active when its endpoint
        takes the `handshake` notification, and `error` (with the reason) when it does not."""
        failure = _post(self.client, state, self.base_url, [], "handshake")
        with write_connection(self.engine) as connection:
            if failure is None:
                queries.set_status(connection, state.subscription_id, "active")
                show_status(connection, state.subscription_id, "active")
                return True
            reason = f"handshake failed: {failure}"
            log.warning("subscription %s: %s", state.subscription_id, reason)
            if self.metrics:
                self.metrics.observe_failure("rest-hook", reason)
            sender_queries.record_delivery(
                connection, state.subscription_id, self.holder, state.delivered_through
            )
            queries.set_status(connection, state.subscription_id, "error", reason)
            show_status(connection, state.subscription_id, "error", reason)
        return False

    def _deliver(self, state: SubscriptionState, terms: Terms, now_us: int) -> int:
        """Send the oldest undelivered events, or a heartbeat when one is due; record it."""
        subscription_id = state.subscription_id
        with read_connection(self.engine) as connection:
            events = queries.pending_events(
                connection, subscription_id, state.delivered_through, EVENTS_PER_NOTIFICATION
            )
        woken = state.next_attempt_us is not None and state.next_attempt_us <= now_us
        fresh = state.status == "requested"  # its handshake was sent just now
        if not events and (fresh or not woken or not terms.heartbeat_us):
            with write_connection(self.engine) as connection:  # nothing to say
                wake = terms.wake_at(now_us) if fresh or woken else state.next_attempt_us
                sender_queries.record_delivery(
                    connection, subscription_id, self.holder, state.delivered_through, wake
                )
            return 0
        kind = "event-notification" if events else "heartbeat"
        failure = _post(self.client, state, self.base_url, events, kind)
        with write_connection(self.engine) as connection:
            if failure is not None:
                if self.metrics:
                    self.metrics.observe_failure("rest-hook", failure)
                _record_failure(connection, state, self.holder, failure, now_us)
                return 0
            through = events[-1].event_number if events else state.delivered_through
            sender_queries.record_delivery(
                connection, subscription_id, self.holder, through, terms.wake_at(now_us)
            )
            if events:
                append_at_commit(connection, delivery_record(state, events, "rest-hook", now_us))
                self._delivered(connection, state.topic, events, now_us)
        if events and self.metrics:
            self.metrics.observe_delivery("rest-hook", events, now_us)
        return len(events)

    def _delivered(
        self, connection: Connection, topic_url: str, events: list[NumberedEvent], now_us: int
    ) -> None:
        """The topic's `on_delivered` for each event's resource, once per resource."""
        hook = next((t.on_delivered for t in self.topics if t.url == topic_url), None)
        if hook is None:
            return
        for resource_type, resource_id in dict.fromkeys(
            (e.resource_type, e.resource_id) for e in events
        ):
            hook(connection, resource_type, resource_id, now_us)


def _post(
    client: httpx.Client,
    state: SubscriptionState,
    base_url: str,
    events: list[NumberedEvent],
    kind: str,
) -> str | None:
    """Post one notification of `kind`; None when the receiver took it, else why not."""
    shown = state  # a handshake or heartbeat tells the count so far
    if events:
        shown = dataclasses.replace(state, events_since_start=events[-1].event_number)
    body = b""  # classic R4 without a payload: an empty POST
    headers = {}
    if state.payload != NO_PAYLOAD:
        body = json_codec.dump(notification(shown, base_url, events, kind))
        headers["Content-Type"] = "application/fhir+json"
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
    sender_queries.record_failure(
        connection,
        state.subscription_id,
        holder,
        error=reason,
        failing_since_us=since,
        next_attempt_us=now_us + retry_delay_us(state.failures + 1),
        gives_up=gives_up,
    )
    if gives_up:
        show_status(connection, state.subscription_id, "error", reason)
