"""Full text through the API for a citizen: narrowed to their own record like any search."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from fixtures.world_templates import WorldTemplates

OTHER = "persona-parent"


@pytest.fixture
def database_url(database_url: str, world_templates: WorldTemplates) -> str:
    """The test's database holds a copy of the session's world (not posted again)."""
    return world_templates.fill(database_url)


@pytest.fixture
def world(client: TestClient, tmp_path: Path) -> World:
    world = World(client, tmp_path)
    for patient in (CITIZEN, OTHER):
        condition = {
            "resourceType": "Condition",
            "id": f"hf-{patient}",
            "subject": {"reference": f"Patient/{patient}"},
            "note": [{"text": "Kjent hjertesvikt"}],
        }
        url = f"/fhir/Condition/{condition['id']}"
        response = client.put(url, json=condition, headers=FHIR_JSON)
        assert response.status_code == 201, response.text
    return world


def ids(world: World, path: str, persona: str, **params: str) -> list[str]:
    response = world.client.get(f"/fhir/{path}", params=params, headers=world.as_(persona))
    assert response.status_code == 200, response.text
    return sorted(e["resource"]["id"] for e in response.json().get("entry", []))


def test_content_search_is_narrowed_for_the_citizen(world: World) -> None:
    both = [f"hf-{CITIZEN}", f"hf-{OTHER}"]
    assert ids(world, "Condition", "system", _content="hjertesvikt") == both
    assert ids(world, "Condition", "citizen", _content="hjertesvikt") == [f"hf-{CITIZEN}"]
    chained = {"subject:Patient._content": "forelder", "_content": "hjertesvikt"}
    assert ids(world, "Condition", "system", **chained) == [f"hf-{OTHER}"]
    assert ids(world, "Condition", "citizen", **chained) == []
    has = {"_has:Condition:subject:_content": "hjertesvikt"}
    assert ids(world, "Patient", "citizen", **has) == [CITIZEN]
    own = ids(world, f"Patient/{CITIZEN}/Condition", "citizen", _content="hjertesvikt")
    assert own == [f"hf-{CITIZEN}"]
    everything = ids(world, "", "citizen", _content="hjertesvikt")
    assert everything == [f"hf-{CITIZEN}"]


def test_another_patients_compartment_stays_closed(world: World) -> None:
    response = world.client.get(
        f"/fhir/Patient/{OTHER}/Condition",
        params={"_content": "hjertesvikt"},
        headers=world.as_("citizen"),
    )
    assert response.status_code == 404  # not known to the citizen, as without _content
