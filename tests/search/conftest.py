"""Fixtures for the search tests (the helpers live in searchkit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from searchkit import SearchStore
from sqlalchemy import Engine
from starlette.testclient import TestClient

from fixtures.fhir_app import make_client


@pytest.fixture
def store(engine: Engine) -> Iterator[SearchStore]:
    yield SearchStore(engine)


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(database_url, tmp_path) as test_client:
        yield test_client
