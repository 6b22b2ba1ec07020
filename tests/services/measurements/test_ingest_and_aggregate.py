"""Ingest of batches (a resent batch stores nothing twice; a bad entry is named while the
good ones are kept) and `Observation/$aggregate` (computed in the database, guarded)."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from services.measurements.vitals_kit import UCUM, batch, blood_pressure, vital

AGGREGATE = "/fhir/Observation/$aggregate"


def _day(day: int, pulses: list[float]) -> list[dict[str, Any]]:
    return [
        vital("pulse", value, f"2024-03-{day:02d}T{8 + hour:02d}:30:00Z")
        for hour, value in enumerate(pulses)
    ]


def _count(world: World) -> int:
    response = world.client.get(f"/fhir/Observation?subject=Patient/{CITIZEN}&_summary=count")
    return int(response.json()["total"])


def test_a_resent_batch_stores_nothing_twice(world: World) -> None:
    observations = _day(1, [70, 72, 90]) + _day(2, [60])
    first = world.client.post("/fhir", json=batch(observations), headers=FHIR_JSON)
    assert [e["response"]["status"][:3] for e in first.json()["entry"]] == ["201"] * 4
    before = _count(world)
    again = world.client.post("/fhir", json=batch(observations[::-1]), headers=FHIR_JSON)
    assert [e["response"]["status"][:3] for e in again.json()["entry"]] == ["200"] * 4
    assert _count(world) == before
    locations = {e["response"]["location"] for e in first.json()["entry"]}
    assert {e["response"]["location"] for e in again.json()["entry"]} == locations


def test_a_bad_entry_is_named_and_the_good_ones_kept(world: World) -> None:
    observations = _day(3, [70, 71])
    observations[1]["status"] = "not-a-status"
    response = world.client.post("/fhir", json=batch(observations), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    statuses = [e["response"]["status"][:3] for e in response.json()["entry"]]
    assert statuses[0] == "201" and statuses[1].startswith("4")
    transaction = {**batch(_day(4, [70, 71])), "type": "transaction"}
    transaction["entry"][1]["resource"]["status"] = "not-a-status"
    refused = world.client.post("/fhir", json=transaction, headers=FHIR_JSON)
    assert refused.status_code >= 400
    assert _aggregate(world, "2024-03-04", "2024-03-05", "day") == []


def _aggregate(world: World, start: str, end: str, interval: str, persona: str = "gp") -> Any:
    query = {
        "patient": f"Patient/{CITIZEN}",
        "code": "http://loinc.org|8867-4",
        "start": start,
        "end": end,
        "interval": interval,
    }
    response = world.client.get(AGGREGATE, params=query, headers=world.as_(persona))
    assert response.status_code == 200, response.text
    return [
        {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in i["part"]}
        for i in response.json()["parameter"]
        if i["name"] == "interval"
    ]


def test_daily_and_hourly_aggregates(world: World) -> None:
    # out of order on purpose: day 2 first
    observations = _day(2, [60]) + _day(1, [70, 72, 90]) + _day(9, [100, 50])
    world.client.post("/fhir", json=batch(observations), headers=FHIR_JSON)
    days = _aggregate(world, "2024-03-01", "2024-03-08", "day")
    # a date without a time is the Norwegian day (Europe/Oslo), as in FHIR search
    assert [(d["start"][:16], d["count"], d["min"], d["max"], d["last"]) for d in days] == [
        ("2024-02-29T23:00", 3, 70, 90, 90),
        ("2024-03-01T23:00", 1, 60, 60, 60),
    ]
    assert days[0]["mean"] == pytest.approx(77.333333)
    assert days[0]["lastEffective"].startswith("2024-03-01T10:30:00")
    assert days[0]["unit"] == "/min"
    weeks = _aggregate(world, "2024-03-01", "2024-03-15", "week")
    assert [(w["count"], w["min"], w["max"], w["last"]) for w in weeks] == [
        (4, 60, 90, 60),
        (2, 50, 100, 50),
    ]
    hours = _aggregate(world, "2024-03-01T09:00:00Z", "2024-03-01T11:00:00Z", "hour")
    assert [(h["start"][11:16], h["count"]) for h in hours] == [("09:00", 1), ("10:00", 1)]


def test_aggregates_leave_out_other_patients_and_other_codes(world: World) -> None:
    other = [vital("pulse", 200, "2024-03-01T08:00:00Z", patient="persona-child")]
    weight = [vital("weight", 80, "2024-03-01T08:00:00Z")]
    world.client.post("/fhir", json=batch(_day(1, [70]) + other + weight), headers=FHIR_JSON)
    days = _aggregate(world, "2024-03-01", "2024-03-02", "day")
    assert [(d["count"], d["max"]) for d in days] == [(1, 70)]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"code": "8867-4", "start": "2024-03-01", "end": "2024-03-02"}, 400),
        ({"patient": f"Patient/{CITIZEN}", "start": "2024-03-01", "end": "2024-03-02"}, 400),
        ({"patient": f"Patient/{CITIZEN}", "code": "8867-4", "start": "2024-03-01",
          "end": "2024-03-02", "interval": "minute"}, 400),
        ({"patient": f"Patient/{CITIZEN}", "code": "8867-4", "start": "2024-03-02",
          "end": "2024-03-01"}, 400),
        ({"patient": f"Patient/{CITIZEN}", "code": "8867-4", "start": "yesterday",
          "end": "2024-03-01"}, 400),
        ({"patient": "Patient/nobody", "code": "8867-4", "start": "2024-03-01",
          "end": "2024-03-02"}, 404),
    ],
)  # fmt: skip
def test_bad_aggregate_requests(world: World, query: dict[str, str], status: int) -> None:
    response = world.client.get(AGGREGATE, params=query, headers=world.as_("gp"))
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_citizen_aggregates_only_their_own_measurements(world: World) -> None:
    world.client.post("/fhir", json=batch(_day(1, [70])), headers=FHIR_JSON)
    own = _aggregate(world, "2024-03-01", "2024-03-02", "day", persona="citizen")
    assert [d["count"] for d in own] == [1]
    query = {"patient": "Patient/persona-parent", "code": "8867-4",
             "start": "2024-03-01", "end": "2024-03-02"}  # fmt: skip
    other = world.client.get(AGGREGATE, params=query, headers=world.as_("citizen"))
    assert other.status_code in (403, 404), other.text


def _pressure(world: World, code: str, start: str, end: str) -> Any:
    query = {"patient": f"Patient/{CITIZEN}", "code": code, "start": start, "end": end}
    response = world.client.get(AGGREGATE, params=query, headers=world.as_("gp"))
    assert response.status_code == 200, response.text
    return [
        {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in i["part"]}
        for i in response.json()["parameter"]
        if i["name"] == "interval"
    ]


def test_component_values_of_panels_are_aggregated(world: World) -> None:
    readings = ((8, 120, 80), (12, 141.5, 92), (18, 130, 85))
    panels = [blood_pressure(s, d, f"2024-03-01T{hour:02d}:00:00Z") for hour, s, d in readings]
    alone = vital("pulse", 0, "2024-03-02T08:00:00Z")  # a systolic measured on its own
    alone["code"] = {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}
    alone["identifier"][0]["value"] = "meter-1/8480-6/2024-03-02T08:00:00Z"
    alone["valueQuantity"] = {"value": 150, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}
    posted = world.client.post("/fhir", json=batch([*panels, alone]), headers=FHIR_JSON)
    assert [e["response"]["status"][:3] for e in posted.json()["entry"]] == ["201"] * 4
    systolic = _pressure(world, "http://loinc.org|8480-6", "2024-03-01", "2024-03-03")
    assert [(d["count"], d["min"], d["max"], d["last"], d["unit"]) for d in systolic] == [
        (3, 120, 141.5, 130, "mm[Hg]"),
        (1, 150, 150, 150, "mm[Hg]"),
    ]
    assert systolic[0]["mean"] == pytest.approx(130.5)
    assert systolic[0]["lastEffective"].startswith("2024-03-01T18:00:00")
    diastolic = _pressure(world, "8462-4", "2024-03-01", "2024-03-03")  # code without system
    assert [(d["count"], d["min"], d["max"], d["last"]) for d in diastolic] == [(3, 80, 92, 85)]
    assert _pressure(world, "http://snomed.info/sct|8480-6", "2024-03-01", "2024-03-03") == []
    # the panel's own code has no value: nothing to aggregate
    assert _pressure(world, "http://loinc.org|85354-9", "2024-03-01", "2024-03-03") == []
