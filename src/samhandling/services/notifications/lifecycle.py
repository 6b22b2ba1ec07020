"""A subscription's life on its channel (R4 Backport): the handshake that makes a requested
subscription active, the heartbeat when nothing else was sent, and its end.

The terms are the Subscription's own (`channel` extension `backport-heartbeat-period`, in
seconds; `end`, an instant), read from the stored resource when the sender wakes for it; the
delivery state keeps only when to wake next (`next_attempt_us` while nothing is failing):
after each notification, the earlier of the next heartbeat and the end.

The outcome shows on the Subscription itself: a new version with its `status` (active after
the handshake, error with the reason in `error` when the handshake or delivery failed for
good, off at its end), written through the interactions by the platform (no caller's guard,
no write rules, unaudited).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.fhir.fhir_dates import date_or_none
from samhandling.fhir.instants import datetime_to_us
from samhandling.interactions import crud
from samhandling.store.database import Connection
from samhandling.store.version_writer import VersionWriter

HEARTBEAT = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period"
)
SECOND_US = 1_000_000


@dataclass(frozen=True)
class Terms:
    """What the Subscription asks of its channel besides the events."""

    heartbeat_us: int | None  # a heartbeat after this long without a notification
    end_us: int | None  # no delivery from then on: the subscription turns off

    def ended(self, now_us: int) -> bool:
        return self.end_us is not None and now_us >= self.end_us

    def wake_at(self, now_us: int) -> int | None:
        """When the sender must look again though no event comes (None: only for events)."""
        times = [t for t in (self.end_us,) if t is not None]
        if self.heartbeat_us:
            times.append(now_us + self.heartbeat_us)
        return min(times) if times else None


def terms_of(subscription: dict[str, Any] | None) -> Terms:
    """The Terms a Subscription resource sets (none when it has none)."""
    channel = (subscription or {}).get("channel") or {}
    period = next(
        (
            e.get("valueUnsignedInt")
            for e in channel.get("extension", [])
            if e.get("url") == HEARTBEAT
        ),
        None,
    )
    end = date_or_none((subscription or {}).get("end"))
    return Terms(
        heartbeat_us=int(period) * SECOND_US if isinstance(period, int) and period > 0 else None,
        end_us=datetime_to_us(end.low) if end is not None else None,
    )


def stored_subscription(connection: Connection, subscription_id: str) -> dict[str, Any] | None:
    """The Subscription as stored now, or None when it is gone."""
    current = VersionWriter(connection).current("Subscription", subscription_id)
    if current is None or current.deleted:
        return None
    return current.resource()


def show_status(
    connection: Connection, subscription_id: str, status: str, reason: str | None = None
) -> None:
    """Write the Subscription's new `status` (and `error`, or none) as a new version."""
    writer = VersionWriter(connection)
    current = writer.current("Subscription", subscription_id)
    if current is None or current.deleted:
        return
    body = current.resource()
    if body.get("status") == status and body.get("error") == reason:
        return
    body["status"] = status
    body.pop("error", None)
    if reason:
        body["error"] = reason
    crud.update(writer, "Subscription", subscription_id, body, if_match=current.version_id)
