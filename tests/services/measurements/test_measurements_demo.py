"""The demo population's home-monitoring measurements: deterministic, a few of the elderly,
and stored and aggregated like any measurement system's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from samhandling.demo.people import PeopleBuilder, generate_households
from samhandling.demo.register_build import build_register
from samhandling.demo.register_resources import transaction
from samhandling.services.measurements.demo import home_monitoring

ANCHOR = dt.date(2026, 1, 1)


def _monitored(seed: int, households: int = 200) -> list[tuple[Any, list[dict[str, Any]]]]:
    register = build_register()
    builder = PeopleBuilder(f"test:{seed}", f"demo-{seed}-", register, ANCHOR)
    people = [p for household in generate_households(builder, households) for p in household]
    return [(p, home_monitoring(p, register, seed, ANCHOR)) for p in people]


def test_a_few_of_the_elderly_are_monitored_deterministically() -> None:
    first = _monitored(3)
    assert first == _monitored(3)
    monitored = [(p, entries) for p, entries in first if entries]
    assert 1 <= len(monitored) <= len(first) // 10
    for person, entries in monitored:
        assert (ANCHOR - person.birth).days >= 65 * 365
        assert len(entries) == 7 * 2 * 3  # a week, morning and evening, three measurements
        assert {e["subject"]["reference"] for e in entries} == {f"Patient/{person.id}"}
        assert max(e["effectiveDateTime"] for e in entries) < ANCHOR.isoformat()


def test_demo_measurements_are_stored_and_aggregated(world: World) -> None:
    entries = next(entries for _, entries in _monitored(4) if entries)
    for entry in entries:  # the same week, for the test world's citizen
        entry["subject"] = {"reference": f"Patient/{CITIZEN}"}
    stored = world.client.post("/fhir", json=transaction(entries), headers=FHIR_JSON)
    assert stored.status_code == 200, stored.text
    query = {
        "patient": f"Patient/{CITIZEN}",
        "code": "http://loinc.org|8480-6",
        "start": "2025-12-25T00:00:00Z",
        "end": "2026-01-01T00:00:00Z",
    }
    response = world.client.get(
        "/fhir/Observation/$aggregate", params=query, headers=world.as_("gp")
    )
    assert response.status_code == 200, response.text
    counts = [
        next(p["valueInteger"] for p in i["part"] if p["name"] == "count")
        for i in response.json()["parameter"]
        if i["name"] == "interval"
    ]
    assert counts == [2] * 7
