"""Typical searches, with values taken from the stored data.

Per sampled patient: the searches an EPJ or an app makes for one patient (observations by
code, by code in a date range, vital signs since a date, conditions, encounters since a
date, active prescriptions, the patient's everything as the compartment search
`Patient/x/*`, observations by code chained on the patient's identifier), patient lookups
by identifier, family name, name prefix, birth year and gender, and two broad searches (an
Observation code, and a Condition code with `_count=50`, across all patients). Each
request picks one of these at random: first a query shape uniformly, then one of its
values. The `op` of a request is its shape, so the result has percentiles per shape.
Every search answers a searchset Bundle with `total` and up to 50 entries (the default
page).
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import urlencode

import orjson

from bench.workloads.base import Prepared, Request, SimpleSource

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
SSN = "http://hl7.org/fhir/sid/us-ssn"
# The search issue's typical clinical searches (goal: p50 < 50 ms, p99 < 200 ms).
TYPICAL_SHAPES = (
    "Observation?patient&code&date",
    "Patient/*",
    "Condition?code&_count=50",
    "Observation?subject:Patient.identifier&code",
)


def prepare(engine: Any, *, patients: int = 50) -> Prepared:
    from sqlalchemy import func, select

    from samhandling.store.schema import index_token, resource

    with engine.connect() as connection:
        rows = connection.execute(
            select(resource.c.resource_id, resource.c.content)
            .where(resource.c.resource_type == "Patient", resource.c.deleted.is_(False))
            .order_by(resource.c.resource_id)
            .limit(patients)
        ).all()
        codes = connection.execute(
            select(index_token.c.code, func.count().label("n"))
            .where(
                index_token.c.resource_type == "Observation",
                index_token.c.param == "code",
                index_token.c.system == LOINC,
            )
            .group_by(index_token.c.code)
            .order_by(func.count().desc(), index_token.c.code)
            .limit(10)
        ).all()
        conditions = connection.execute(
            select(index_token.c.code, func.count().label("n"))
            .where(
                index_token.c.resource_type == "Condition",
                index_token.c.param == "code",
                index_token.c.system == SNOMED,
            )
            .group_by(index_token.c.code)
            .order_by(func.count().desc(), index_token.c.code)
            .limit(10)
        ).all()
    if not rows or not codes:
        raise RuntimeError("no patients or observation codes to search for")
    code_list = [c.code for c in codes]
    queries: list[list[str]] = []
    for i, row in enumerate(rows):
        patient = orjson.loads(row.content)
        queries.extend(_patient_queries(row.resource_id, patient, code_list[i % len(code_list)]))
    for code in code_list:
        queries.append(["Observation?code", _path("Observation", [("code", f"{LOINC}|{code}")])])
    for row in conditions:
        items = [("code", f"{SNOMED}|{row.code}"), ("_count", "50")]
        queries.append(["Condition?code&_count=50", _path("Condition", items)])
    shapes = sorted({name for name, _ in queries})
    notes = {"queries": len(queries), "shapes": shapes, "patients": len(rows)}
    return Prepared({"queries": queries}, notes)


def _path(rtype: str, items: list[tuple[str, str]]) -> str:
    return f"/fhir/{rtype}?{urlencode(items)}"


def _patient_queries(pid: str, patient: dict[str, Any], code: str) -> list[list[str]]:
    ref = f"Patient/{pid}"
    dated = [("patient", ref), ("code", code), ("date", "ge2015-01-01"), ("date", "le2020-12-31")]
    queries = [
        ["Observation?patient&code", _path("Observation", [("patient", ref), ("code", code)])],
        ["Observation?patient&code&date", _path("Observation", dated)],
        ["Patient/*", f"/fhir/{ref}/*"],
        [
            "Observation?patient&category&date",
            _path(
                "Observation",
                [("patient", ref), ("category", "vital-signs"), ("date", "ge2015-01-01")],
            ),
        ],
        ["Condition?patient", _path("Condition", [("patient", ref)])],
        ["Encounter?patient&date", _path("Encounter", [("patient", ref), ("date", "ge2010")])],
        [
            "MedicationRequest?patient&status",
            _path("MedicationRequest", [("patient", ref), ("status", "active")]),
        ],
    ]
    family = (patient.get("name") or [{}])[0].get("family")
    if family:
        queries.append(["Patient?family", _path("Patient", [("family", family)])])
        queries.append(["Patient?name(prefix)", _path("Patient", [("name", family[:3])])])
    for identifier in patient.get("identifier", []):
        if identifier.get("system") == SSN:
            token = f"{identifier['system']}|{identifier['value']}"
            queries.append(["Patient?identifier", _path("Patient", [("identifier", token)])])
            chained = [("subject:Patient.identifier", token), ("code", code)]
            queries.append(
                ["Observation?subject:Patient.identifier&code", _path("Observation", chained)]
            )
    birth, gender = patient.get("birthDate"), patient.get("gender")
    if birth and gender:
        items = [("birthdate", birth[:4]), ("gender", gender)]
        queries.append(["Patient?birthdate&gender", _path("Patient", items)])
    return queries


class SearchSource(SimpleSource):
    def __init__(self, params: dict[str, Any], rng: random.Random) -> None:
        super().__init__(params, rng)
        self.by_shape: dict[str, list[str]] = {}
        for name, path in params["queries"]:
            self.by_shape.setdefault(name, []).append(path)
        self.shapes = sorted(self.by_shape)

    def next_request(self) -> Request | None:
        name = self.rng.choice(self.shapes)
        return Request(name, "GET", self.rng.choice(self.by_shape[name]))


def make_source(params: dict[str, Any], rng: random.Random) -> SearchSource:
    return SearchSource(params, rng)
