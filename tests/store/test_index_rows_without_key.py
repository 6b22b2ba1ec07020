"""Index rows have no surrogate key on PostgreSQL (migration
`index_rows_without_surrogate_key`): no `row_id` column, primary key or sequence, on the
plain and the patient-partitioned layout; SQLite keeps `row_id` as its rowid (FTS5 joins
on it); a resource's rows are still deleted through an index, and the downgrade restores
the key."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from samhandling.interactions import crud
from samhandling.interactions.search import search
from samhandling.store.database import is_sqlite, read_connection, write_connection
from samhandling.store.layout import PATIENT_PARTITIONED, is_partitioned
from samhandling.store.schema import INDEX_TABLES
from samhandling.store.schema_migrations import alembic_config, upgrade
from samhandling.store.version_writer import VersionWriter

TABLES = sorted(table.name for table in INDEX_TABLES.values())
DELETE = "DELETE FROM {table} WHERE resource_type = 'Observation' AND resource_id = 'o1'"


def _keys(engine: Engine, table: str) -> tuple[list[str], list[str]]:
    """(column names, primary key columns) of `table`."""
    found = inspect(engine)
    columns = [str(c["name"]) for c in found.get_columns(table)]
    return columns, list(found.get_pk_constraint(table)["constrained_columns"])


def _sequences(engine: Engine) -> list[str]:
    with read_connection(engine) as connection:
        found = connection.execute(
            text("SELECT sequencename FROM pg_sequences WHERE sequencename LIKE 'index%'")
        )
        return [str(name) for name in found.scalars()]


def _assert_no_surrogate_key(engine: Engine) -> None:
    for table in TABLES:
        columns, primary_key = _keys(engine, table)
        assert "row_id" not in columns and primary_key == [], table
    assert _sequences(engine) == []


def test_index_tables_have_no_surrogate_key_on_postgresql(engine: Engine) -> None:
    if is_sqlite(engine):
        for table in TABLES:  # the rowid itself: costs nothing, FTS5 joins on it
            assert _keys(engine, table)[1] == ["row_id"], table
        return
    _assert_no_surrogate_key(engine)


def _plan(connection: Connection, statement: str) -> str:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {statement}"))
        return "\n".join(str(row[-1]) for row in rows)
    connection.execute(text("SET LOCAL enable_seqscan = off"))  # small tables: any index
    return "\n".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {statement}")))


def _assert_deletes_use_an_index(engine: Engine) -> None:
    """The version writer's delete of a resource's rows, on every index table."""
    for table in TABLES:
        with engine.begin() as connection:
            plan = _plan(connection, DELETE.format(table=table))
            connection.rollback()
        assert "Seq Scan" not in plan and "SCAN " not in plan, (table, plan)


def _load(engine: Engine) -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "Puls"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-12-05T10:00:00Z",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org"},
    }
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        crud.update(writer, "Observation", "o1", {**observation, "id": "o1"})
        crud.update(writer, "Observation", "o1", {**observation, "id": "o1", "status": "amended"})
        crud.update(
            writer, "Observation", "o2", {**observation, "id": "o2", "code": {"text": "Vekt"}}
        )


def _found(engine: Engine, items: list[tuple[str, str]]) -> list[str]:
    with read_connection(engine) as connection:
        bundle = search(connection, "Observation", items, "http://test")
    return sorted(entry["resource"]["id"] for entry in bundle.get("entry", []))


def test_rows_are_written_searched_replaced_and_deleted(engine: Engine) -> None:
    _load(engine)
    with read_connection(engine) as connection:
        rows = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
    assert rows["index_quantity"] == 2 and rows["index_date"] == 2, rows  # o1's replaced
    assert _found(engine, [("_content", "puls")]) == ["o1"]  # SQLite: FTS5 by rowid
    if is_sqlite(engine):  # the condition names `rowid`, the FTS5 content key `row_id`
        with read_connection(engine) as connection:
            pairs = connection.execute(text("SELECT row_id, rowid FROM index_text")).all()
        assert pairs and all(row_id == rowid for row_id, rowid in pairs)
    assert _found(engine, [("_content", "vekt"), ("value-quantity", "72")]) == ["o2"]
    assert _found(engine, [("code", "8867-4")]) == ["o1"]
    _assert_deletes_use_an_index(engine)


def _downgrade_one(engine: Engine) -> None:
    """Migrated back to before 0026 (the migrations after it undone too)."""
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0025")


def _assert_downgrade_restores_the_key(engine: Engine, key: list[str], layout: str) -> None:
    _downgrade_one(engine)
    try:
        for table in TABLES:
            assert _keys(engine, table)[1] == key, table
        assert sorted(_sequences(engine)) == sorted(f"{t}_row_id_seq" for t in TABLES)
    finally:
        upgrade(engine, layout=layout)
    _assert_no_surrogate_key(engine)


def test_downgrade_restores_the_key(engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("nothing changes on SQLite")
    _load(engine)
    with engine.connect() as connection:  # the suite may run on either layout
        layout = PATIENT_PARTITIONED if is_partitioned(connection) else "plain"
    key = ["shard_key", "row_id"] if layout == PATIENT_PARTITIONED else ["row_id"]
    _assert_downgrade_restores_the_key(engine, key, layout)


def test_the_partitioned_layout_has_none_and_its_downgrade_restores_it(
    partitioned: Engine,
) -> None:
    """Its tables' primary keys must hold the partition key: (shard_key, row_id) again."""
    with partitioned.connect() as connection:
        assert is_partitioned(connection)
    _assert_no_surrogate_key(partitioned)
    _load(partitioned)
    _assert_deletes_use_an_index(partitioned)
    assert _found(partitioned, [("_content", "puls")]) == ["o1"]
    _assert_downgrade_restores_the_key(partitioned, ["shard_key", "row_id"], PATIENT_PARTITIONED)
