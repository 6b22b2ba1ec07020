"""Topic-based Subscriptions in the R4 Backport shape, checked when they are written.

A subscription the server cannot honour is refused (422, with the reason), never accepted
and ignored: an unknown topic, a channel other than rest-hook or websocket (email and
message are not built), a rest-hook endpoint that is not `https` (plain `http` only to a
loopback address, for local receivers and tests), a payload other than `empty` or `id-only`
(no `full-resource`: a notification never carries content), a filter the topic does not
offer, a subscriber that is not a system or a citizen (`subscribers`). A citizen subscribes
to their own record (or that of someone they act for) only, named by a `patient` filter,
and changes only their own subscriptions (`ownership`; the policy checks the filter's
patient against the citizen's reach first). An accepted rest-hook subscription is
`requested` until the sender's handshake makes it `active` (`lifecycle`; a websocket one is
active at once); its delivery state is recorded in the same transaction, with its creator;
`off` or a delete stops delivery; writing it again resumes one in `error`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from samhandling.auth.principal import Principal
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.notifications import subscribers
from samhandling.services.notifications.criteria import (
    CLASSIC,
    NO_PAYLOAD,
    is_classic,
    parse_criteria,
)
from samhandling.services.notifications.ownership import owner_key, owner_of, with_owner
from samhandling.services.subscription_topic import Topic
from samhandling.store import notification_queries as queries

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
FILTER_CRITERIA = f"{BACKPORT}/backport-filter-criteria"
PAYLOAD_CONTENT = f"{BACKPORT}/backport-payload-content"
PROFILE = f"{BACKPORT}/backport-subscription"
PAYLOADS = ("empty", "id-only")
CHANNELS = ("rest-hook", "websocket")
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Request:
    """What a Subscription asks for, once checked (`topic`: a topic's canonical, or
    `criteria.CLASSIC` and the resource type of a classic criteria subscription)."""

    topic: str
    filters: tuple[tuple[str, str], ...]
    endpoint: str
    headers: tuple[str, ...]
    payload: str


def _refuse(reason: str, *expression: str) -> FhirError:
    return FhirError(422, [error("business-rule", reason, *expression)])


def _extensions(element: dict[str, Any] | None, url: str) -> list[dict[str, Any]]:
    return [e for e in (element or {}).get("extension", []) if e.get("url") == url]


def parse(subscription: dict[str, Any], topics: Sequence[Topic]) -> Request:
    """The request of a backport Subscription, or a 422 naming what cannot be honoured."""
    by_url = {t.url: t for t in topics}
    criteria = str(subscription.get("criteria", ""))
    if is_classic(criteria):
        return _classic(subscription, criteria)
    topic = by_url.get(criteria)
    if topic is None:
        known = ", ".join(sorted(by_url))
        raise _refuse(
            f"unknown topic; this server offers: {known} (or classic criteria, Type?params)",
            "Subscription.criteria",
        )
    channel = subscription.get("channel", {})
    if channel.get("type") not in CHANNELS:
        raise _refuse(
            f"channel {channel.get('type')!r} is not offered; only rest-hook and websocket are",
            "Subscription.channel.type",
        )
    content = [e.get("valueCode") for e in _extensions(channel.get("_payload"), PAYLOAD_CONTENT)]
    payload = content[0] if content else "id-only"
    if payload not in PAYLOADS:
        raise _refuse(
            f"payload content {payload!r} is not offered; use empty or id-only",
            "Subscription.channel.payload",
        )
    if channel["type"] == "websocket":  # sent to the sockets bound to it (`websocket`)
        return Request(topic.url, _filters(subscription, topic), queries.WEBSOCKET, (), payload)
    return Request(
        topic.url,
        _filters(subscription, topic),
        _endpoint(channel.get("endpoint")),
        tuple(str(h) for h in channel.get("header", [])),
        payload,
    )


def _classic(subscription: dict[str, Any], criteria: str) -> Request:
    """A classic R4 criteria subscription (`criteria`): rest-hook, no payload."""
    resource_type, parameters = parse_criteria(criteria)
    channel = subscription.get("channel", {})
    if channel.get("type") != "rest-hook":
        raise _refuse(
            "a classic criteria subscription is delivered by rest-hook only "
            "(use a topic for websocket)",
            "Subscription.channel.type",
        )
    if channel.get("payload"):
        raise _refuse(
            "a notification never carries the resource: omit channel.payload (an empty "
            "notification), or use a topic with id-only payload",
            "Subscription.channel.payload",
        )
    return Request(
        f"{CLASSIC}{resource_type}",
        parameters,
        _endpoint(channel.get("endpoint")),
        tuple(str(h) for h in channel.get("header", [])),
        NO_PAYLOAD,
    )


def _filters(subscription: dict[str, Any], topic: Topic) -> tuple[tuple[str, str], ...]:
    found = []
    for ext in _extensions(subscription.get("_criteria"), FILTER_CRITERIA):
        text = str(ext.get("valueString", ""))
        rtype, _, query = text.rpartition("?")
        if rtype and rtype not in topic.resource_types:
            raise _refuse(f"the topic has no resource type {rtype!r}", "Subscription.criteria")
        for part in query.split("&"):
            name, eq, value = part.partition("=")
            if not eq or name not in topic.filters or not value:
                offered = ", ".join(topic.filters)
                raise _refuse(
                    f"filter {part!r} is not offered by the topic (it offers: {offered})",
                    "Subscription.criteria",
                )
            found.append((name, value.removeprefix("Patient/")))
    return tuple(found)


def _endpoint(endpoint: object) -> str:
    parts = urlsplit(str(endpoint or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse("the endpoint must be an absolute http(s) URL", "Subscription.channel")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise _refuse(
            "the endpoint must use https (plain http only to a loopback address)",
            "Subscription.channel.endpoint",
        )
    return str(endpoint)


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SubscriptionRule:
    """The write rule of Subscriptions: check, activate and record them (see module doc)."""

    resource_types = frozenset({"Subscription"})  # `applies` accepts no other

    topics: tuple[Topic, ...]

    def applies(self, context: WriteContext) -> bool:
        return context.resource_type == "Subscription"

    def check(self, context: WriteContext) -> None:
        connection = context.writer.connection
        principal = context.writer.guard.principal
        if principal is not None and principal.kind in ("citizen", "system"):
            _check_owner(context, principal)
        new = context.new
        if new is not None and principal is not None:
            with_owner(new, owner_key(principal))
        if new is None or new.get("status") == "off":
            queries.switch_off(connection, context.resource_id)
            return
        why = subscribers.refusal(principal)
        if why:
            raise _refuse(why)
        request = parse(new, self.topics)
        if principal is not None and principal.kind == "citizen":
            _check_citizen_filters(request, principal)
        # a rest-hook is requested until its endpoint takes the handshake (`lifecycle`); a
        # websocket's handshake goes to each socket as it binds; classic R4 has none
        at_once = request.endpoint == queries.WEBSOCKET or request.payload == NO_PAYLOAD
        new["status"] = "active" if at_once else "requested"
        new.pop("error", None)
        queries.save_subscription(
            connection,
            context.resource_id,
            topic=request.topic,
            filters=request.filters,
            endpoint=request.endpoint,
            headers=request.headers,
            payload=request.payload,
            subscriber=subscribers.record(principal),
            start_tx=context.writer.tx_id,
            status=new["status"],
        )


def _check_owner(context: WriteContext, principal: Principal) -> None:
    """A citizen or a system changes only a subscription it owns (the stored version says
    whose; one stored before owners were stamped is a system's to take over)."""
    before = context.before
    owner = owner_of(before)
    if principal.kind == "system" and owner is None:
        return
    if before is not None and owner != owner_key(principal):
        raise FhirError(403, [error("forbidden", "this subscription belongs to someone else")])


def _check_citizen_filters(request: Request, principal: Principal) -> None:
    """A citizen subscribes to their own record, or that of someone they act for, by name:
    a `patient` filter is required and every one must be such a patient."""
    own = {a.patient_id for a in principal.acts_for if a.patient_id}
    patients = [value for name, value in request.filters if name == "patient"]
    if not patients:
        raise _refuse(
            "a citizen's subscription needs a patient filter naming their own record "
            "(e.g. patient=Patient/<id>)",
            "Subscription.criteria",
        )
    if not set(patients) <= own:
        raise FhirError(
            403,
            [
                error(
                    "forbidden",
                    "a citizen may subscribe only to their own record or that "
                    "of someone they act for",
                    "Subscription.criteria",
                )
            ],
        )
