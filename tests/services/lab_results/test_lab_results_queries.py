"""$lastn and $trend: computed in the database, judged per result under the caller's guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.lab_results import CRP, HGB, observation

NOW = datetime.now(UTC)
LOINC = "http://loinc.org"


def _create(
    world: World,
    days_ago: int,
    value: float,
    analysis: tuple[str, str, str] = HGB,
    expertise: str = "CLIN",
) -> str:
    answer = world.create(
        "system", observation(CITIZEN, NOW - timedelta(days=days_ago), value, analysis, expertise)
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _lastn(world: World, persona: str, **params: str) -> list[dict[str, Any]]:
    answer = world.client.get(
        "/fhir/Observation/$lastn",
        params={"patient": CITIZEN, **params},
        headers=world.as_(persona),
    )
    assert answer.status_code == 200, answer.text
    return [e["resource"] for e in answer.json()["entry"]]


def test_lastn_gives_the_newest_per_code(world: World) -> None:
    old, new = _create(world, 300, 12.0), _create(world, 30, 13.0)
    crp = _create(world, 100, 4.0, CRP)
    found = _lastn(world, "gp")
    assert {r["id"] for r in found} == {new, crp}
    two = _lastn(world, "gp", max="2", code=f"{LOINC}|718-7")
    assert [r["id"] for r in two] == [new, old]
    expertise = "http://ehelse.no/fhir/CodeSystem/no-kodeverk-8202"
    assert _lastn(world, "gp", category=f"{expertise}|MBIO") == []
    assert {r["id"] for r in _lastn(world, "gp", category=f"{expertise}|CLIN")} == {new, crp}


def test_lastn_looks_past_results_the_citizen_may_not_see_yet(world: World) -> None:
    released = _create(world, 300, 12.0)
    held = [_create(world, n, 13.0 + n, expertise="PAT") for n in range(1, 4)]  # 14-day delay
    assert [r["id"] for r in _lastn(world, "gp")] == [held[0]]
    assert [r["id"] for r in _lastn(world, "citizen")] == [released]


def test_trend_is_oldest_first_within_the_range(world: World) -> None:
    ids = [_create(world, days, 10.0 + n) for n, days in enumerate((900, 400, 100))]
    answer = world.client.get(
        "/fhir/Observation/$trend",
        params={
            "patient": CITIZEN,
            "code": f"{LOINC}|718-7",
            "start": (NOW - timedelta(days=500)).date().isoformat(),
        },
        headers=world.as_("gp"),
    )
    assert answer.status_code == 200, answer.text
    points = [p["part"] for p in answer.json()["parameter"] if p["name"] == "point"]
    refs = [
        next(x["valueReference"]["reference"] for x in p if x["name"] == "observation")
        for p in points
    ]
    assert refs == [f"Observation/{i}" for i in ids[1:]]
    values = [next(x["valueQuantity"]["value"] for x in p if x["name"] == "value") for p in points]
    assert values == [11.0, 12.0]


def test_bad_input_is_answered_with_an_outcome(world: World) -> None:
    gp = world.as_("gp")
    assert world.client.get("/fhir/Observation/$lastn", headers=gp).status_code == 400
    missing = world.client.get("/fhir/Observation/$lastn", params={"patient": "nobody"}, headers=gp)
    assert missing.status_code == 404
    bad = world.client.get(
        "/fhir/Observation/$lastn", params={"patient": CITIZEN, "max": "0"}, headers=gp
    )
    assert bad.status_code == 400
    no_code = world.client.get("/fhir/Observation/$trend", params={"patient": CITIZEN}, headers=gp)
    assert no_code.status_code == 400
    bad_date = world.client.get(
        "/fhir/Observation/$trend",
        params={"patient": CITIZEN, "code": "718-7", "start": "yesterday"},
        headers=gp,
    )
    assert bad_date.status_code == 400
    other = world.client.get(
        "/fhir/Observation/$lastn",
        params={"patient": "persona-parent"},
        headers=world.as_("citizen"),
    )
    assert other.status_code in (403, 404)
