"""`bench.write_path`: measurement Bundles through `process_bundle` in process, on a real
PostgreSQL database, as a system under the platform's rules; checked by what it writes and
audits, never by the speed."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

from fixtures.databases import (
    create_postgres_database,
    drop_postgres_database,
    migrate,
    scalar_count,
)


def _tool() -> ModuleType:
    return importlib.import_module("bench.write_path")


@pytest.fixture
def scratch(postgres_database_url: str) -> Iterator[str]:
    """An empty, migrated PostgreSQL database."""
    url = create_postgres_database("write_path")
    migrate(url)
    try:
        yield url
    finally:
        drop_postgres_database(url)


def test_measurement_bundles_are_written_judged_and_audited(scratch: str) -> None:
    result = _tool().measure(scratch, "measurements", bundles=2, warm_up=1)
    assert result["entries"] == 200 and result["us_per_entry"] > 0
    # the citizens it made (an empty database), then 3 Bundles of 100 vital signs
    patients = "SELECT count(*) FROM resource WHERE resource_type = 'Patient'"
    assert scalar_count(scratch, patients) == 20
    observations = "SELECT count(*) FROM resource WHERE resource_type = 'Observation'"
    assert scalar_count(scratch, observations) == 300
    # every created Observation has its index rows and its audit record
    assert scalar_count(scratch, "SELECT count(*) FROM index_date WHERE param = 'date'") == 300
    audited = "SELECT count(*) FROM audit_event WHERE interaction = 'create'"
    assert scalar_count(scratch, audited) == 320  # the 20 citizens' and the 300 measurements'
