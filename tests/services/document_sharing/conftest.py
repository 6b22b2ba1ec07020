from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.critical_information import World
from fixtures.world_templates import WorldTemplates


@pytest.fixture
def database_url(database_url: str, world_templates: WorldTemplates) -> str:
    """The test's database holds a copy of the session's world (not posted again)."""
    return world_templates.fill(database_url)


@pytest.fixture
def world(client: TestClient, tmp_path: Path) -> World:
    return World(client, tmp_path)
