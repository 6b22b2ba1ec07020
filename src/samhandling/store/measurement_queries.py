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

from sqlalchemy import (
    CTE,
    ColumnElement,
    CompoundSelect,
    Connection,
    Float,
    FromClause,
    Select,
    Subquery,
    Table,
    and_,
    cast,
    exists,
    func,
    select,
    union_all,
)

from samhandling.store.lab_queries import plan_for_the_patient
from samhandling.store.schema import (
    index_composite,
    index_date,
    index_quantity,
    index_token,
)

_NUMBER = "0123456789.-+eE"  # the characters of a decimal in a composite key


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
    Planned for its values: a generic plan of the prepared statement, which does not know
    the patient, took 25-40 s instead of 50-100 ms at a million measurements.
    """
    plan_for_the_patient(connection)
    stmt = _aggregates_per_interval(series)
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


def _aggregates_per_interval(series: MeasurementSeries) -> Select[Any]:
    """One row per interval with measurements, in order: its aggregates and last value."""
    base = _measurements(series).cte("measurement")
    per_interval = _per_interval(base)
    last = _last_values(base, per_interval)
    return (
        select(per_interval, last.c.last)
        .join(last, last.c.bucket == per_interval.c.bucket)
        .order_by(per_interval.c.bucket)
    )


def _per_interval(base: CTE) -> CTE:
    """Count, min, max, mean, latest effective time and unit of each interval's rows."""
    return (
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


def _last_values(base: CTE, per_interval: CTE) -> Subquery:
    """Each interval's value at its latest effective time (the largest, if several)."""
    return (
        select(per_interval.c.bucket, func.max(base.c.value).label("last"))
        .join(
            base, and_(base.c.bucket == per_interval.c.bucket, base.c.at == per_interval.c.last_at)
        )
        .group_by(per_interval.c.bucket)
        .subquery("last_value")
    )


def _measurements(series: MeasurementSeries) -> CompoundSelect[Any]:
    """One row per measurement: its interval number, effective time, value and unit.

    The values of Observations with this code (`value-quantity`) and those of components
    with this code (a panel's, e.g. the systolic 8480-6 of the blood-pressure panel
    85354-9), read from the `component-code-value-quantity` composite rows.
    """
    return union_all(_values(series), _component_values(series))


def _values(series: MeasurementSeries) -> Select[Any]:
    q = index_quantity.c
    coded = index_token.alias("coded")
    code = [coded.c.param == "code", coded.c.code == series.code]
    if series.system is not None:
        code.append(coded.c.system == series.system)
    return (
        select(*_interval_and_time(series), q.value.label("value"), _unit(index_quantity))
        .select_from(index_date)
        .join(index_quantity, _same_resource(index_quantity))
        .where(
            *_in_period(series),
            exists().where(_same_resource(coded), *code),
            q.param == "value-quantity",
            q.value.is_not(None),
        )
    )


def _component_values(series: MeasurementSeries) -> Select[Any]:
    """The composite key is `system|code$value` (`store/index_rows.composite_key`); the
    unit is the one of the resource's component quantity with the same value."""
    k, q = index_composite.c, index_quantity.c
    code = f"{series.system}|{series.code}$" if series.system is not None else None
    if code is not None:
        matches = k.value_key.startswith(code, autoescape=True)
    else:
        matches = k.value_key.contains(f"|{series.code}$", autoescape=True)
    # the decimal after the last `$`: strip the trailing number's characters to find it
    number = func.substr(k.value_key, func.length(func.rtrim(k.value_key, _NUMBER)) + 1)
    value = cast(number, Float)
    unit = (
        select(func.max(func.coalesce(q.code, q.unit)))
        .where(_same_resource(index_quantity), q.param == "component-value-quantity")
        .where(q.value == value)
        .scalar_subquery()
    )
    return (
        select(*_interval_and_time(series), value.label("value"), unit.label("unit"))
        .select_from(index_date)
        .join(index_composite, _same_resource(index_composite))
        .where(
            *_in_period(series),
            k.param == "component-code-value-quantity",
            matches,
            ~k.value_key.endswith("$"),  # a component without a value
        )
    )


def _interval_and_time(series: MeasurementSeries) -> tuple[ColumnElement[Any], ...]:
    d = index_date.c
    return (((d.low_us - series.start_us) // series.width_us).label("bucket"), d.low_us.label("at"))


def _unit(table: Table) -> ColumnElement[Any]:
    return func.coalesce(table.c.code, table.c.unit).label("unit")


def _in_period(series: MeasurementSeries) -> tuple[ColumnElement[bool], ...]:
    """The patient's Observations effective in the period, without a security label.

    Driven by the patient's date rows (`ix_index_date_patient_time`: one index range per
    period), so the cost follows the measurements of the period, not the patient's history
    nor the table. A date row carries the resource's shard (`patient_id`): the patient the
    measurement is about (the first by id of its compartment's patients, when several), so
    the compartment need not be joined (fewer joins: planning was most of the cost).
    """
    d = index_date.c
    labelled = index_token.alias("labelled")
    return (
        d.patient_id == series.patient_id,
        d.resource_type == "Observation",
        ~exists().where(_same_resource(labelled), labelled.c.param == "_security"),
        d.param == "date",
        d.low_us >= series.start_us,
        d.low_us < series.end_us,
    )


def _same_resource(table: FromClause) -> ColumnElement[bool]:
    """`table`'s rows of the date row's resource."""
    return and_(
        table.c.resource_type == index_date.c.resource_type,
        table.c.resource_id == index_date.c.resource_id,
    )
