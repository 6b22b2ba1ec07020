"""The buffer's COPY is binary on PostgreSQL, with the column types taken from the schema:
they must be the database's own types, and every kind of value must come back as written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, text

from samhandling.store.database import is_sqlite, read_connection, write_connection
from samhandling.store.index_buffer import _WRITER_TABLES, _binary_types
from samhandling.store.schema import index_quantity, resource, resource_version
from samhandling.store.version_writer import VersionWriter

# the binary types the database's column types (information_schema's udt_name) take
_ACCEPTS = {"text": {"text", "varchar"}, "int8": {"int8"}, "int4": {"int4"},
            "float8": {"float8"}, "bool": {"bool"}, "bytea": {"bytea"}}  # fmt: skip


def test_the_binary_types_are_the_database_s_own(engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("SQLite's driver takes no COPY")
    binary = 0
    with read_connection(engine) as connection:
        for table in _WRITER_TABLES:
            found = connection.execute(
                text("SELECT column_name, udt_name FROM information_schema.columns "
                     "WHERE table_name = :name AND table_schema = current_schema()"),
                {"name": table.name},
            ).all()  # fmt: skip
            udt = dict(found)
            names = tuple(c.name for c in table.c)
            types = _binary_types(table, names)
            if types is None:
                continue
            binary += 1
            for name, wanted in zip(names, types, strict=True):
                assert udt[name] in _ACCEPTS[wanted], (table.name, name, udt[name])
    assert binary >= len(_WRITER_TABLES) - 1  # all but index_text (tsvector)


def _observation(n: int) -> dict:  # type: ignore[type-arg]
    value = {"value": 36.5 + n / 10, "unit": "Cel", "system": "http://unitsofmeasure.org"}
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
        "valueQuantity": {**value, "code": "Cel"} if n % 2 else value,
    }


def _low(value: float) -> float:
    return float(Decimal(repr(value)) - Decimal("0.05"))


def test_a_copy_s_values_come_back_as_written(engine: Engine) -> None:
    count = 40  # some 20 rows each: over the one-statement limit, so by COPY
    with write_connection(engine) as connection:
        writer = VersionWriter(connection, bulk_creates=True)
        for n in range(count):
            writer.write("Observation", f"o{n}", _observation(n), method="create", previous=None)
    with read_connection(engine) as connection:
        q = index_quantity.c
        values = connection.execute(
            select(q.resource_id, q.value, q.low, q.code).where(q.param == "value-quantity")
        ).all()
        versions = connection.execute(
            select(resource_version.c.deleted, resource_version.c.content)
        ).all()
        current = connection.execute(select(resource.c.version_id, resource.c.tx_id)).all()
    assert sorted(values) == sorted(
        (f"o{n}", 36.5 + n / 10, _low(36.5 + n / 10), "Cel" if n % 2 else None)
        for n in range(count)
    )
    assert len(versions) == count and not any(deleted for deleted, _ in versions)
    assert all(content.startswith(b"{") for _, content in versions)
    assert len(current) == count and {v for v, _ in current} == {1}
