"""Fixtures of the store's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from fixtures.databases import create_postgres_database, drop_postgres_database
from samhandling.store.database import make_engine
from samhandling.store.layout import PATIENT_PARTITIONED
from samhandling.store.schema_migrations import upgrade


@pytest.fixture
def partitioned(postgres_database_url: str) -> Iterator[Engine]:
    """A fresh PostgreSQL database of the patient-partitioned layout (dropped afterwards)."""
    url = create_postgres_database("samhandling_partitioned")
    engine = make_engine(url)
    try:
        upgrade(engine, layout=PATIENT_PARTITIONED)
        yield engine
    finally:
        engine.dispose()
        drop_postgres_database(url)
