from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from fixtures.lab_results import Results, reason, submission, submit
from fixtures.world_templates import WorldTemplates


@pytest.fixture
def database_url(database_url: str, world_templates: WorldTemplates) -> str:
    """The test's database holds a copy of the session's world (not posted again)."""
    return world_templates.fill(database_url)


@pytest.fixture
def world(client: TestClient, tmp_path: Path) -> World:
    return World(client, tmp_path)


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
