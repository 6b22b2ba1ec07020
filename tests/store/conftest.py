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


@pytest.fixture
def never_analysed(database_url: str) -> Iterator[Engine]:
    """A database at the current schema whose tables have never been analysed, on each
    engine in turn: `database_url`'s SQLite copy of the template, or a new PostgreSQL
    database migrated here (the session's database keeps the statistics earlier tests left,
    in whatever order the workers ran them). The layout is the session's
    (`SAMHANDLING_STORE_LAYOUT`)."""
    if database_url.startswith("sqlite"):
        engine = make_engine(database_url)
        yield engine
        engine.dispose()
        return
    url = create_postgres_database("samhandling_unanalysed")
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        drop_postgres_database(url)
