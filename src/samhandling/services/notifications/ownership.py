"""Whose a Subscription is: the owner's key on the resource, and the access rule that keeps a
citizen to their own subscriptions.

Citizens may create and update Subscriptions (`Service.citizen_writable`), so the policy lets
a citizen near the type; a Subscription holds no patient data, so the policy's compartment
rules do not keep one citizen from another's. This rule does: a citizen reads (read, search,
`$status`, `$events`) and writes only a Subscription whose owner extension carries their own
key. The key is a digest of the token's issuer and subject (a citizen's subject is pairwise,
never a national ID), so the resource reveals nobody. The write rule stamps it
(`subscriptions`) and checks an update against the stored version's, which the client cannot
forge.

Systems are held to the same rule: a Subscription carries its subscribing client's key
(stamped by the write rule for every subscriber), and another system may not read, search
or change it, whatever its scopes — a Subscription's `channel.header` may carry the
receiver's secret. A Subscription written before owners were stamped has no key and is left
to the scopes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from samhandling.auth.access_rules import AccessRequest, Refusal
from samhandling.auth.principal import Principal

OWNER = "https://samhandling.no/fhir/StructureDefinition/subscription-owner"
RULE_OWNER = "notifications.owner"


def owner_key(principal: Principal) -> str:
    """The key a subscription of `principal` carries: a digest, no identity in clear."""
    who = principal.subject if principal.kind == "citizen" else principal.client.client_id
    digest = hashlib.sha256(f"{principal.kind}|{principal.issuer}|{who}".encode()).hexdigest()
    return f"sha256:{digest[:40]}"


def owner_of(subscription: dict[str, Any] | None) -> str | None:
    """The owner key a Subscription carries, or None."""
    for extension in (subscription or {}).get("extension", []):
        if extension.get("url") == OWNER:
            return str(extension.get("valueString"))
    return None


def with_owner(subscription: dict[str, Any], key: str) -> None:
    """Put `key` on the Subscription as its owner (replacing any the client sent)."""
    others = [e for e in subscription.get("extension", []) if e.get("url") != OWNER]
    subscription["extension"] = [*others, {"url": OWNER, "valueString": key}]


@dataclass(frozen=True)
class CitizenOwnsSubscription:
    """`auth.access_rules.AccessRule`: citizens and systems touch only their own
    Subscriptions."""

    reads = MappingProxyType({"Subscription": frozenset({"extension"})})  # the owner's key

    def refusal(self, request: AccessRequest) -> Refusal | None:
        kind = request.principal.kind
        if request.resource_type != "Subscription" or kind not in ("citizen", "system"):
            return None
        if request.resource is None:
            return None  # a search: each match is judged as a read
        owner = owner_of(request.resource)
        if owner is None and (request.writes or kind == "system"):
            return None  # a new one (the write rule stamps the caller), or one from before
        if owner != owner_key(request.principal):
            return "this subscription belongs to someone else", RULE_OWNER
        return None
