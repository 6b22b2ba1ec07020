from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON, make_client
from fixtures.lab_results import created_ids, submission
from samhandling.demo import population_bundles
from samhandling.services import default_platform


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with make_client(database_url, tmp_path) as client:
        for bundle in population_bundles(0, seed=7, hooks=default_platform().demo_hooks):
            response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
            assert response.status_code == 200, response.text
        yield World(client, tmp_path)


def submit(world: World, bundle: dict[str, Any], persona: str = "system") -> dict[str, list[str]]:
    response = world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_(persona)})
    assert response.status_code == 200, response.text
    return created_ids(response.json())


def reason(text: str) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": text}]}


@dataclass
class Results:
    """The citizen's lab results: one released, one blocked by the GP, one still delayed."""

    world: World
    released: dict[str, list[str]]
    blocked: dict[str, list[str]]
    delayed: dict[str, list[str]]

    def hidden_ids(self) -> set[str]:
        """Blocked: all of it; delayed: the report and results (a specimen holds no result)."""
        delayed = [self.delayed["DiagnosticReport"], self.delayed["Observation"]]
        return {i for ids in (*self.blocked.values(), *delayed) for i in ids}

    def get(self, persona: str, url: str, **params: str) -> Any:
        return self.world.client.get(f"/fhir/{url}", params=params, headers=self.world.as_(persona))


@pytest.fixture
def results(world: World) -> Results:
    long_ago = datetime.now(UTC) - timedelta(days=400)
    released = submit(world, submission(CITIZEN, long_ago))
    blocked = submit(world, submission(CITIZEN, long_ago - timedelta(days=1), results=2))
    delayed = submit(world, submission(CITIZEN, datetime.now(UTC) - timedelta(hours=1), "PAT"))
    url = f"/fhir/DiagnosticReport/{blocked['DiagnosticReport'][0]}/$block"
    answer = world.client.post(
        url, json=reason("vil snakke med pasienten først"), headers={**FHIR_JSON, **world.as_("gp")}
    )
    assert answer.status_code == 200, answer.text
    return Results(world, released, blocked, delayed)
