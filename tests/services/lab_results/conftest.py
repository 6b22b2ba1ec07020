from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON, make_client
from fixtures.lab_results import Results, reason, submission, submit
from samhandling.demo import population_bundles
from samhandling.services import default_platform


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with make_client(database_url, tmp_path) as client:
        for bundle in population_bundles(0, seed=7, hooks=default_platform().demo_hooks):
            response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
            assert response.status_code == 200, response.text
        yield World(client, tmp_path)


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
