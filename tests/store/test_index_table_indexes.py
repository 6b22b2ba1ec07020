"""Index tables keep no index that another serves (migration 0025): the token and date rows'
look-ups by (type, id) go through their probe index (type, id, param)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from samhandling.store.database import is_sqlite
from samhandling.store.schema_migrations import alembic_config, upgrade

PROBED = ("index_token", "index_date")
# The version writer's delete of a resource's rows (store/version_writer.py), which the
# dropped (type, id) indexes served.
DELETE = "DELETE FROM {table} WHERE resource_type = 'Observation' AND resource_id = 'o1'"


def _index_names(engine: Engine, table: str) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes(table)}


def test_probed_tables_have_no_type_id_index_of_their_own(engine: Engine) -> None:
    for table in PROBED:
        names = _index_names(engine, table)
        assert f"ix_{table}_probe" in names
        assert f"ix_{table}_resource" not in names
    assert "ix_index_quantity_resource" in _index_names(engine, "index_quantity")  # no probe


def _plan(connection: Connection, statement: str) -> str:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {statement}"))
        return "\n".join(str(row[-1]) for row in rows)
    connection.execute(text("SET LOCAL enable_seqscan = off"))  # empty tables: any index
    return "\n".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {statement}")))


def _fill(engine: Engine) -> None:
    """Rows of 400 resources of 40 patients (every partition of the patient-partitioned
    layout has some), analysed: on empty tables every index costs the same."""
    token = {"param": "code", "system": "http://loinc.org", "code": "8480-6", "text": None}
    date = {"param": "date", "low_us": 0, "high_us": 1}
    with engine.begin() as connection:
        for table, values in (("index_token", token), ("index_date", date)):
            rows = [
                {"resource_type": "Observation", "resource_id": f"o{n}", **values}
                | {"patient_id": f"p{n % 40}", "shard_key": f"p{n % 40}"}
                for n in range(400)
            ]
            names = ", ".join(rows[0])
            marks = ", ".join(f":{name}" for name in rows[0])
            connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), rows)
            connection.execute(text(f"ANALYZE {table}"))


def test_deleting_a_resources_rows_uses_the_probe_index(engine: Engine) -> None:
    """Every partition's probe index on the patient-partitioned layout (their names are
    PostgreSQL's own there), the probe index itself otherwise."""
    _fill(engine)
    for table in PROBED:
        with engine.begin() as connection:
            plan = _plan(connection, DELETE.format(table=table))
            connection.rollback()
        assert "Seq Scan" not in plan and "SCAN " not in plan, plan
        if is_sqlite(engine):
            assert f"USING INDEX ix_{table}_probe" in plan or "COVERING INDEX" in plan, plan
        else:
            scans = [line for line in plan.splitlines() if "Scan using" in line]
            assert scans and all(_probe(line) for line in scans), plan


def _probe(line: str) -> bool:
    """The probe index, or a partition's (named by PostgreSQL after its columns)."""
    return "_probe " in line or "_resource_type_resource_id_param_" in line


def test_downgrade_builds_the_indexes_again(engine: Engine) -> None:
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0024")
    try:
        for table in PROBED:
            assert f"ix_{table}_resource" in _index_names(engine, table)
    finally:
        upgrade(engine)
    for table in PROBED:
        assert f"ix_{table}_resource" not in _index_names(engine, table)


@pytest.mark.parametrize("table", PROBED)
def test_upgrade_finds_the_index_already_gone(engine: Engine, table: str) -> None:
    """`DROP INDEX IF EXISTS`: a DBA may have dropped it by hand before the upgrade."""
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0024")
        connection.execute(text(f"DROP INDEX ix_{table}_resource"))
    upgrade(engine)
    assert f"ix_{table}_resource" not in _index_names(engine, table)
