"""Home-monitoring measurements for the demo population: about one in ten adults of 65 or
more is followed at home.

Each of them has a week of morning and evening measurements ending the day before the
anchor date: pulse, SpO2 and the blood-pressure panel (systolic and diastolic components),
as a municipality's welfare-technology system sends them (category `vital-signs`, LOINC,
UCUM, the measuring device by identifier, the measurement's own identifier). Deterministic
per seed and person; the personas get none (tests add their own).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from samhandling.demo.people import Person
from samhandling.demo.register_model import Register

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MEASUREMENT_IDS = "https://samhandling.no/fhir/sid/demo-home-monitoring"
DEVICE_IDS = "https://samhandling.no/fhir/sid/demo-home-monitoring-device"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DAYS = 7
TIMES = (dt.time(8), dt.time(20))  # UTC
Entry = dict[str, Any]


def home_monitoring(person: Person, register: Register, seed: int, anchor: dt.date) -> list[Entry]:
    """The person's week of measurements (most people have none)."""
    rng = random.Random(f"samhandling-demo-measurements:{seed}:{person.id}")
    elderly = (anchor - person.birth).days >= 65 * 365
    if person.id.startswith("persona-") or not elderly or rng.random() >= 0.1:
        return []
    device = f"{person.id}-meter"
    pulse, spo2, systolic = rng.gauss(72, 8), rng.gauss(95, 1.5), rng.gauss(140, 12)
    entries: list[Entry] = []
    for day in range(DAYS, 0, -1):
        for at in TIMES:
            moment = dt.datetime.combine(anchor - dt.timedelta(days=day), at, dt.UTC)
            taken = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            values = (
                ("8867-4", "Heart rate", "/min", round(pulse + rng.gauss(0, 5))),
                ("59408-5", "Oxygen saturation", "%", min(100, round(spo2 + rng.gauss(0, 1)))),
            )
            for code, display, unit, value in values:
                entries.append(_vital(person.id, device, taken, code, display))
                entries[-1]["valueQuantity"] = _quantity(value, unit)
            panel = _vital(person.id, device, taken, "85354-9", "Blood pressure panel")
            high = round(systolic + rng.gauss(0, 8))
            panel["component"] = [
                _component("8480-6", "Systolic blood pressure", high),
                _component("8462-4", "Diastolic blood pressure", round(high * 0.6)),
            ]
            entries.append(panel)
    return entries


def _vital(patient: str, device: str, taken: str, code: str, display: str) -> Entry:
    stamp = taken.replace("-", "").replace(":", "")
    return {
        "resourceType": "Observation",
        "id": f"hm-{patient}-{code}-{stamp}".lower(),
        "identifier": [{"system": MEASUREMENT_IDS, "value": f"{device}/{code}/{taken}"}],
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": taken,
        "device": {"identifier": {"system": DEVICE_IDS, "value": device}},
    }


def _quantity(value: float, unit: str) -> Entry:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _component(code: str, display: str, value: float) -> Entry:
    return {
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "valueQuantity": _quantity(value, "mm[Hg]"),
    }
