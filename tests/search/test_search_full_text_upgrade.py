"""The full-text index of an existing database: filled by migration 0014 and by reindex."""

from __future__ import annotations

from alembic import command
from searchkit import SearchStore
from sqlalchemy import Engine, delete

from samhandling.cli.reindex_command import reindex
from samhandling.store.schema import index_text
from samhandling.store.schema_migrations import alembic_config, upgrade

NOTE = {"resourceType": "Organization", "id": "o1", "name": "Sykehuset Østfold"}


def test_migration_fills_the_index_of_existing_resources(store: SearchStore) -> None:
    store.put(NOTE, {"resourceType": "Organization", "id": "o2", "name": "Legekontoret"})
    store.delete("Organization", "o2")
    _downgrade(store.engine, "0013")  # as before full-text search: no index_text
    upgrade(store.engine)
    assert store.found("Organization", "_content=ostfold") == {"o1"}
    assert store.found("Organization", "_content=legekontoret") == set()


def test_reindex_fills_the_index(store: SearchStore, database_url: str) -> None:
    store.put(NOTE)
    with store.engine.begin() as connection:
        connection.execute(delete(index_text))
    assert store.found("Organization", "_content=sykehuset") == set()
    assert reindex(database_url) == 1
    assert store.found("Organization", "_content=sykehuset") == {"o1"}


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
