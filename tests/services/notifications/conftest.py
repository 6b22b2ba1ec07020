"""Notification tests: an app without its background delivery worker (the tests drive a
`DeliveryWorker` with a fixed clock themselves), on the demo world, and a real receiver."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import app_settings, mint
from fixtures.world_templates import WorldTemplates
from samhandling.api.app import create_app
from samhandling.services import platform_services
from services.notifications.receiver import Receiver


@pytest.fixture
def database_url(database_url: str, world_templates: WorldTemplates) -> str:
    """The test's database holds a copy of the session's world (not posted again)."""
    return world_templates.fill(database_url)


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The platform's app with no background workers, as the `system` persona."""
    services = [dataclasses.replace(s, workers=()) for s in platform_services()]
    app = create_app(app_settings(database_url, tmp_path), services=services)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"Bearer {mint(tmp_path, 'system')}"
        yield test_client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()
