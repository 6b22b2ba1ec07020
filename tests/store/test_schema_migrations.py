"""Schema migrations: processes starting together on a new database take turns."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from fixtures.databases import postgres_admin_url
from samhandling.store.database import make_engine
from samhandling.store.schema_migrations import current_revision, head_revision, upgrade


@pytest.fixture
def empty_postgres_url(postgres_database_url: str) -> Iterator[str]:
    """A PostgreSQL database with nothing in it (dropped afterwards)."""
    admin = make_engine(postgres_admin_url()).execution_options(isolation_level="AUTOCOMMIT")
    name = f"samhandling_empty_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{postgres_admin_url().rsplit('/', 1)[0]}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_workers_starting_together_migrate_once(empty_postgres_url: str) -> None:
    """`serve --workers 4` on a new database: every worker migrates at its start."""
    engines = [make_engine(empty_postgres_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(upgrade, engines))  # raises if any failed
        assert current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()
