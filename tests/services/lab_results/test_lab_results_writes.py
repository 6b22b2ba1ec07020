"""$block/$unblock, the write rules, corrections and quality-assurance results, in the API."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from fixtures.lab_results import Results, observation, reason, submission, submit
from samhandling.services.lab_results.labels import ACCESS_SYSTEM, ACT_REASON, QUALITY_ASSURANCE

CITIZEN_FNR, PARENT_FNR = "05858540072", "21908345182"
LONG_AGO = datetime.now(UTC) - timedelta(days=400)


def _security(resource: dict[str, Any]) -> list[str]:
    return [c["code"] for c in resource.get("meta", {}).get("security", [])]


def _post(world: World, url: str, persona: str, body: dict[str, Any] | None) -> Any:
    return world.client.post(f"/fhir/{url}", json=body, headers={**FHIR_JSON, **world.as_(persona)})


def test_block_labels_the_report_its_results_and_specimen(results: Results) -> None:
    for rtype in ("DiagnosticReport", "Observation", "Specimen"):
        for rid in results.blocked[rtype]:
            found = results.get("gp", f"{rtype}/{rid}").json()
            label = next(c for c in found["meta"]["security"] if c["system"] == ACCESS_SYSTEM)
            assert label["code"] == "blocked"
            texts = [e.get("valueString") for e in label["extension"]]
            assert "vil snakke med pasienten først" in texts
    order = results.blocked["ServiceRequest"][0]  # the order holds no result: not blocked
    assert results.get("citizen", f"ServiceRequest/{order}").status_code == 200


def test_block_needs_a_clinician_and_a_reason(results: Results) -> None:
    world, report = results.world, results.released["DiagnosticReport"][0]
    url = f"DiagnosticReport/{report}/$block"
    assert _post(world, url, "gp", None).status_code == 400
    assert _post(world, url, "system", reason("x")).status_code == 403
    assert _post(world, url, "citizen", reason("x")).status_code == 403
    assert _post(world, "DiagnosticReport/nope/$block", "gp", reason("x")).status_code == 404
    assert results.get("citizen", f"DiagnosticReport/{report}").status_code == 200  # untouched


def test_unblock_releases_and_a_second_block_conflicts(results: Results) -> None:
    world, report = results.world, results.blocked["DiagnosticReport"][0]
    url = f"DiagnosticReport/{report}"
    assert _post(world, f"{url}/$block", "gp", reason("igjen")).status_code == 409
    released = _post(world, f"{url}/$unblock", "gp", reason("har snakket med pasienten"))
    assert released.status_code == 200, released.text
    assert results.get("citizen", url).status_code == 200
    for rid in results.blocked["Observation"]:
        assert results.get("citizen", f"Observation/{rid}").status_code == 200


def test_a_plain_update_cannot_lift_or_forge_a_block(results: Results) -> None:
    world = results.world
    blocked = results.get("gp", f"Observation/{results.blocked['Observation'][0]}").json()
    lifted = copy.deepcopy(blocked)
    lifted["meta"].pop("security")
    answer = world.update("system", lifted)
    assert answer.status_code == 200, answer.text
    assert "blocked" in _security(answer.json())  # kept, with a warning
    assert results.get("citizen", f"Observation/{blocked['id']}").status_code == 404
    forged = results.get("gp", f"Observation/{results.released['Observation'][0]}").json()
    forged["meta"]["security"] = blocked["meta"]["security"]
    assert world.update("gp", forged).status_code == 422


def test_a_correction_supersedes_and_history_keeps_the_old_value(results: Results) -> None:
    world, rid = results.world, results.released["Observation"][0]
    current = results.get("gp", f"Observation/{rid}").json()
    corrected = {**current, "status": "corrected", "valueQuantity": {"value": 9.9, "unit": "g/dL"}}
    assert world.update("system", corrected).status_code == 200
    now = results.get("gp", f"Observation/{rid}").json()
    assert now["status"] == "corrected" and now["valueQuantity"]["value"] == 9.9
    history = results.get("gp", f"Observation/{rid}/_history").json()
    values = [e["resource"]["valueQuantity"]["value"] for e in history["entry"]]
    assert values == [9.9, current["valueQuantity"]["value"]]
    lastn = results.get("gp", "Observation/$lastn", patient=CITIZEN, code="http://loinc.org|718-7")
    shown = [e["resource"] for e in lastn.json()["entry"]]
    assert rid not in {r["id"] for r in shown} or any(r["status"] == "corrected" for r in shown)


def test_quality_assurance_results_are_not_returned_for_care(world: World) -> None:
    shared = observation(CITIZEN, LONG_AGO)
    shared["meta"] = {"security": [{"system": ACT_REASON, "code": QUALITY_ASSURANCE}]}
    created = world.create("system", shared)
    assert created.status_code == 201, created.text
    url = f"/fhir/Observation/{created.json()['id']}"
    assert world.client.get(url, headers=world.as_("gp")).status_code == 403
    found = world.client.get(
        "/fhir/Observation", params={"patient": CITIZEN}, headers=world.as_("gp")
    )
    assert created.json()["id"] not in found.text


def test_a_submission_must_name_its_laboratory_and_issue_time(world: World) -> None:
    bundle = submission(CITIZEN, LONG_AGO, results=2)
    del bundle["entry"][1]["resource"]["performer"]
    refused = world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("system")})
    assert refused.status_code == 422 and "performer" in refused.text
    bundle = submission(CITIZEN, LONG_AGO)
    del bundle["entry"][-1]["resource"]["issued"]
    refused = world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("system")})
    assert refused.status_code == 422 and "issued" in refused.text, refused.text
    found = world.client.get(
        "/fhir/Observation", params={"patient": CITIZEN}, headers=world.as_("gp")
    )
    assert (
        found.json().get("total", len(found.json().get("entry", []))) == 0
    )  # nothing half-written
    assert submit(world, submission(CITIZEN, LONG_AGO))["DiagnosticReport"]


NLK = "http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk"


def _coded_by_nlk(code: str, display: str, system: str = NLK) -> dict[str, Any]:
    result = observation(CITIZEN, LONG_AGO)
    result["code"]["coding"].insert(0, {"system": system, "code": code, "display": display})
    return result


def test_nlk_codes_are_checked_against_the_bundled_list(world: World) -> None:
    created = _post(world, "Observation", "system", _coded_by_nlk("NOR05172", "B-Hemoglobin"))
    assert created.status_code == 201, created.text
    # a well-formed code outside the bundled subset: checked for structure only
    other = _post(world, "Observation", "system", _coded_by_nlk("NPU12345", "Noe annet"))
    assert other.status_code == 201, other.text


def test_a_malformed_nlk_code_is_refused_at_its_coding(world: World) -> None:
    for system in (NLK, "urn:oid:2.16.578.1.12.4.1.1.7280"):
        refused = _post(world, "Observation", "system", _coded_by_nlk("HB123", "Hb", system))
        assert refused.status_code == 422, refused.text
        (issue,) = refused.json()["issue"]
        assert issue["expression"] == ["Observation.code.coding[0].code"]
        assert "NPU or NOR followed by five digits" in issue["diagnostics"]
    found = world.client.get(
        "/fhir/Observation", params={"patient": CITIZEN}, headers=world.as_("gp")
    )
    assert "HB123" not in found.text  # nothing stored


def test_a_wrong_nlk_display_is_a_warning(world: World) -> None:
    headers = {**FHIR_JSON, **world.as_("system"), "Prefer": "return=OperationOutcome"}
    body = _coded_by_nlk("NPU03230", "P-Natrium")
    created = world.client.post("/fhir/Observation", json=body, headers=headers)
    assert created.status_code == 201, created.text
    warning = created.json()["issue"][0]
    assert warning["severity"] == "warning"
    assert warning["expression"] == ["Observation.code.coding[0].display"]
    assert "'P-Kalium'" in warning["diagnostics"]


def test_a_clinician_attested_for_the_patient_blocks_only_that_patients_results(
    results: Results,
) -> None:
    """An EPJ's (and the web view's) token names the patient in its attestation: the
    instance operation passes the request check, and its writes are judged on their
    patient — another patient's result is refused and left as it was."""
    world, report = results.world, results.released["DiagnosticReport"][0]
    url = f"/fhir/DiagnosticReport/{report}/$block"
    others = {**FHIR_JSON, **world.as_("gp", patient_fnr=PARENT_FNR)}
    refused = world.client.post(url, json=reason("feil pasient"), headers=others)
    assert refused.status_code == 403 and "outside the caller's reach" in refused.text
    assert results.get("citizen", f"DiagnosticReport/{report}").status_code == 200  # untouched
    hers = {**FHIR_JSON, **world.as_("gp", patient_fnr=CITIZEN_FNR)}
    blocked = world.client.post(url, json=reason("samtale først"), headers=hers)
    assert blocked.status_code == 200, blocked.text
    assert results.get("citizen", f"DiagnosticReport/{report}").status_code == 404
    merge = {"resourceType": "Parameters", "parameter": []}
    preview = world.client.post("/fhir/Patient/$merge", json=merge, headers=hers)
    assert preview.status_code == 403  # a type-level operation stays refused when narrowed
