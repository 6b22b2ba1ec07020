"""The notifications' metrics (Prometheus), served with the platform's at /metrics.

- `samhandling_notification_queue` (gauge, `stage`): outbox events not yet matched
  (`unmatched`), numbered events not yet delivered (`undelivered`), events held back until
  the policy allows them (`held_back`) — read from the database when scraped, so every
  process shows the shared queue.
- `samhandling_notification_subscriptions` (gauge, `status`): subscriptions per status.
- `samhandling_notification_failing_subscriptions` (gauge, `failures`): subscriptions
  failing now, by consecutive failures in buckets (1, 2-5, 6-20, 21+).
- `samhandling_notification_delivery_seconds` (histogram, `channel`): from the commit of a
  write to the delivery of its notification (the event's outbox time to the receiver's
  answer); held-back events (days) are not observed here.
- `samhandling_notifications_delivered` / `samhandling_notification_failures` (counters,
  `channel`, and `reason` for failures: unreachable, http-4xx, http-5xx, handshake).

Failures are **not** labelled by subscription id: every id would be a time series of its
own, for ever (unbounded cardinality: one per subscriber, and they come and go). The
buckets say how many are in trouble and how deep; which ones, with their reason, is in
each subscription's `$status`, in the log line of each failure, and in the `error` status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from samhandling.store.database import Engine, read_connection
from samhandling.store.notification_queries import NumberedEvent
from samhandling.store.notification_queue_queries import queue_depth

log = logging.getLogger("samhandling.notifications")

FAILURE_BUCKETS = ((1, 1, "1"), (2, 5, "2-5"), (6, 20, "6-20"), (21, None, "21+"))
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)


class DeliveryMetrics(Collector):
    """The notifications' metrics: counters kept by the worker, the queue from the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.delivered = Counter(
            "samhandling_notifications_delivered",
            "notification events delivered",
            ["channel"],
            registry=None,
        )
        self.failures = Counter(
            "samhandling_notification_failures",
            "failed notification attempts",
            ["channel", "reason"],
            registry=None,
        )
        self.latency = Histogram(
            "samhandling_notification_delivery_seconds",
            "commit of the write to delivery of its notification",
            ["channel"],
            registry=None,
            buckets=LATENCY_BUCKETS,
        )

    def observe_delivery(self, channel: str, events: Sequence[NumberedEvent], now_us: int) -> None:
        """Count delivered events and time each from its commit (not held-back ones)."""
        self.delivered.labels(channel).inc(len(events))
        for event in events:
            if event.written_at_us is not None and event.created_at_us - event.written_at_us < (
                60 * 1_000_000
            ):
                self.latency.labels(channel).observe(max(0, now_us - event.written_at_us) / 1e6)

    def observe_failure(self, channel: str, failure: str) -> None:
        """Count a failed attempt by the kind of its reason."""
        self.failures.labels(channel, failure_kind(failure)).inc()

    def describe(self) -> Iterable[Metric]:
        """Nothing: registering must not read the database (the queue is read at scrape)."""
        return []

    def collect(self) -> Iterable[Metric]:
        yield from self.delivered.collect()
        yield from self.failures.collect()
        yield from self.latency.collect()
        try:
            with read_connection(self.engine) as connection:
                depth = queue_depth(connection)
        except Exception:  # a scrape during an outage shows the counters only
            log.warning("could not read the notification queue for the metrics")
            return
        queue = GaugeMetricFamily(
            "samhandling_notification_queue", "notification events waiting", labels=["stage"]
        )
        queue.add_metric(["unmatched"], depth.unmatched)
        queue.add_metric(["undelivered"], depth.undelivered)
        queue.add_metric(["held_back"], depth.held_back)
        yield queue
        statuses = GaugeMetricFamily(
            "samhandling_notification_subscriptions", "subscriptions", labels=["status"]
        )
        for status, count in sorted(depth.by_status.items()):
            statuses.add_metric([status], count)
        yield statuses
        failing = GaugeMetricFamily(
            "samhandling_notification_failing_subscriptions",
            "subscriptions failing now, by consecutive failures",
            labels=["failures"],
        )
        for low, high, name in FAILURE_BUCKETS:
            count = sum(1 for f in depth.failing if f >= low and (high is None or f <= high))
            failing.add_metric([name], count)
        yield failing


def failure_kind(failure: str) -> str:
    """A bounded label for a failure's reason."""
    if failure.startswith("handshake"):
        return "handshake"
    if "answered 4" in failure:
        return "http-4xx"
    if "answered" in failure:
        return "http-5xx"
    return "unreachable"
