"""The patient-partitioned storage layout (opt-in; docs/SCALING.md "Patient-partitioned
layout").

`SAMHANDLING_STORE_LAYOUT=patient-partitioned`, read where the schema is migrated
(`schema_migrations.upgrade`), makes the clinical tables of a PostgreSQL database
`PARTITION BY HASH` on a NOT NULL patient key, in `PARTITIONS` partitions each:
`resource`, `resource_version` and every `index_*` table on `shard_key` (the row's
`patient_id`, or `SHARDLESS` for a resource in no patient's compartment), `compartment` on
its own `patient_id` (the patient whose compartment the row lists). Primary keys gain the
key (the index tables have none: migration `index_rows_without_surrogate_key`);
`resource_locator` (type, id → shard key), kept by a trigger on `resource`, restores the
uniqueness of a type/id across partitions. The store's queries are the same on both
layouts. The default (`plain`) and SQLite keep plain tables.

The tables are rebuilt from the catalogue, after the ordinary migrations: their columns,
defaults, indexes and extended statistics as the migrations made them (rows are copied).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from samhandling.store.schema import SHARDLESS

PLAIN = "plain"
PATIENT_PARTITIONED = "patient-partitioned"
PARTITIONS = 8
SHARD_KEY = "shard_key"
SHARDED_TABLES = (
    "resource",
    "resource_version",
    "index_token",
    "index_string",
    "index_date",
    "index_number",
    "index_quantity",
    "index_reference",
    "index_uri",
    "index_composite",
    "index_text",
)
#: every partitioned table and its partition key
PARTITION_KEYS = {**dict.fromkeys(SHARDED_TABLES, SHARD_KEY), "compartment": "patient_id"}

_LOCATOR = f"""
CREATE TABLE resource_locator (
    resource_type varchar(64) NOT NULL,
    resource_id varchar(64) NOT NULL,
    shard_key varchar(64) NOT NULL,
    PRIMARY KEY (resource_type, resource_id)
);
INSERT INTO resource_locator SELECT resource_type, resource_id, shard_key FROM resource;
CREATE FUNCTION resource_locator_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM resource_locator WHERE resource_type = OLD.resource_type
            AND resource_id = OLD.resource_id AND shard_key = OLD.shard_key;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO resource_locator VALUES (NEW.resource_type, NEW.resource_id, NEW.shard_key);
    ELSIF NEW.shard_key <> OLD.shard_key THEN
        UPDATE resource_locator SET shard_key = NEW.shard_key
            WHERE resource_type = NEW.resource_type AND resource_id = NEW.resource_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER resource_locator_keep AFTER INSERT OR UPDATE OF {SHARD_KEY} OR DELETE
    ON resource FOR EACH ROW EXECUTE FUNCTION resource_locator_keep();
"""
_NO_LOCATOR = """
DROP TRIGGER IF EXISTS resource_locator_keep ON resource;
DROP FUNCTION IF EXISTS resource_locator_keep();
DROP TABLE IF EXISTS resource_locator;
"""


def requested_layout(env: dict[str, str] | None = None) -> str:
    """The layout `SAMHANDLING_STORE_LAYOUT` asks for (default `plain`)."""
    value = (os.environ if env is None else env).get("SAMHANDLING_STORE_LAYOUT", "") or PLAIN
    if value not in (PLAIN, PATIENT_PARTITIONED):
        raise ValueError(f"SAMHANDLING_STORE_LAYOUT must be {PLAIN} or {PATIENT_PARTITIONED}")
    return value


def is_partitioned(connection: Connection) -> bool:
    """Whether the database has the patient-partitioned layout."""
    if connection.dialect.name != "postgresql":
        return False
    found = connection.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table"
            " WHERE partrelid = to_regclass('resource'))"
        )
    )
    return bool(found.scalar())


def partition(connection: Connection, partitions: int = PARTITIONS) -> None:
    """Rebuild the clinical tables hash-partitioned by patient (rows are kept), in the
    caller's transaction. Nothing happens if they already are."""
    if is_partitioned(connection):
        return
    for table, key in PARTITION_KEYS.items():
        _rebuild(connection, table, key, partitions)
    connection.exec_driver_sql(_LOCATOR)


def unpartition(connection: Connection) -> None:
    """Rebuild the clinical tables as plain tables (rows are kept): the downgrade of
    migration 0023, which drops the partition key."""
    if not is_partitioned(connection):
        return
    connection.exec_driver_sql(_NO_LOCATOR)
    for table in PARTITION_KEYS:
        _rebuild(connection, table, None, 0)


@dataclass(frozen=True)
class _Shape:
    """What the migrations made of a table, as the catalogue describes it."""

    columns: list[str]
    primary_key: list[str]
    indexes: list[str]  # CREATE INDEX statements, the primary key's excepted
    statistics: list[tuple[str, str, int | None]]  # (CREATE STATISTICS …, name, target)
    sequence: str | None  # the sequence `row_id` draws from (older schemas)


def _shape(connection: Connection, table: str) -> _Shape:
    columns = _strings(
        connection,
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:t)"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        table,
    )
    serial = text("SELECT pg_get_serial_sequence(:t, 'row_id')")
    return _Shape(
        columns,
        _strings(
            connection,
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass(:t)"
            " AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
            table,
        ),
        _strings(
            connection,
            "SELECT i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname"
            " JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = current_schema()"
            " AND i.tablename = :t AND NOT x.indisprimary",
            table,
        ),
        [
            (str(definition), str(name), target)
            for definition, name, target in connection.execute(
                text(
                    "SELECT pg_get_statisticsobjdef(oid), stxname, stxstattarget"
                    " FROM pg_statistic_ext WHERE stxrelid = to_regclass(:t)"
                ),
                {"t": table},
            )
        ],
        connection.execute(serial, {"t": table}).scalar() if "row_id" in columns else None,
    )


def _rebuild(connection: Connection, table: str, key: str | None, partitions: int) -> None:
    """Replace `table` by a copy partitioned by `key` (None: a plain table)."""
    shape, old, run = (
        _shape(connection, table),
        f"{table}_before_layout",
        connection.exec_driver_sql,
    )
    run(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    partitioned_by = f' PARTITION BY HASH ("{key}")' if key else ""
    run(f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS){partitioned_by}')
    for remainder in range(partitions):
        run(
            f'CREATE TABLE "{table}_p{remainder}" PARTITION OF "{table}"'
            f" FOR VALUES WITH (MODULUS {partitions}, REMAINDER {remainder})"
        )
    if SHARD_KEY in shape.columns:
        null = "SET NOT NULL" if key == SHARD_KEY else "DROP NOT NULL"
        run(f'ALTER TABLE "{table}" ALTER COLUMN "{SHARD_KEY}" {null}')
    names, copied = _names(shape.columns), _copied(shape.columns)
    run(f'INSERT INTO "{table}" ({names}) SELECT {copied} FROM "{old}"')
    if shape.sequence:
        run(f'ALTER SEQUENCE {shape.sequence} OWNED BY "{table}".row_id')
    run(f'DROP TABLE "{old}"')
    if shape.primary_key:  # the index tables have none
        kept = [c for c in shape.primary_key if c not in (key, SHARD_KEY)]
        run(f'ALTER TABLE "{table}" ADD PRIMARY KEY ({_names([key, *kept] if key else kept)})')
    for definition in shape.indexes:
        run(definition)
    for definition, name, target in shape.statistics:
        run(definition)
        if target is not None and target >= 0:
            run(f'ALTER STATISTICS "{name}" SET STATISTICS {int(target)}')


def _copied(columns: Sequence[str]) -> str:
    """The select list that copies the rows, the shard key filled where it is NULL."""
    return ", ".join(
        f"COALESCE({SHARD_KEY}, patient_id, '{SHARDLESS}')" if c == SHARD_KEY else f'"{c}"'
        for c in columns
    )


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _strings(connection: Connection, query: str, table: str) -> list[str]:
    return [str(v) for v in connection.execute(text(query), {"t": table}).scalars()]
