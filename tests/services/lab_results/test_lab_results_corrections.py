"""A lab's correction of a blocked report: what it adds is blocked with it, audited as a
block with the reason; the reason of `$block`/`$unblock` is in their AuditEvents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from fixtures.lab_results import Results, observation, reason
from samhandling.services.lab_results.labels import ACCESS_SYSTEM

LONG_AGO = datetime.now(UTC) - timedelta(days=400)
BLOCK_REASON = "vil snakke med pasienten først"  # the `results` fixture's
OPERATION = "urn:samhandling:operation"


def _blocked_by(results: Results, reference: str) -> str | None:
    """The reason on the resource's block label, as the GP reads it (None: not blocked)."""
    found = results.get("gp", reference).json()
    for coding in found.get("meta", {}).get("security", []):
        if coding["system"] == ACCESS_SYSTEM and coding["code"] == "blocked":
            return next(e["valueString"] for e in coding["extension"] if "valueString" in e)
    return None


def _write_events(world: World, reference: str) -> list[dict[str, Any]]:
    """The AuditEvents of the writes of `reference`'s versions (any version)."""
    events = world.client.get(
        "/fhir/AuditEvent",
        params={"patient": CITIZEN, "_count": "1000"},
        headers=world.as_("security-officer"),
    ).json()
    return [
        e["resource"]
        for e in events.get("entry", [])
        if any(
            x.get("what", {}).get("reference", "").startswith(f"{reference}/_history/")
            for x in e["resource"].get("entity", [])
        )
    ]


def _reasons(event: dict[str, Any]) -> list[str]:
    return [
        detail["valueString"]
        for entity in event.get("entity", [])
        for detail in entity.get("detail", [])
        if detail["type"] == "reason"
    ]


def _transaction(world: World, entries: list[dict[str, Any]]) -> Any:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("system")})


def _amended(results: Results, *added: str) -> dict[str, Any]:
    report = results.get("gp", f"DiagnosticReport/{results.blocked['DiagnosticReport'][0]}")
    current = report.json()
    new = [{"reference": reference} for reference in added]
    return {**current, "status": "amended", "result": [*current["result"], *new]}


def test_a_correction_blocks_the_result_it_adds_audited_as_a_block(results: Results) -> None:
    world, rid = results.world, results.blocked["DiagnosticReport"][0]
    added = world.create("system", observation(CITIZEN, LONG_AGO, 7.7))
    assert added.status_code == 201, added.text
    new = f"Observation/{added.json()['id']}"
    assert results.get("citizen", new).status_code == 200  # released: not part of it yet
    corrected = world.update("system", _amended(results, new))
    assert corrected.status_code == 200, corrected.text
    assert results.get("citizen", new).status_code == 404
    assert _blocked_by(results, new) == BLOCK_REASON  # the clinician's block, carried over
    (labelling,) = [e for e in _write_events(world, new) if _reasons(e)]
    assert labelling["subtype"] == [{"system": OPERATION, "code": "block"}]
    assert _reasons(labelling) == [f"follows the blocked DiagnosticReport/{rid}: {BLOCK_REASON}"]
    again = world.client.post(
        f"/fhir/DiagnosticReport/{rid}/$block",
        json=reason("x"),
        headers={**FHIR_JSON, **world.as_("gp")},
    )
    assert again.status_code == 409  # nothing left for $block to label


def test_a_correction_bundle_blocks_the_results_and_members_it_creates(results: Results) -> None:
    world = results.world
    member = observation(CITIZEN, LONG_AGO, 4.2)
    panel = {**observation(CITIZEN, LONG_AGO, 1.0), "hasMember": [{"reference": "urn:uuid:m"}]}
    report = _amended(results, "urn:uuid:panel")
    url = f"DiagnosticReport/{report['id']}"
    answer = _transaction(
        world,
        [
            {"fullUrl": "urn:uuid:m", "resource": member, "request": _post("Observation")},
            {"fullUrl": "urn:uuid:panel", "resource": panel, "request": _post("Observation")},
            {"resource": report, "request": {"method": "PUT", "url": url}},
        ],
    )
    assert answer.status_code == 200, answer.text
    created = [e["response"]["location"].split("/_history")[0] for e in answer.json()["entry"]]
    assert created[:2] and all(r.startswith("Observation/") for r in created[:2])
    for reference in created[:2]:
        assert results.get("citizen", reference).status_code == 404, reference
        assert _blocked_by(results, reference) == BLOCK_REASON
    assert _blocked_by(results, url) == BLOCK_REASON


def test_a_correction_naming_a_result_written_after_it_is_refused(results: Results) -> None:
    world = results.world
    late = {**observation(CITIZEN, LONG_AGO, 3.3), "id": "written-after-the-report"}
    report = _amended(results, "Observation/written-after-the-report")
    url = f"DiagnosticReport/{report['id']}"
    answer = _transaction(
        world,
        [
            {"resource": report, "request": {"method": "PUT", "url": url}},
            {"resource": late, "request": {"method": "PUT", "url": "Observation/" + late["id"]}},
        ],
    )
    assert answer.status_code == 422, answer.text
    assert "before it" in answer.text and "DiagnosticReport.result" in answer.text
    assert results.get("gp", "Observation/written-after-the-report").status_code == 404
    assert results.get("gp", url).json()["status"] == "final"  # nothing half-written


def test_block_and_unblock_put_their_reason_in_the_audit_event(results: Results) -> None:
    world, rid = results.world, results.blocked["DiagnosticReport"][0]
    released = world.client.post(
        f"/fhir/DiagnosticReport/{rid}/$unblock",
        json=reason("samtalen er holdt, jf. 05858540072"),
        headers={**FHIR_JSON, **world.as_("gp")},
    )
    assert released.status_code == 200, released.text
    events = _write_events(world, f"DiagnosticReport/{rid}")
    found = {e["subtype"][0]["code"]: _reasons(e) for e in events if _reasons(e)}
    assert found == {
        "block": [BLOCK_REASON],
        "unblock": ["samtalen er holdt, jf. 058585*****"],  # never a full national ID
    }
    for observation_id in results.blocked["Observation"]:
        reasons = [_reasons(e) for e in _write_events(world, f"Observation/{observation_id}")]
        assert [BLOCK_REASON] in reasons


def _post(rtype: str) -> dict[str, str]:
    return {"method": "POST", "url": rtype}


def test_lastn_and_trend_show_a_corrected_result_as_the_correction(results: Results) -> None:
    world, rid = results.world, results.released["Observation"][0]
    current = results.get("gp", f"Observation/{rid}").json()
    corrected = {**current, "status": "corrected", "valueQuantity": {"value": 9.9, "unit": "g/dL"}}
    assert world.update("system", corrected).status_code == 200
    hgb = "http://loinc.org|718-7"
    lastn = results.get("gp", "Observation/$lastn", patient=CITIZEN, code=hgb, max="10").json()
    (shown,) = [e["resource"] for e in lastn["entry"] if e["resource"]["id"] == rid]
    assert shown["status"] == "corrected" and shown["valueQuantity"]["value"] == 9.9
    trend = results.get("gp", "Observation/$trend", patient=CITIZEN, code=hgb).json()
    points = [
        {part["name"]: part for part in p["part"]}
        for p in trend["parameter"]
        if p["name"] == "point"
    ]
    (point,) = [p for p in points if p["observation"]["valueReference"]["reference"].endswith(rid)]
    assert point["status"]["valueCode"] == "corrected"
    assert point["value"]["valueQuantity"]["value"] == 9.9
