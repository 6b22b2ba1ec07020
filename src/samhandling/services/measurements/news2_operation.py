"""`POST Patient/{id}/$news2`: compute NEWS2 from a set of vital signs taken together.

The caller names the set: `observation` references (repeatable), each a vital sign or a
panel whose `hasMember` lists them; `spo2Scale` (1, or 2 for hypercapnic respiratory
failure) and `supplementalOxygen` when no inhaled-oxygen observation says it. The inputs
are read as the caller may read them, must be the patient's and effective within one hour
of each other. The score is stored through `crud.create` as an Observation `derivedFrom`
its inputs, conditionally on an identifier made of the inputs' versions, so asking twice
stores one score and raises one alert (`alerts`).
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.fhir_dates import parse_date
from samhandling.fhir.instants import datetime_to_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.read import read
from samhandling.services.measurements import alerts, news2, vitals
from samhandling.services.measurements.score_resource import (
    INPUTS_SYSTEM,
    score_observation,
)

WINDOW_US = 3_600_000_000  # the inputs of one score are taken within an hour
MAX_INPUTS = 20


def compute_news2(context: OperationContext) -> OperationResult:
    """Compute, store and (on a crossing) alert."""
    patient_id = context.resource_id
    assert patient_id is not None
    read(context.connection, "Patient", patient_id, context.guard)
    inputs = _inputs(context, patient_id)
    scale = context.integer("spo2Scale", 1, 2) or 1
    found: dict[str, Any] = {}
    for observation in inputs:
        found.update(vitals.signs_of(observation))
    signs = _vital_signs(context, found, scale)
    effective = _effective(inputs)
    references = [_versioned(o) for o in inputs]
    result = news2.score(signs)
    body = score_observation(patient_id, result, effective, references, scale)
    key = body["identifier"][0]["value"]
    written = crud.create(context.writer, body, if_none_exist=f"identifier={INPUTS_SYSTEM}|{key}")
    score = written.version.resource()
    parameters: list[dict[str, Any]] = [{"name": "score", "resource": score}]
    if written.status == 201:
        previous = alerts.previous_risk(context, patient_id, effective)
        if alerts.crosses(previous, result.risk):
            alert = alerts.raise_alert(context, score, result.risk)
            parameters.append({"name": "alert", "resource": alert})
    return OperationResult({"resourceType": "Parameters", "parameter": parameters}, written.status)


def _inputs(context: OperationContext, patient_id: str) -> list[dict[str, Any]]:
    """The named Observations (and the members of named panels), read under the guard."""
    named = [_observation_id(v) for v in context.parameters.get("observation", [])]
    if not named:
        raise FhirError(400, error("required", "Name the vital signs: observation", "observation"))
    found: dict[str, dict[str, Any]] = {}
    while named:
        rid = named.pop(0)
        if rid in found:
            continue
        if len(found) >= MAX_INPUTS:
            raise FhirError(422, error("too-costly", f"At most {MAX_INPUTS} observations"))
        observation = read(context.connection, "Observation", rid, context.guard).resource()
        if (observation.get("subject") or {}).get("reference") != f"Patient/{patient_id}":
            message = f"Observation/{rid} is not about Patient/{patient_id}"
            raise FhirError(422, error("business-rule", message, "observation"))
        found[rid] = observation
        named += [_observation_id(m) for m in observation.get("hasMember", [])]
    return list(found.values())


def _observation_id(value: Any) -> str:
    reference = value.get("reference") if isinstance(value, dict) else value
    kind, _, rid = str(reference or "").partition("/")
    if kind != "Observation" or not rid or "/" in rid:
        message = f"Not a reference to an Observation of this server: {reference!r}"
        raise FhirError(400, error("invalid", message, "observation"))
    return rid


def _vital_signs(context: OperationContext, found: dict[str, Any], scale: int) -> news2.VitalSigns:
    missing = [
        sign.title for sign in vitals.SIGNS if sign.key in vitals.REQUIRED and sign.key not in found
    ]
    oxygen = vitals.on_oxygen(found)
    if oxygen is None:
        if context.parameter("supplementalOxygen") is None:
            missing.append("air or oxygen (an inhaled-oxygen observation or supplementalOxygen)")
        oxygen = context.boolean("supplementalOxygen")
    if missing:
        message = "NEWS2 needs every parameter; missing: " + ", ".join(missing)
        raise FhirError(422, error("required", message, "observation"))
    return news2.VitalSigns(
        respiration=found["respiration"], spo2=found["spo2"], on_oxygen=oxygen,
        systolic=found["systolic"], pulse=found["pulse"],
        consciousness=found["consciousness"], temperature=found["temperature"],
        spo2_scale=scale,
    )  # fmt: skip


def _effective(inputs: list[dict[str, Any]]) -> str:
    """The latest effective time of the inputs, which must lie within `WINDOW_US`."""
    times: list[tuple[int, str]] = []
    for observation in inputs:
        text = observation.get("effectiveDateTime") or observation.get("effectiveInstant")
        text = text or (observation.get("effectivePeriod") or {}).get("start")
        if not isinstance(text, str):
            message = f"Observation/{observation['id']} has no effective time"
            raise FhirError(422, error("required", message, "observation"))
        times.append((datetime_to_us(parse_date(text).low), text))
    times.sort()
    if times[-1][0] - times[0][0] > WINDOW_US:
        message = "The vital signs of one NEWS2 score must be taken within an hour of each other"
        raise FhirError(422, error("business-rule", message, "observation"))
    return times[-1][1]


def _versioned(observation: dict[str, Any]) -> str:
    return f"Observation/{observation['id']}/_history/{observation['meta']['versionId']}"


OPERATIONS = [
    Operation(
        "news2",
        "instance",
        "Patient",
        compute_news2,
        permission="c",
        writes=True,
        description=(
            "Compute the National Early Warning Score 2 from a set of vital signs, store it "
            "as an Observation derived from them and raise an alert on a threshold crossing."
        ),
        parameters=(
            ("observation", "in", 1, "*", "Reference"),
            ("spo2Scale", "in", 0, "1", "integer"),
            ("supplementalOxygen", "in", 0, "1", "boolean"),
            ("score", "out", 1, "1", "Observation"),
            ("alert", "out", 0, "1", "Communication"),
        ),
    )
]
