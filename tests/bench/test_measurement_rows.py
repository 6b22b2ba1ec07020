"""`bench.measurement_rows`: the stored rows of a sample of Observations written again under
new ids, by COPY, on PostgreSQL; checked by what lands in the tables, never by the speed."""

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
from samhandling.demo import load_bundles, population_bundles
from samhandling.services import default_platform
from samhandling.store.database import make_engine

BASE = "http://testserver/fhir"


def _tool() -> ModuleType:
    return importlib.import_module("bench.measurement_rows")


@pytest.fixture
def scratch(postgres_database_url: str) -> Iterator[str]:
    """A PostgreSQL database holding the demo population of 12 citizens (measurements
    among their data)."""
    url = create_postgres_database("measurement_rows")
    migrate(url)
    platform = default_platform()
    engine = make_engine(url)
    try:
        bundles = population_bundles(12, 3, hooks=platform.demo_hooks)
        load_bundles(engine, bundles, BASE, rules=platform.write_rules)
        yield url
    finally:
        engine.dispose()
        drop_postgres_database(url)


def test_every_round_writes_the_sample_again_under_new_ids(scratch: str) -> None:
    tool = _tool()
    observations = "SELECT count(*) FROM resource WHERE resource_type = 'Observation'"
    before = scalar_count(scratch, observations)
    sample = min(before, tool.PER_ROUND)
    assert sample > 0
    spent = tool.measure(scratch, "audit", rounds=2)
    assert spent >= 0
    assert scalar_count(scratch, observations) == before + sample * (tool.WARM_UP + 2)
    versions = "SELECT count(DISTINCT (resource_type, resource_id)) FROM resource_version"
    assert scalar_count(scratch, versions) == scalar_count(scratch, "SELECT count(*) FROM resource")


@pytest.mark.parametrize(
    ("variant", "table", "indexes"),
    [
        ("narrow", "bench_measurement_narrow", 1),
        # resource id (its key); patient, code, time; code; identifier; device, code, time
        ("measurement", "bench_measurement_row", 5),
    ],
)
def test_a_measurement_shaped_variant_writes_its_rows_instead_of_the_index_rows(
    scratch: str, variant: str, table: str, indexes: int
) -> None:
    tool = _tool()
    tokens = "SELECT count(*) FROM index_token"
    before = scalar_count(scratch, tokens)
    observations = "SELECT count(*) FROM resource WHERE resource_type = 'Observation'"
    sample = min(scalar_count(scratch, observations), tool.PER_ROUND)
    tool.measure(scratch, f"{variant},audit", rounds=1)
    assert scalar_count(scratch, tokens) == before
    assert scalar_count(scratch, f"SELECT count(*) FROM {table}") == sample * (tool.WARM_UP + 1)
    found = f"SELECT count(*) FROM pg_indexes WHERE tablename = '{table}'"
    assert scalar_count(scratch, found) == indexes


def test_the_ordered_variant_writes_its_rows_under_version_7_ids(scratch: str) -> None:
    tool = _tool()
    version_7 = "SELECT count(*) FROM resource WHERE substr(resource_id, 15, 1) = '7'"
    before = scalar_count(scratch, version_7)
    observations = "SELECT count(*) FROM resource WHERE resource_type = 'Observation'"
    sample = min(scalar_count(scratch, observations), tool.PER_ROUND)
    tool.measure(scratch, "ordered,audit", rounds=1)
    # the 15th character of a UUID's text is its version
    assert scalar_count(scratch, version_7) == before + sample * (tool.WARM_UP + 1)
