"""Codes as Norwegian systems send them: a Norwegian display is correct, a wrong one a warning
that reaches the client (Prefer: return=OperationOutcome, Bundle entry outcome)."""

from __future__ import annotations

from typing import Any

from fixtures.critical_information import ATC, CITIZEN, World, coding, drug_reaction
from fixtures.fhir_app import FHIR_JSON

OUTCOME = {"Prefer": "return=OperationOutcome"}


def _with_display(display: str) -> dict[str, Any]:
    entry = drug_reaction(CITIZEN)
    entry["code"]["coding"] = [coding(ATC, "J01CE02", display)]
    return entry


def _post(world: World, entry: dict[str, Any]) -> Any:
    headers = {**FHIR_JSON, **world.as_("gp"), **OUTCOME}
    return world.client.post("/fhir/AllergyIntolerance", json=entry, headers=headers)


def _severities(outcome: dict[str, Any]) -> list[str]:
    return [issue["severity"] for issue in outcome["issue"]]


def test_the_norwegian_atc_name_is_a_correct_display(world: World) -> None:
    response = _post(world, _with_display("Fenoksymetylpenicillin"))
    assert response.status_code == 201, response.text
    assert _severities(response.json()) == ["information"]


def test_a_wrong_display_is_stored_with_a_warning_in_the_outcome(world: World) -> None:
    response = _post(world, _with_display("Ibuprofen"))
    assert response.status_code == 201, response.text
    warning, written = response.json()["issue"]
    assert warning["severity"] == "warning" and warning["code"] == "code-invalid"
    assert warning["expression"][0].endswith(".coding[0].display")
    assert (
        "expected 'phenoxymethylpenicillin' or 'fenoksymetylpenicillin'" in (warning["diagnostics"])
    )
    assert written["severity"] == "information"
    stored = world.client.get(response.headers["location"], headers=world.as_("gp"))
    assert stored.json()["code"]["coding"][0]["display"] == "Ibuprofen"


def test_a_wrong_display_in_a_transaction_is_a_warning_in_the_entry_outcome(
    world: World,
) -> None:
    entries = [_with_display("Ibuprofen"), _with_display("fenoksymetylpenicillin")]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": entry, "request": {"method": "POST", "url": "AllergyIntolerance"}}
            for entry in entries
        ],
    }
    headers = {**FHIR_JSON, **world.as_("gp")}
    response = world.client.post("/fhir", json=bundle, headers=headers)
    assert response.status_code == 200, response.text
    wrong, right = (entry["response"] for entry in response.json()["entry"])
    assert wrong["status"].startswith("201")
    assert _severities(wrong["outcome"]) == ["warning"]
    assert "'Ibuprofen'" in wrong["outcome"]["issue"][0]["diagnostics"]
    assert "outcome" not in right
