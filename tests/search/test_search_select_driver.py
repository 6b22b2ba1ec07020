"""A search's page statement on psycopg's cursor (`store/select_driver.py`, issue #24):
compiled once per SQLAlchemy cache key, the same rows as SQLAlchemy's own execution, and a
shape that differs only in a value's count or modifier is a shape of its own."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import parse_qsl

import pytest
from searchkit import SearchStore
from sqlalchemy import Connection, event

from samhandling.search.query import parse_search
from samhandling.search.restriction import SearchRestriction
from samhandling.search.sql import SearchSql
from samhandling.store import select_driver
from samhandling.store.database import is_sqlite, read_connection
from samhandling.store.select_driver import select_rows

CODES = ["a", "b", "c", "d"]
HIDDEN = SearchRestriction(hidden=lambda resource: resource["id"].endswith("7"), owner="gp")


def observations(store: SearchStore) -> None:
    made: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": f"p{n}", "name": [{"family": f"Fam{n}"}]}
        for n in range(3)
    ]
    for n in range(60):
        made.append(
            {
                "resourceType": "Observation",
                "id": f"o{n:02}",
                "status": "final" if n % 5 else "amended",
                "code": {"coding": [{"system": "http://loinc.org", "code": CODES[n % 4]}]},
                "subject": {"reference": f"Patient/p{n % 3}"},
                "effectiveDateTime": f"2020-01-{1 + n % 28:02}",
            }
        )
    store.put(*made)


def statement(connection: Connection, query: str, restriction: SearchRestriction | None = None):
    parsed = parse_search("Observation", parse_qsl(query), base_url="http://x/fhir")
    return SearchSql(connection, restriction).ordered(parsed).limit(30)


def sent(store: SearchStore, connection: Connection, query: str) -> list[str]:
    """The SQL texts sent to the database for `query`'s page statement."""
    texts: list[str] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        texts.append(sql)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        select_rows(connection, statement(connection, query))
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    return texts


def test_a_shape_is_compiled_once_and_reused_with_other_values(store: SearchStore) -> None:
    observations(store)
    with read_connection(store.engine) as connection:
        if is_sqlite(connection):
            pytest.skip("SQLite runs the statement through SQLAlchemy")
        select_rows(connection, statement(connection, "code=http://loinc.org|a&patient=p0"))
        shapes = select_driver.compiled_shapes()
        for code, patient in [("b", "p1"), ("c", "p2"), ("d", "p0")]:
            query = f"code=http://loinc.org|{code}&patient={patient}"
            rows = select_rows(connection, statement(connection, query))
            assert rows == connection.execute(statement(connection, query)).all()
            assert rows  # each finds its own matches, not the first search's
        assert select_driver.compiled_shapes() == shapes


def test_shapes_differing_in_a_count_or_modifier_get_their_own_sql(store: SearchStore) -> None:
    observations(store)
    one, two = "code=http://loinc.org|a", "code=http://loinc.org|a,http://loinc.org|b"
    negated = "code:not=http://loinc.org|a"
    with read_connection(store.engine) as connection:
        texts = [sent(store, connection, q) for q in (one, two, negated)]
        found = [select_rows(connection, statement(connection, q)) for q in (one, two, negated)]
    assert len({tuple(t) for t in texts}) == 3
    ids = [{rid for _, rid in rows} for rows in found]
    assert ids[0] == {f"o{n:02}" for n in range(60) if n % 4 == 0 and n < 59}
    assert ids[0] < ids[1] and all(int(rid[1:]) % 4 in (0, 1) for rid in ids[1])
    assert ids[2].isdisjoint(ids[0]) and all(int(rid[1:]) % 4 for rid in ids[2])


QUERIES = [
    "code=http://loinc.org|{code}",
    "code=http://loinc.org|{code},http://loinc.org|{other}",
    "code:not=http://loinc.org|{code}",
    "patient=p{patient}",
    "patient=p{patient}&code=http://loinc.org|{code}",
    "patient=p{patient}&date=ge2020-01-{day:02}",
    "status={status}&subject=Patient/p{patient}",
    "_id=o{n:02},o{m:02},o{k:02}",
    "_id=o{n:02}",
    "subject.name=Fam{patient}",
    "code=http://loinc.org|{code}&_lastUpdated=gt2000-01-01",
]


@pytest.mark.parametrize("restricted", [False, True])
def test_the_driver_gives_the_rows_sqlalchemy_gives(store: SearchStore, restricted: bool) -> None:
    """Property-style: random searches of many shapes, the page statement run both ways."""
    observations(store)
    chance = random.Random(24)
    restriction = HIDDEN if restricted else SearchRestriction(patient_ids=frozenset({"p1"}))
    with read_connection(store.engine) as connection:
        for _ in range(60):
            values = {
                "code": chance.choice(CODES),
                "other": chance.choice(CODES),
                "patient": chance.randrange(3),
                "day": chance.randrange(1, 29),
                "status": chance.choice(["final", "amended"]),
                "n": chance.randrange(60),
                "m": chance.randrange(60),
                "k": chance.randrange(60),
            }
            query = chance.choice(QUERIES).format(**values)
            given = restriction if chance.random() < 0.5 else None
            expected = connection.execute(statement(connection, query, given)).all()
            assert select_rows(connection, statement(connection, query, given)) == [
                tuple(row) for row in expected
            ], query
