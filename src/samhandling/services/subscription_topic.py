"""A topic a service offers for notifications (issue 21): what kind of change it announces.

A service declares its topics on its `Service` description (`Service.topics`); the
notifications service publishes them in the shape of the R4 Subscriptions Backport
(a `SubscriptionTopic` as a `Basic`) and delivers the outbox events that match them.
A topic is data plus one pure test on the written resource, and optionally what its
service does once an event was delivered (`on_delivered`: e.g. the NEWS2 alert is then
marked `completed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from samhandling.store.database import Connection

#: canonical base of the platform's topics
TOPIC_BASE = "https://samhandling.no/fhir/SubscriptionTopic"

#: (the delivery's write transaction, resource type, id, the time of delivery in µs)
DeliveredHook = Callable[[Connection, str, str, int], None]

#: the outbox's write methods, as the backport's interactions name them
TRIGGERS = {"create": "create", "update": "update", "patch": "update", "delete": "delete"}


@dataclass(frozen=True)
class Topic:
    """One topic: its code (the canonical is `TOPIC_BASE/code`), title and description, the
    resource types and interactions that trigger it, and an optional test of the written
    content (a delete is judged on the content it deleted)."""

    code: str
    title: str
    description: str
    resource_types: tuple[str, ...]
    interactions: tuple[str, ...] = ("create", "update")
    applies: Callable[[dict[str, Any]], bool] | None = None
    #: the filters a subscriber may set (`_criteria`); `patient` is judged by compartment
    filters: tuple[str, ...] = ("patient",)
    #: run for each resource of a notification its subscriber took, in the transaction that
    #: records the delivery (at least once: it must be idempotent)
    on_delivered: DeliveredHook | None = None

    @property
    def url(self) -> str:
        """The topic's canonical URL."""
        return f"{TOPIC_BASE}/{self.code}"

    def triggered_by(self, resource_type: str, method: str, content: dict[str, Any]) -> bool:
        """Whether a write of `content` by `method` announces this topic."""
        if resource_type not in self.resource_types:
            return False
        if TRIGGERS.get(method) not in self.interactions:
            return False
        return self.applies is None or self.applies(content)
