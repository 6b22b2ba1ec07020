"""Pasientens måledata: home-monitoring measurements, their aggregates and NEWS2 early
warnings (docs/MEASUREMENTS.md).

Measurements are plain vital-signs Observations posted by systems (in batch Bundles,
conditional on their identifier so a resent batch stores nothing twice); `$aggregate`
(`aggregate`) gives count, min, max, mean and last per hour, day or week from the
database; `$news2` (`news2_operation`) scores a set of vital signs by the chart in `news2`
and raises an alert on a crossing (`alerts`). The whole service is `SERVICE` below.
"""

from __future__ import annotations

from samhandling.services.measurements import aggregate, alerts, demo, news2_operation
from samhandling.services.service import Service
from samhandling.services.subscription_topic import Topic

SERVICE = Service(
    name="measurements",
    benchmark="measurements",
    demo=demo.home_monitoring,
    operations=(*news2_operation.OPERATIONS, *aggregate.OPERATIONS),
    topics=(
        Topic(
            "news2-alert",
            "NEWS2 alert",
            "A patient's NEWS2 score crossed into a higher clinical risk (a Communication of "
            "category alert).",
            ("Communication",),
            ("create",),
            applies=lambda c: any(
                coding.get("code") == "alert"
                for category in c.get("category", [])
                for coding in category.get("coding", [])
            ),
            on_delivered=alerts.mark_delivered,
        ),
    ),
)
