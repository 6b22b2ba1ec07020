"""Named queries of the measurements service (docs/MEASUREMENTS.md): aggregates of a
patient's measurements computed in the database.

The measurements are found through the index tables the write path keeps: the patient's
compartment rows, the Observation's `code` token, its `date` (effective time, `low_us`) and
its `value-quantity`. Intervals are whole multiples of `width_us` counted from `start_us`,
so the bucket of a measurement is one integer division on either engine; count, min, max
and mean are SQL aggregates and the last value is the one with the latest effective time
in its interval. No measurement row is read into Python, only one row per interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, Select, and_, exists, func, select

from samhandling.store.schema import compartment, index_date, index_quantity, index_token


@dataclass(frozen=True)
class IntervalAggregate:
    """The measurements of one interval (`index`: its number from the period's start)."""

    index: int
    count: int
    minimum: float
    maximum: float
    mean: float
    last: float
    last_at_us: int
    unit: str | None


@dataclass(frozen=True)
class MeasurementSeries:
    """Which measurements: one patient's Observations with this code (and system, when
    given), effective in `[start_us, end_us)`, in intervals of `width_us`."""

    patient_id: str
    code: str
    system: str | None
    start_us: int
    end_us: int
    width_us: int


def interval_aggregates(
    connection: Connection, series: MeasurementSeries
) -> list[IntervalAggregate]:
    """Count, min, max, mean and last value per interval that has measurements, in order.

    Observations carrying a security label (`_security`) are left out: the policy judges
    those one by one, which an aggregate cannot do (they are seen through the search).
    """
    base = _measurements(series).cte("measurement")
    per_interval = (
        select(
            base.c.bucket,
            func.count().label("measured"),
            func.min(base.c.value).label("minimum"),
            func.max(base.c.value).label("maximum"),
            func.avg(base.c.value).label("mean"),
            func.max(base.c.at).label("last_at"),
            func.max(base.c.unit).label("unit"),
        )
        .group_by(base.c.bucket)
        .cte("per_interval")
    )
    last = (
        select(per_interval.c.bucket, func.max(base.c.value).label("last"))
        .join(
            base, and_(base.c.bucket == per_interval.c.bucket, base.c.at == per_interval.c.last_at)
        )
        .group_by(per_interval.c.bucket)
        .subquery("last_value")
    )
    stmt = (
        select(per_interval, last.c.last)
        .join(last, last.c.bucket == per_interval.c.bucket)
        .order_by(per_interval.c.bucket)
    )
    return [
        IntervalAggregate(
            int(row.bucket),
            int(row.measured),
            float(row.minimum),
            float(row.maximum),
            float(row.mean),
            float(row.last),
            int(row.last_at),
            row.unit,
        )
        for row in connection.execute(stmt)
    ]


def _measurements(series: MeasurementSeries) -> Select[Any]:
    """One row per measurement: its interval number, effective time, value and unit."""
    c, d, q = compartment.c, index_date.c, index_quantity.c
    coded, labelled = index_token.alias("coded"), index_token.alias("labelled")
    code = [coded.c.param == "code", coded.c.code == series.code]
    if series.system is not None:
        code.append(coded.c.system == series.system)
    return (
        select(
            ((d.low_us - series.start_us) // series.width_us).label("bucket"),
            d.low_us.label("at"),
            q.value.label("value"),
            func.coalesce(q.code, q.unit).label("unit"),
        )
        .select_from(compartment)
        .join(index_date, _same_resource(index_date))
        .join(index_quantity, _same_resource(index_quantity))
        .where(
            c.patient_id == series.patient_id,
            c.resource_type == "Observation",
            exists().where(_same_resource(coded), *code),
            ~exists().where(_same_resource(labelled), labelled.c.param == "_security"),
            d.param == "date",
            d.low_us >= series.start_us,
            d.low_us < series.end_us,
            q.param == "value-quantity",
            q.value.is_not(None),
        )
    )


def _same_resource(table: FromClause) -> ColumnElement[bool]:
    """`table`'s rows of the compartment row's resource."""
    return and_(
        table.c.resource_type == compartment.c.resource_type,
        table.c.resource_id == compartment.c.resource_id,
    )
