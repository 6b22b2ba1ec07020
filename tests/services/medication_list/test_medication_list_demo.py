"""The demo population's medication lists: some citizens, multidose among them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medlistkit import read_list, resources

from fixtures.critical_information import World
from fixtures.fhir_app import FHIR_JSON, make_client
from samhandling.demo import population_bundles
from samhandling.services import medication_list
from samhandling.services.medication_list.demo import MULTIDOSE

HOOKS = [medication_list.SERVICE.demo] if medication_list.SERVICE.demo else []


def _lists(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for b in bundles
        for e in b["entry"]
        if e["resource"]["resourceType"] == "List"
    ]


def test_some_citizens_have_lists_and_some_are_multidose() -> None:
    bundles = population_bundles(300, seed=1, hooks=HOOKS)
    lists = _lists(bundles)
    assert 20 < len(lists) < 150
    multidose = [x for x in lists if any(e["url"] == MULTIDOSE for e in x["extension"])]
    assert multidose
    assert _lists(population_bundles(300, seed=1, hooks=HOOKS)) == lists  # deterministic


def test_a_demo_list_loads_and_reads(database_url: str, tmp_path: Path) -> None:
    with make_client(database_url, tmp_path) as client:
        bundles = population_bundles(40, seed=3, hooks=HOOKS)
        for bundle in bundles:
            response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
            assert response.status_code == 200, response.text
        listing = _lists(bundles)[0]
        patient = listing["subject"]["reference"].removeprefix("Patient/")
        document = read_list(World(client, tmp_path), "gp", patient)
        assert document.status_code == 200, document.text
        shown = resources(document.json(), "MedicationStatement")
        assert len(shown) == len(listing["entry"])
