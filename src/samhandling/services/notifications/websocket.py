"""The websocket channel (R4 Backport): `$get-ws-binding-token`, binding a socket with it,
and what the socket is sent.

A client asks `POST Subscription/{id}/$get-ws-binding-token` (it must be able to read the
subscription) and gets a token valid for five minutes and the `websocket-url`. It opens the
socket and sends `bind-with-token <token>`; the server answers with a `handshake`
notification, then sends each `event-notification` Bundle as the events are numbered (the
same numbers as every channel; the matcher numbers them, the socket only sends), and a
`heartbeat` after the subscription's heartbeat period without a notification. A socket
starts after the events already sent (`delivered_through`) and moves that mark; events sent
while no socket was bound are fetched with `$events`. The server closes the socket when the
subscription is no longer active or has ended.

The token is random; only its SHA-256 digest and expiry are stored (`notification_queries`),
so any server process can bind it and a database reader cannot. A token names its
subscription (`<id>.<secret>`); one token is valid at a time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from samhandling.audit.trail import append_at_commit
from samhandling.fhir.instants import format_instant, now_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.services.notifications.bundles import notification
from samhandling.services.notifications.delivery_audit import delivery_record
from samhandling.services.notifications.lifecycle import (
    Terms,
    stored_subscription,
    terms_of,
)
from samhandling.services.notifications.operations import subscription_state
from samhandling.store import notification_queries as queries
from samhandling.store.database import Engine, read_connection, write_connection
from samhandling.store.notification_queries import SubscriptionState

TOKEN_LIFETIME_US = 300 * 1_000_000
SOCKET_PATH = "/subscription-ws"  # under the FHIR base
EVENTS_PER_MESSAGE = 100


def websocket_url(base_url: str) -> str:
    """The URL clients open a socket at: the FHIR base's, ws(s) for http(s)."""
    scheme, _, rest = base_url.rstrip("/").partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{SOCKET_PATH}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def binding_token(context: OperationContext) -> OperationResult:
    """`$get-ws-binding-token`: a token to bind a websocket to this subscription."""
    state = subscription_state(context)
    if not state.endpoint.startswith(queries.WEBSOCKET):
        raise FhirError(
            422,
            [error("business-rule", "the subscription's channel is not websocket")],
        )
    secret = secrets.token_urlsafe(32)
    expires = now_us() + TOKEN_LIFETIME_US
    queries.grant_binding(context.connection, state.subscription_id, _digest(secret), expires)
    parameters = [
        {"name": "token", "valueString": f"{state.subscription_id}.{secret}"},
        {"name": "expiration", "valueDateTime": format_instant(expires)},
        {"name": "subscription", "valueString": state.subscription_id},
        {"name": "websocket-url", "valueUrl": websocket_url(context.base_url)},
    ]
    return OperationResult({"resourceType": "Parameters", "parameter": parameters})


OPERATION = Operation(
    "get-ws-binding-token",
    "instance",
    "Subscription",
    binding_token,
    permission="r",
    writes=True,
    methods=("POST",),
    description="A token for a websocket client to bind to this subscription (R4 Backport).",
    parameters=(
        ("token", "out", 1, "1", "string"),
        ("expiration", "out", 1, "1", "dateTime"),
        ("subscription", "out", 0, "*", "string"),
        ("websocket-url", "out", 1, "1", "url"),
    ),
)


@dataclass
class SocketFeed:
    """What one bound socket is sent: its cursor and when it last sent anything."""

    engine: Engine
    base_url: str
    state: SubscriptionState
    terms: Terms
    sent_at_us: int
    cursor: int = field(init=False)

    def __post_init__(self) -> None:
        self.cursor = self.state.delivered_through

    def handshake(self) -> dict[str, Any]:
        return notification(self.state, self.base_url, [], "handshake")

    def poll(self, now: int) -> list[dict[str, Any]] | None:
        """The Bundles to send now (events, or a heartbeat); None: close the socket."""
        with read_connection(self.engine) as connection:
            state = queries.subscription_state(connection, self.state.subscription_id)
            if state is None or state.status != "active" or self.terms.ended(now):
                return None
            events = queries.pending_events(
                connection, state.subscription_id, self.cursor, EVENTS_PER_MESSAGE
            )
        self.state = state
        if events:
            shown = dataclasses.replace(state, events_since_start=events[-1].event_number)
            self.cursor = events[-1].event_number
            self.sent_at_us = now
            with write_connection(self.engine) as connection:
                queries.record_socket_delivery(connection, state.subscription_id, self.cursor)
                append_at_commit(connection, delivery_record(state, events, "websocket", now))
            return [notification(shown, self.base_url, events, "event-notification")]
        beat = self.terms.heartbeat_us
        if beat and now - self.sent_at_us >= beat:
            self.sent_at_us = now
            return [notification(state, self.base_url, [], "heartbeat")]
        return []


def bind(engine: Engine, base_url: str, token: str, now: int) -> SocketFeed | None:
    """The feed a `bind-with-token` opens, or None when the token is not (or no longer)
    valid or the subscription is not active."""
    subscription_id, _, secret = token.strip().partition(".")
    if not subscription_id or not secret:
        return None
    with read_connection(engine) as connection:
        binding = queries.binding_of(connection, subscription_id)
        state = queries.subscription_state(connection, subscription_id)
        resource = stored_subscription(connection, subscription_id)
    if binding is None or state is None or resource is None:
        return None
    digest, expires = binding
    if not hmac.compare_digest(digest, _digest(secret)) or now >= expires:
        return None
    if state.status != "active":
        return None
    return SocketFeed(engine, base_url, state, terms_of(resource), now)
