"""The time the service's operations judge by (the 90-day grace period, stamps).

Every function below the operations takes `now` as a parameter; the operations ask
`now()` here once per request, so a test fixes the clock by replacing this function.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)
