"""Lab histories for the demo population: about a third of the adults have some.

Each history is one to five routine chemistry reports (a DiagnosticReport of Volven 8202
`LAB` with its result Observations, category `CLIN`), issued between a month and five years
before the anchor date by the health trust of the person's home (the performing
laboratory, by organisation number), coded in NLK (the national code list) and LOINC, with
UCUM units, reference ranges and H/L flags. Deterministic per seed and person; the personas
get none (tests add their own).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from samhandling.demo.people import Person
from samhandling.demo.register_model import Register
from samhandling.identifiers.identifier_systems import ORGANISATION_NUMBER_SYSTEM
from samhandling.services.lab_results.write_rules import EXPERTISE_8202

LOINC = "http://loinc.org"
NLK = "http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
Entry = dict[str, Any]

# (LOINC code, display, unit, reference low, high, typical spread)
ANALYSES: tuple[tuple[str, str, str, float, float, float], ...] = (
    ("718-7", "Hemoglobin", "g/dL", 11.7, 15.3, 1.6),
    ("1988-5", "C-reaktivt protein", "mg/L", 0.0, 5.0, 6.0),
    ("2160-0", "Kreatinin", "umol/L", 45.0, 105.0, 18.0),
    ("4548-4", "HbA1c", "%", 4.0, 6.0, 0.8),
)
#: The same analyses in NLK (code, Norwegian usage name), by LOINC code.
NLK_CODES = {
    "718-7": ("NOR05172", "B-Hemoglobin"),
    "1988-5": ("NPU19748", "P-CRP"),
    "2160-0": ("NPU18016", "P-Kreatinin"),
    "4548-4": ("NPU29296", "B-HbA1c"),
}


def lab_histories(person: Person, register: Register, seed: int, anchor: dt.date) -> list[Entry]:
    """The person's lab reports and results (usually none for children)."""
    rng = random.Random(f"samhandling-demo-lab:{seed}:{person.id}")
    adult = (anchor - person.birth).days >= 18 * 365
    if person.id.startswith("persona-") or not adult or rng.random() >= 0.33:
        return []
    orgnr = _laboratory(person, register)
    entries: list[Entry] = []
    for number in range(rng.randint(1, 5)):
        days = rng.randrange(30, 5 * 365)
        issued = dt.datetime.combine(anchor, dt.time(10), dt.UTC) - dt.timedelta(days=days)
        entries += _report(rng, person.id, f"lab-{person.id}-{number}", orgnr, issued)
    return entries


def _laboratory(person: Person, register: Register) -> str:
    trusts = [o for o in register.organisations if o.kind == "hf" and o.orgnr]
    local = [o for o in trusts if o.kommune == person.home.kommune]
    chosen = (local or trusts)[0].orgnr
    assert chosen is not None
    return chosen


def _report(
    rng: random.Random, patient: str, rid: str, orgnr: str, issued: dt.datetime
) -> list[Entry]:
    collected = (issued - dt.timedelta(hours=rng.randint(4, 30))).isoformat(timespec="seconds")
    common = {
        "status": "final",
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": collected,
        "issued": issued.isoformat(timespec="seconds"),
        "performer": [{"identifier": {"system": ORGANISATION_NUMBER_SYSTEM, "value": orgnr}}],
    }
    chosen = rng.sample(ANALYSES, k=rng.randint(2, len(ANALYSES)))
    results = [_result(rng, f"{rid}-{n}", analysis, common) for n, analysis in enumerate(chosen)]
    report = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "category": [_concept(EXPERTISE_8202, "LAB", "Laboratoriemedisin")],
        "code": {"text": "Medisinsk biokjemi"},
        **common,
        "result": [{"reference": f"Observation/{r['id']}"} for r in results],
    }
    return [report, *results]


def _result(
    rng: random.Random, rid: str, analysis: tuple[str, str, str, float, float, float], common: Entry
) -> Entry:
    code, display, unit, low, high, spread = analysis
    value = round(max(0.0, rng.gauss((low + high) / 2, spread)), 1)
    flag = "H" if value > high else "L" if value < low else "N"
    quantity = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return {
        "resourceType": "Observation",
        "id": rid,
        "category": [_concept(EXPERTISE_8202, "CLIN", "Medisinsk biokjemi")],
        "code": {
            "coding": [
                {"system": NLK, "code": NLK_CODES[code][0], "display": NLK_CODES[code][1]},
                *_concept(LOINC, code, display)["coding"],
            ]
        },
        **common,
        "valueQuantity": quantity,
        "interpretation": [_concept(INTERPRETATION, flag)],
        "referenceRange": [
            {
                "low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
                "high": {"value": high, "unit": unit, "system": UCUM, "code": unit},
            }
        ],
    }


def _concept(system: str, code: str, display: str | None = None) -> Entry:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {"coding": [coding]}
