"""Golden SQL for the main query shapes, and EXPLAIN checks that each can use an index.

The SQL the engine generates for these searches is compared with ``golden/<name>.sql``; a
change to the query builder shows up here as a diff to review. To accept a change, run
with ``SAMHANDLING_UPDATE_GOLDEN=1`` and review the files. On PostgreSQL, each shape is
planned with sequential scans disabled: a plan that still needs one has no usable index.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql

from samhandling.search.query import parse_search
from samhandling.search.sql import SearchSql
from samhandling.store.database import is_sqlite

GOLDEN = Path(__file__).parent / "golden"
BASE = "http://example.org/fhir"

SHAPES = {
    "patient_observations_by_code_and_date": (
        "Observation",
        "subject=Patient/p1&code=http://loinc.org|8480-6&date=ge2024-01-01&date=le2024-12-31",
        None,
    ),
    "conditions_by_code": ("Condition", "code=http://snomed.info/sct|44054006&_count=50", None),
    "chain_on_patient_identifier": (
        "Observation",
        "subject:Patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|12345678901",
        None,
    ),
    "patient_compartment_everything": ("Observation", "_sort=-date", ("Patient", "p1")),
    "patient_by_name": ("Patient", "name=ødegård&birthdate=1980", None),
    "reverse_chain": ("Patient", "_has:Observation:patient:code=8480-6", None),
    "full_text_content": ("Condition", "_content=hjertesvikt bjørn&_text=pasient", None),
    "quantity_with_unit": (
        "Observation",
        "value-quantity=gt140|http://unitsofmeasure.org|mm[Hg]",
        None,
    ),
}


def build(name: str) -> object:
    resource_type, query, compartment = SHAPES[name]
    parsed = parse_search(resource_type, parse_qsl(query), base_url=BASE)
    parsed.compartment = compartment
    return SearchSql(base_url=BASE).ordered(parsed)


def render(stmt: object) -> str:
    compiled = stmt.compile(  # type: ignore[attr-defined]
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled).strip() + "\n"


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_golden_sql(name: str) -> None:
    path = GOLDEN / f"{name}.sql"
    sql = render(build(name))
    if os.environ.get("SAMHANDLING_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(sql)
    assert sql == path.read_text()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_can_use_an_index(engine: Engine, name: str) -> None:
    if is_sqlite(engine):
        pytest.skip("the plans that matter are PostgreSQL's")
    sql = render(build(name))
    with engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in connection.execute(text("EXPLAIN " + sql)))
    scans = [line for line in plan.splitlines() if "Seq Scan" in line]
    assert not scans, plan
