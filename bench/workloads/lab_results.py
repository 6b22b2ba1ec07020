"""Lab results (issue #19): the clinician's two typical questions, as a GP (purpose TREAT).

* `lastn`: `GET Observation/$lastn?patient=x`, the newest result of every code the
  patient has (a searchset); 200.
* `trend`: `GET Observation/$trend?patient=x&code=system|code&start=<five years ago>`, one
  code's values over five years, oldest first (Parameters); 200.

Half and half, for patients with a lab history (the demo population's: `samhandling demo`
or `bench.population`), each trend for a code that patient has. Run with `--database`.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from urllib.parse import quote

import orjson

from bench.workloads.base import Prepared, Request, SimpleSource

PERSONA = "gp"
#: issue #19: each p50 < 30 ms on one core at 10,000 patients with lab histories
TARGETS = {"lastn": 30.0, "trend": 30.0}  # op -> p50 limit in ms
TREND_YEARS = 5


def prepare(engine: Any, *, patients: int = 2000, seed: int = 19) -> Prepared:
    """Sample patients with lab results and, for each, the codes of their results."""
    from sqlalchemy import select

    from samhandling.store.schema import compartment, resource

    with engine.connect() as connection:
        ids = (
            connection.execute(
                select(compartment.c.patient_id)
                .where(compartment.c.resource_type == "DiagnosticReport")
                .distinct()
            )
            .scalars()
            .all()
        )
        chosen = random.Random(seed).sample(sorted(ids), min(patients, len(ids)))
        rows = connection.execute(
            select(compartment.c.patient_id, resource.c.content)
            .join(
                resource,
                (resource.c.resource_type == compartment.c.resource_type)
                & (resource.c.resource_id == compartment.c.resource_id),
            )
            .where(
                compartment.c.resource_type == "Observation",
                compartment.c.patient_id.in_(chosen),
            )
        ).all()
    codes: dict[str, set[str]] = {}
    for patient, content in rows:
        for coding in orjson.loads(bytes(content)).get("code", {}).get("coding", []):
            codes.setdefault(patient, set()).add(f"{coding.get('system', '')}|{coding['code']}")
    if not codes:
        raise RuntimeError("no patient has lab results: load the demo population")
    start = (dt.date.today() - dt.timedelta(days=365 * TREND_YEARS)).isoformat()
    notes = {"patients_with_lab_reports": len(ids), "patients_sampled": len(codes)}
    params = {"patients": sorted([p, sorted(c)] for p, c in codes.items()), "start": start}
    return Prepared(params, notes, persona=PERSONA)


class LabResultsSource(SimpleSource):
    def next_request(self) -> Request | None:
        patient, codes = self.rng.choice(self.params["patients"])
        if self.rng.random() < 0.5:
            return Request("lastn", "GET", f"/fhir/Observation/$lastn?patient={patient}")
        code = quote(self.rng.choice(codes), safe="")
        query = f"patient={patient}&code={code}&start={self.params['start']}"
        return Request("trend", "GET", f"/fhir/Observation/$trend?{query}")


def make_source(params: dict[str, Any], rng: random.Random) -> LabResultsSource:
    return LabResultsSource(params, rng)
