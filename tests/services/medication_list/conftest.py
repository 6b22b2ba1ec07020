from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.critical_information import World
from fixtures.fhir_app import FHIR_JSON, make_client
from samhandling.demo import population_bundles
from samhandling.services import default_platform


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with make_client(database_url, tmp_path) as client:
        for bundle in population_bundles(0, seed=7, hooks=default_platform().demo_hooks):
            response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
            assert response.status_code == 200, response.text
        yield World(client, tmp_path)
