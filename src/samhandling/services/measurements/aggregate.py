"""`Observation/$aggregate`: a patient's measurements of one code per hour, day or week.

`patient` (Patient/id or id), `code` (`system|code` or `code`), `start` and `end` (FHIR
dateTimes; `[start, end)`) and `interval` (`hour`, `day`, `week`: intervals counted from
`start`, so a day starting at local midnight is asked for with start at local midnight).
Per interval with measurements: count, min, max, mean and the last value (the latest
effective time), computed in the database (`store.measurement_queries`). The caller must
be allowed to search the patient's Observations: the policy's search restriction names
the patients it may reach, and the Patient is read as a read would be (404/403).
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.fhir_dates import parse_date
from samhandling.fhir.instants import datetime_to_us, format_instant
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.read import read
from samhandling.store.measurement_queries import (
    IntervalAggregate,
    MeasurementSeries,
    interval_aggregates,
)

HOUR_US = 3_600_000_000
INTERVALS = {"hour": HOUR_US, "day": 24 * HOUR_US, "week": 7 * 24 * HOUR_US}
MAX_INTERVALS = 10_000  # e.g. a year and some of hours; more is a costly request


def aggregate(context: OperationContext) -> OperationResult:
    """The aggregates of the named series, as Parameters (one `interval` part each)."""
    patient_id = _patient(context)
    context.guard.check_request("search", "Observation")
    restriction = context.guard.search_restriction("Observation")
    allowed = getattr(restriction, "patient_ids", None)
    if allowed is not None and patient_id not in allowed:
        raise FhirError(403, error("forbidden", f"Access denied to Patient/{patient_id}"))
    read(context.connection, "Patient", patient_id, context.guard)
    series = _series(context, patient_id)
    rows = interval_aggregates(context.connection, series)
    parameters: list[dict[str, Any]] = [
        {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
        {"name": "code", "valueString": context.text("code")},
    ]
    parameters += [_interval(series, row) for row in rows]
    return OperationResult({"resourceType": "Parameters", "parameter": parameters})


def _patient(context: OperationContext) -> str:
    value = context.parameter("patient")
    text = value.get("reference") if isinstance(value, dict) else value
    if not isinstance(text, str) or not text.strip():
        raise FhirError(400, error("required", "Name the patient: patient=Patient/id", "patient"))
    kind, _, rid = text.strip().rpartition("/")
    if kind not in ("", "Patient") or not rid:
        raise FhirError(400, error("invalid", "patient must be Patient/id", "patient"))
    return rid


def _series(context: OperationContext, patient_id: str) -> MeasurementSeries:
    code = context.text("code")
    if code is None:
        raise FhirError(400, error("required", "Name the code: code=system|code", "code"))
    system, bar, value = code.rpartition("|")
    interval = context.text("interval") or "day"
    if interval not in INTERVALS:
        message = "interval must be hour, day or week"
        raise FhirError(400, error("invalid", message, "interval"))
    start, end = _instant(context, "start"), _instant(context, "end")
    width = INTERVALS[interval]
    if end <= start:
        raise FhirError(400, error("invalid", "end must come after start", "end"))
    if (end - start) // width > MAX_INTERVALS:
        message = f"At most {MAX_INTERVALS} intervals per request"
        raise FhirError(400, error("too-costly", message, "interval"))
    return MeasurementSeries(patient_id, value, system if bar else None, start, end, width)


def _instant(context: OperationContext, name: str) -> int:
    text = context.text(name)
    if text is None:
        raise FhirError(400, error("required", f"Name the period: {name}", name))
    try:
        return datetime_to_us(parse_date(text).low)
    except ValueError as exc:
        raise FhirError(400, error("invalid", f"{name}: {exc}", name)) from exc


def _interval(series: MeasurementSeries, row: IntervalAggregate) -> dict[str, Any]:
    low = series.start_us + row.index * series.width_us
    high = min(low + series.width_us, series.end_us)
    parts: list[dict[str, Any]] = [
        {"name": "start", "valueInstant": format_instant(low)},
        {"name": "end", "valueInstant": format_instant(high)},
        {"name": "count", "valueInteger": row.count},
        {"name": "min", "valueDecimal": row.minimum},
        {"name": "max", "valueDecimal": row.maximum},
        {"name": "mean", "valueDecimal": round(row.mean, 6)},
        {"name": "last", "valueDecimal": row.last},
        {"name": "lastEffective", "valueInstant": format_instant(row.last_at_us)},
    ]
    if row.unit:
        parts.append({"name": "unit", "valueCode": row.unit})
    return {"name": "interval", "part": parts}


_PARAMETERS = (
    ("patient", "in", 1, "1", "string"),
    ("code", "in", 1, "1", "string"),
    ("start", "in", 1, "1", "dateTime"),
    ("end", "in", 1, "1", "dateTime"),
    ("interval", "in", 0, "1", "code"),
    ("interval", "out", 0, "*", "BackboneElement"),
)
OPERATIONS = [
    Operation(
        "aggregate",
        "type",
        "Observation",
        aggregate,
        permission="s",
        methods=("GET", "POST"),
        description=(
            "Count, min, max, mean and last value of a patient's measurements of one code "
            "per hour, day or week, computed in the database."
        ),
        parameters=_PARAMETERS,
    )
]
