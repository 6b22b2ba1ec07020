"""What a subscriber may be told: the platform's policy, for the subscriber as recorded.

`may_read` judges one resource at one time. `visible_from` asks the same pure policy at later
times for the earliest at which it would allow the read if nothing changed (the lab results'
release delay: a citizen sees a result some days after it is issued): the matcher holds such
an event back and asks the policy again at that time (`held_back`), with the resource as it
is then, so a result blocked in between is never announced.
"""

from __future__ import annotations

from typing import Any

from samhandling.auth.policy import ServiceRules, decide
from samhandling.fhir.instants import us_to_datetime
from samhandling.services.notifications.subscribers import principal_of

SECOND_US = 1_000_000
#: how far ahead the policy is asked; the longest release delay is 14 days
HORIZON_US = 366 * 24 * 3600 * SECOND_US


def may_read(
    subscriber: dict[str, Any], content: dict[str, Any], rules: ServiceRules, now_us: int
) -> bool:
    """Whether the subscriber as recorded may read `content` at `now_us` (the policy)."""
    principal = principal_of(subscriber)
    if principal is None:
        return True
    decision = decide(
        principal,
        "read",
        content.get("resourceType"),
        resource=content,
        service_rules=rules,
        now=us_to_datetime(now_us),
    )
    return decision.allowed


def visible_from(
    subscriber: dict[str, Any], content: dict[str, Any], rules: ServiceRules, now_us: int
) -> int | None:
    """The earliest time (to the second) after `now_us` at which the policy would let the
    subscriber read `content`, unchanged; None when not within `HORIZON_US` (a block, a
    scope, another patient's record: no time will change those).

    The policy is pure and takes the time as a parameter, so it is asked at the horizon and
    then halved down to the second: about 25 decisions, only for an event refused now."""
    high = now_us + HORIZON_US
    if not may_read(subscriber, content, rules, high):
        return None
    low = now_us  # refused at `low`, allowed at `high`
    while high - low > SECOND_US:
        middle = (low + high) // 2
        if may_read(subscriber, content, rules, middle):
            high = middle
        else:
            low = middle
    return high
