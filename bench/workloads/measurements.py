"""Measurement ingest (issue #20): batch Bundles of vital signs, as a measurement system
(a municipality's welfare-technology platform) posts them, as the `system` persona.

Each request is a `batch` Bundle of `BATCH` vital-signs Observations (pulse, SpO2,
respiration rate, temperature and the blood-pressure panel with its two components, in
turn) for `PATIENTS_PER_BATCH` citizens of the demo population, each naming its measuring
`Device` (by identifier) and carrying the identifier that names the measurement
(`device/code/effective time`), POSTed conditionally on it (`ifNoneExist`), so a resent
batch would store nothing twice (docs/MEASUREMENTS.md). Every measurement is new: the
effective times count on from a fixed start per load-generator process. `Prefer:
return=minimal`, as a bulk sender would. Throughput is counted in measurements (entries)
per second; the issue's target is >= 5,000/s on one server core (PostgreSQL). A response
must answer 201 for every entry.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from typing import Any

import orjson

from bench.http_client import Response
from bench.workloads.base import JSON_HEADERS, Prepared, Request, SimpleSource

BATCH = 100
PATIENTS_PER_BATCH = 10
HEADERS = {**JSON_HEADERS, "Prefer": "return=minimal"}
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MEASUREMENT_IDS = "urn:example:home-monitoring:measurement"
DEVICE_IDS = "urn:example:home-monitoring:device"
CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
        }
    ]
}
# LOINC code, display, UCUM unit, low, spread
VITALS = (
    ("8867-4", "Heart rate", "/min", 55, 40),
    ("59408-5", "Oxygen saturation by pulse oximetry", "%", 90, 10),
    ("9279-1", "Respiratory rate", "/min", 10, 14),
    ("8310-5", "Body temperature", "Cel", 36, 3),
    ("85354-9", "Blood pressure panel", "mm[Hg]", 100, 60),
)


def prepare(engine: Any, *, patients: int = 1000, seed: int = 20) -> Prepared:
    """Sample citizens of the demo population to measure."""
    from sqlalchemy import select

    from samhandling.store.schema import resource

    with engine.connect() as connection:
        ids = (
            connection.execute(
                select(resource.c.resource_id).where(
                    resource.c.resource_type == "Patient", resource.c.resource_id.like("demo-%")
                )
            )
            .scalars()
            .all()
        )
    if not ids:
        raise RuntimeError("no citizen: load the demo population")
    chosen = random.Random(seed).sample(sorted(ids), min(patients, len(ids)))
    return Prepared({"patients": chosen}, {"patients_sampled": len(chosen), "batch": BATCH})


class MeasurementSource(SimpleSource):
    def __init__(self, params: dict[str, Any], rng: random.Random) -> None:
        super().__init__(params, rng)
        self.start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=365)
        # A device name no other run shares, so measurements are never duplicates: not
        # from `rng`, whose seed is the same in every run (two runs a multiple of five
        # seconds apart on one database named the same measurements: a few entries 200).
        self.run = f"{time.time_ns():x}"
        self.counter = itertools.count()

    def next_request(self) -> Request | None:
        per_patient = BATCH // PATIENTS_PER_BATCH
        entries = []
        for patient in self.rng.sample(self.params["patients"], PATIENTS_PER_BATCH):
            device = f"{self.run}-{patient}"
            for _ in range(per_patient):
                n = next(self.counter)
                entries.append(self._entry(patient, device, n))
        body = orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries})
        return Request("ingest", "POST", "/fhir", body, HEADERS, units=len(entries))

    def _entry(self, patient: str, device: str, n: int) -> dict[str, Any]:
        code, display, unit, low, spread = VITALS[n % len(VITALS)]
        at = (self.start + dt.timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        identifier = f"{device}/{code}/{at}"
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "identifier": [{"system": MEASUREMENT_IDS, "value": identifier}],
            "status": "final",
            "category": [CATEGORY],
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "subject": {"reference": f"Patient/{patient}"},
            "effectiveDateTime": at,
            "device": {"identifier": {"system": DEVICE_IDS, "value": device}},
        }
        value = round(low + self.rng.random() * spread, 1)
        if code == "85354-9":
            observation["component"] = [
                _component("8480-6", value), _component("8462-4", round(value * 0.6))
            ]  # fmt: skip
        else:
            observation["valueQuantity"] = _quantity(value, unit)
        request = {
            "method": "POST",
            "url": "Observation",
            "ifNoneExist": f"identifier={MEASUREMENT_IDS}|{identifier}",
        }
        return {"resource": observation, "request": request}

    def on_response(self, request: Request, response: Response) -> str | None:
        if response.status != 200:
            return f"HTTP {response.status}"
        created = response.body.count(b'"201')
        if created != request.units:
            return f"{created} of {request.units} entries created"
        return None


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _component(code: str, value: float) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "valueQuantity": _quantity(value, "mm[Hg]"),
    }


def make_source(params: dict[str, Any], rng: random.Random) -> MeasurementSource:
    return MeasurementSource(params, rng)
