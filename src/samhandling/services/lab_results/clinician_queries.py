"""The clinician's questions, computed in the database (`store.lab_queries`) and judged
result by result under the caller's guard, so a citizen's delay and block hold here too.

* `GET Observation/$lastn?patient=&category=&code=&max=` (FHIR R4 Observation-lastn): the
  newest `max` (default 1, at most 100) results per code of a patient, as a searchset.
* `GET Observation/$trend?patient=&code=&start=&end=` (this platform's): one code's values
  over time, oldest first, as Parameters with one `point` per result (time, value, status,
  the Observation).
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.instants import datetime_to_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.read import read
from samhandling.store.lab_queries import Code, LabResultRow, code_series, latest_per_code

MAX_PER_CODE = 100
MAX_POINTS = 1000
MAX_RANKED = 10_000  # how deep $lastn looks per code for results the caller may see


def lastn(context: OperationContext) -> OperationResult:
    """The newest results per code that the caller may see."""
    patient = _patient(context)
    wanted = context.integer("max", 1, MAX_PER_CODE) or 1
    codes = [_code(context, value, "code") for value in context.parameters.get("code", [])]
    category = context.text("category")
    per_code, verdicts = wanted, _Verdicts(context)
    while True:
        rows = latest_per_code(
            context.connection,
            patient,
            per_code=per_code,
            codes=codes,
            category=_code(context, category, "category") if category else None,
        )
        groups = _visible_groups(rows, verdicts, wanted)
        if per_code >= MAX_RANKED or all(
            len(shown) == wanted or ranked < per_code for shown, ranked in groups.values()
        ):
            break
        per_code *= 4
    return OperationResult(_searchset(context.base_url, groups))


class _Verdicts:
    """The guard's verdict on each result version, asked once."""

    def __init__(self, context: OperationContext) -> None:
        self.context = context
        self.known: dict[tuple[str, str], bool] = {}

    def visible(self, content: dict[str, Any]) -> bool:
        key = (str(content.get("id")), str((content.get("meta") or {}).get("versionId")))
        if key not in self.known:
            self.known[key] = self.context.guard.visible("search", content)
        return self.known[key]


def _visible_groups(
    rows: list[LabResultRow], verdicts: _Verdicts, wanted: int
) -> dict[tuple[str, str], tuple[list[dict[str, Any]], int]]:
    """Per code: the first `wanted` visible results and how many ranked rows there were."""
    groups: dict[tuple[str, str], tuple[list[dict[str, Any]], int]] = {}
    for row in rows:
        shown, ranked = groups.get((row.system or "", row.code), ([], 0))
        if len(shown) < wanted and verdicts.visible(row.content):
            shown = [*shown, row.content]
        groups[(row.system or "", row.code)] = (shown, ranked + 1)
    return groups


def _searchset(
    base_url: str, groups: dict[Any, tuple[list[dict[str, Any]], int]]
) -> dict[str, Any]:
    entries, seen = [], set()
    for shown, _ in groups.values():
        for content in shown:
            if content["id"] in seen:
                continue
            seen.add(content["id"])
            entries.append(
                {
                    "fullUrl": f"{base_url}/Observation/{content['id']}",
                    "resource": content,
                    "search": {"mode": "match"},
                }
            )
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def trend(context: OperationContext) -> OperationResult:
    """One code's results over time, oldest first."""
    patient = _patient(context)
    value = context.text("code")
    if value is None:
        raise FhirError(400, error("required", "$trend needs a code (system|code)", "code"))
    rows = code_series(
        context.connection,
        patient,
        _code(context, value, "code"),
        start_us=_instant(context, "start", low=True),
        end_us=_instant(context, "end", low=False),
        limit=MAX_POINTS,
    )
    points = [_point(row) for row in rows if context.guard.visible("search", row.content)]
    parameters = [{"name": "code", "valueString": value}, *points]
    return OperationResult({"resourceType": "Parameters", "parameter": parameters})


def _point(row: LabResultRow) -> dict[str, Any]:
    content = row.content
    parts: list[dict[str, Any]] = []
    if isinstance(content.get("effectiveDateTime"), str):
        parts.append({"name": "time", "valueDateTime": content["effectiveDateTime"]})
    for key, item in content.items():
        if key.startswith("value") and key != "value":
            parts.append({"name": "value", key: item})
    parts.append({"name": "status", "valueCode": str(content.get("status", "unknown"))})
    reference = {"reference": f"Observation/{content['id']}"}
    parts.append({"name": "observation", "valueReference": reference})
    return {"name": "point", "part": parts}


def _patient(context: OperationContext) -> str:
    """The patient parameter's id; the caller must be allowed to see the Patient."""
    value = context.text("patient")
    if value is None:
        raise FhirError(400, error("required", "The operation needs a patient", "patient"))
    patient_id = value.removeprefix("Patient/")
    if not patient_id or "/" in patient_id:
        raise FhirError(400, error("invalid", "patient must be a Patient id", "patient"))
    read(context.connection, "Patient", patient_id, context.guard)
    return patient_id


def _code(context: OperationContext, value: Any, name: str) -> Code:
    if not isinstance(value, str) or not value.strip():
        raise FhirError(400, error("invalid", f"Parameter {name} must be [system|]code", name))
    system, bar, code = value.strip().rpartition("|")
    if not code:
        raise FhirError(400, error("invalid", f"Parameter {name} names no code", name))
    return (system or None) if bar else None, code


def _instant(context: OperationContext, name: str, *, low: bool) -> int | None:
    value = context.text(name)
    if value is None:
        return None
    try:
        low_at, high_at = parse_date_range(value)
    except ValueError as exc:
        raise FhirError(400, error("invalid", f"Parameter {name}: {exc}", name)) from exc
    return datetime_to_us(low_at if low else high_at)


OPERATIONS = [
    Operation(
        "lastn",
        "type",
        "Observation",
        lastn,
        permission="s",
        methods=("GET", "POST"),
        description="The newest results per code of a patient (FHIR R4 Observation-lastn).",
        parameters=(
            ("patient", "in", 1, "1", "string"),
            ("category", "in", 0, "1", "string"),
            ("code", "in", 0, "*", "string"),
            ("max", "in", 0, "1", "positiveInt"),
            ("return", "out", 1, "1", "Bundle"),
        ),
    ),
    Operation(
        "trend",
        "type",
        "Observation",
        trend,
        permission="s",
        methods=("GET", "POST"),
        description="One code's results of a patient over time, oldest first (a time series).",
        parameters=(
            ("patient", "in", 1, "1", "string"),
            ("code", "in", 1, "1", "string"),
            ("start", "in", 0, "1", "dateTime"),
            ("end", "in", 0, "1", "dateTime"),
            ("point", "out", 0, "*", "Parameters"),
        ),
    ),
]
