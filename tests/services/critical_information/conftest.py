from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.critical_information import World, populated_world


@pytest.fixture
def world(client: TestClient, tmp_path: Path) -> World:
    return populated_world(client, tmp_path)
