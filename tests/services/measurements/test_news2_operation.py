"""`Patient/{id}/$news2`: computed from stored vital signs, stored derived from them, an
alert raised exactly once per crossing into a higher risk."""

from __future__ import annotations

from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from services.measurements.vitals_kit import batch, vital, vital_set

NEWS2 = f"/fhir/Patient/{CITIZEN}/$news2"


def _store(world: World, observations: list[dict[str, Any]]) -> list[str]:
    response = world.client.post("/fhir", json=batch(observations), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert all(s.startswith(("200", "201")) for s in statuses), response.text
    return [e["response"]["location"].split("/_history")[0] for e in response.json()["entry"]]


def _news2(world: World, references: list[str], **extra: Any) -> Any:
    parameters = [{"name": "observation", "valueReference": {"reference": r}} for r in references]
    parameters += [{"name": k, **v} for k, v in extra.items()]
    body = {"resourceType": "Parameters", "parameter": parameters}
    return world.client.post(NEWS2, json=body, headers={**FHIR_JSON, **world.as_("gp")})


def _score(world: World, at: str, *signs: Any, **extra: Any) -> tuple[int, dict[str, Any]]:
    response = _news2(world, _store(world, vital_set(at, *signs)), **extra)
    assert response.status_code in (200, 201), response.text
    found = {p["name"]: p["resource"] for p in response.json()["parameter"]}
    return response.status_code, found


def _alerts(world: World) -> list[dict[str, Any]]:
    response = world.client.get(f"/fhir/Communication?subject=Patient/{CITIZEN}&category=alert")
    return [e["resource"] for e in response.json().get("entry", [])]


def test_a_score_is_stored_derived_from_its_inputs(world: World) -> None:
    references = _store(world, vital_set("2024-03-01T08:00:00Z", 22, 95, 105, 95, "A", 38.5))
    response = _news2(world, references, supplementalOxygen={"valueBoolean": False})
    assert response.status_code == 201, response.text
    score = response.json()["parameter"][0]["resource"]
    assert score["valueQuantity"]["value"] == 6
    assert score["interpretation"][0]["coding"][0]["code"] == "medium"
    assert score["code"]["coding"][0]["code"] == "1104051000000101"
    assert {d["reference"].split("/_history")[0] for d in score["derivedFrom"]} == set(references)
    assert score["effectiveDateTime"] == "2024-03-01T08:00:00Z"
    parts = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in score["component"]
    }
    assert parts["1104301000000104"] == 2 and parts["1104371000000107"] == 1
    stored = world.client.get(f"/fhir/Observation/{score['id']}")
    assert stored.status_code == 200


def test_asking_twice_stores_one_score_and_raises_one_alert(world: World) -> None:
    references = _store(world, vital_set("2024-03-01T08:00:00Z", 26, 90, 88, 135, "V", 34.8))
    first = _news2(world, references, supplementalOxygen={"valueBoolean": True})
    again = _news2(world, references, supplementalOxygen={"valueBoolean": True})
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert [p["name"] for p in first.json()["parameter"]] == ["score", "alert"]
    assert [p["name"] for p in again.json()["parameter"]] == ["score"]
    assert len(_alerts(world)) == 1
    alert = _alerts(world)[0]
    assert alert["priority"] == "stat" and alert["status"] == "preparation"


def test_an_alert_is_raised_exactly_once_per_crossing(world: World) -> None:
    air = {"supplementalOxygen": {"valueBoolean": False}}
    risks = []
    for hour, signs in enumerate([
        (16, 97, 120, 70, "A", 37.0),  # 0 low
        (22, 95, 105, 95, "A", 38.5),  # 6 medium: alert
        (22, 95, 105, 95, "A", 38.4),  # 6 medium again: none
        (26, 90, 88, 135, "V", 34.8),  # high: alert
        (16, 97, 120, 70, "A", 37.0),  # low
        (16, 97, 120, 70, "C", 37.0),  # 3 in one parameter, low-medium: alert
    ]):  # fmt: skip
        _, found = _score(world, f"2024-03-01T{10 + hour:02d}:00:00Z", *signs, **air)
        risks.append((found["score"]["interpretation"][0]["coding"][0]["code"], "alert" in found))
    assert risks == [
        ("low", False), ("medium", True), ("medium", False), ("high", True), ("low", False),
        ("low-medium", True),
    ]  # fmt: skip
    assert sorted(a["priority"] for a in _alerts(world)) == ["asap", "stat", "urgent"]


def test_oxygen_from_an_inhaled_oxygen_observation_and_scale_2(world: World) -> None:
    at = "2024-03-02T08:00:00Z"
    references = _store(world, [*vital_set(at, 16, 97, 120, 70, "A", 37.0),
                                vital("oxygen-flow", 2, at)])  # fmt: skip
    response = _news2(world, references, spo2Scale={"valueInteger": 2})
    assert response.status_code == 201, response.text
    assert response.json()["parameter"][0]["resource"]["valueQuantity"]["value"] == 3 + 2


def test_a_panel_names_its_members(world: World) -> None:
    at = "2024-03-03T08:00:00Z"
    members = _store(world, vital_set(at, 16, 97, 120, 70, "A", 37.0))
    panel = vital("pulse", 0, at)
    panel.pop("valueQuantity")
    panel["identifier"][0]["value"] = f"panel/{at}"
    panel["code"] = {"coding": [{"system": "http://loinc.org", "code": "85353-1"}]}
    panel["hasMember"] = [{"reference": r} for r in members]
    [panel_reference] = _store(world, [panel])
    response = _news2(world, [panel_reference], supplementalOxygen={"valueBoolean": False})
    assert response.status_code == 201, response.text
    assert len(response.json()["parameter"][0]["resource"]["derivedFrom"]) == 7


def test_bad_input_is_refused_and_nothing_is_stored(world: World) -> None:
    at = "2024-03-04T08:00:00Z"
    references = _store(world, vital_set(at, 16, 97, 120, 70, "A", 37.0))
    missing_oxygen = _news2(world, references)
    assert missing_oxygen.status_code == 422 and "air or oxygen" in missing_oxygen.text
    missing_sign = _news2(world, references[:3], supplementalOxygen={"valueBoolean": False})
    assert missing_sign.status_code == 422 and "heart rate" in missing_sign.text
    late = _store(world, [vital("pulse", 70, "2024-03-04T10:00:00Z")])
    spread = _news2(world, [*references, *late], supplementalOxygen={"valueBoolean": False})
    assert spread.status_code == 422 and "within an hour" in spread.text
    assert _news2(world, ["Patient/x"]).status_code == 400
    assert _news2(world, ["Observation/unknown"]).status_code == 404
    scores = world.client.get("/fhir/Observation?code=http://snomed.info/sct|1104051000000101")
    assert scores.json()["total"] == 0


def test_a_citizen_cannot_compute_a_score(world: World) -> None:
    references = _store(world, vital_set("2024-03-05T08:00:00Z", 16, 97, 120, 70, "A", 37.0))
    parameters = [{"name": "observation", "valueReference": {"reference": r}} for r in references]
    response = world.client.post(
        NEWS2,
        json={"resourceType": "Parameters", "parameter": parameters},
        headers={**FHIR_JSON, **world.as_("citizen")},
    )
    assert response.status_code in (403, 404), response.text
