"""Suite-wide fixtures: the API client, where the shared real-world test data lives, and how
to read it.

The data directory is ``$SAMHANDLING_SHARED_DATA`` (default ``/work/shared/data``). Tests that
need it are skipped only when that directory is absent.
"""

from __future__ import annotations

import bz2
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fixtures.databases import mark_postgres_tests
from fixtures.fhir_app import make_client
from fixtures.suite_order import slow_files_first
from fixtures.world_templates import WorldTemplates


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_postgres_tests(items)
    slow_files_first(items)


@pytest.fixture
def client_settings() -> dict[str, object]:
    """Settings the `client` fixture's app takes besides the test defaults; a conftest or a
    test module overrides this fixture to change them (e.g. ``publish_definitions``)."""
    return {}


@pytest.fixture
def client(
    database_url: str, tmp_path: Path, client_settings: dict[str, object]
) -> Iterator[TestClient]:
    """An in-process client of an app on `database_url` with the `system` persona's token,
    its data directory (and so its development issuer) in `tmp_path`."""
    with make_client(database_url, tmp_path, **client_settings) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def world_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldTemplates]:
    """The demo world of this session, to copy into a test's database (`fill`)."""
    templates = WorldTemplates(tmp_path_factory.mktemp("world"))
    yield templates
    templates.close()


SHARED_DATA_ENV = "SAMHANDLING_SHARED_DATA"
DEFAULT_SHARED_DATA = "/work/shared/data"


def shared_data_root() -> Path | None:
    """The shared data directory, or None when it does not exist."""
    root = Path(os.environ.get(SHARED_DATA_ENV, DEFAULT_SHARED_DATA))
    return root if root.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data directory (skips the test when it is absent)."""
    root = shared_data_root()
    if root is None:
        pytest.skip("shared data directory is absent")
    return root


def _rewrite_references(node: Any, mapping: dict[str, str]) -> None:
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and reference in mapping:
            node["reference"] = mapping[reference]
        for value in node.values():
            _rewrite_references(value, mapping)
    elif isinstance(node, list):
        for value in node:
            _rewrite_references(value, mapping)


def read_synthea_bundle(path: Path) -> list[dict[str, Any]]:
    """The resources of a Synthea ``.json.bz2`` bundle, with ``urn:uuid`` references
    rewritten to ``Type/id`` as the server does before indexing a transaction."""
    with bz2.open(path, "rt", encoding="utf-8") as handle:
        bundle = json.load(handle)
    entries = [entry for entry in bundle.get("entry", []) if "resource" in entry]
    mapping = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in entries
        if "fullUrl" in entry and "id" in entry["resource"]
    }
    resources = [entry["resource"] for entry in entries]
    _rewrite_references(resources, mapping)
    return resources


@pytest.fixture(scope="session")
def synthea_resources() -> Callable[[Path], list[dict[str, Any]]]:
    """``read_synthea_bundle`` as a fixture: path -> resources with local references."""
    return read_synthea_bundle
