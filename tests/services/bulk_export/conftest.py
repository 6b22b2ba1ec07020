"""A small store to export: three patients with 1, 2 and 3 observations, an Organization."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.bulk_export import Store, observation
from fixtures.databases import create_postgres_database, drop_postgres_database, migrate
from fixtures.fhir_app import app_settings, mint
from samhandling.api.app import create_app
from samhandling.services import platform_services


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    """The app without the export worker running by itself: tests run it (`run_once`)."""
    services = [
        s if s.name != "bulk-export" else replace(s, workers=()) for s in platform_services()
    ]
    app = create_app(app_settings(database_url, tmp_path), services=services)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {mint(tmp_path)}"
        yield _filled(client, tmp_path)


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Another empty database on the same engine as `database_url`."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "empty.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = create_postgres_database("bulkexport")
    migrate(url)
    yield url
    drop_postgres_database(url)


def _filled(client: TestClient, tmp_path: Path) -> Store:
    client.base_url = "http://testserver"  # type: ignore[assignment]
    made = Store(client, tmp_path)
    for number in range(3):
        patient = {"resourceType": "Patient", "name": [{"family": f"Eksport{number}"}]}
        pid = made.create(patient)
        made.patients.append(pid)
        made.observations[pid] = [made.create(observation(pid, 60 + i)) for i in range(number + 1)]
    made.create({"resourceType": "Organization", "name": "Fjordbyen sykehus"})
    return made
