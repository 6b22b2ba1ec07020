from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import make_client


@pytest.fixture
def gp_client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """A client with the `gp` persona's token (a clinician with an attestation)."""
    with make_client(database_url, tmp_path, persona="gp") as test_client:
        yield test_client
