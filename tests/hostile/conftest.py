"""An app on each database with a few records to aim at (Patient/p1, Observation/o1)."""

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hostilekit import SEEDS, fuzzed_database
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON, make_client


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(
        fuzzed_database(database_url), tmp_path, max_body_bytes=200_000
    ) as test_client:
        for seed in SEEDS:
            url = f"/fhir/{seed['resourceType']}/{seed['id']}"
            response = test_client.put(url, content=orjson.dumps(seed), headers=FHIR_JSON)
            assert response.status_code == 201, response.text
        yield test_client
