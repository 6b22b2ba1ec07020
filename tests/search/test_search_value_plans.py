"""A search's statements: planned for their values without a statement of their own, and
its page read from the driver's rows.

psycopg prepares a statement it has run `prepare_threshold` times on a connection, and a
prepared statement may get a generic plan that ignores the values (search/plans.py). While
a search runs nothing is prepared or sent prepared, so every statement is planned for its
values; the connection's threshold is given back afterwards, also when the search fails.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from searchkit import BASE, SearchStore
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from samhandling.fhir.outcome import FhirError
from samhandling.interactions import search
from samhandling.search.visibility import read_current_versions
from samhandling.store.database import is_sqlite, read_connection, write_connection
from samhandling.store.reader import driver_rows
from samhandling.store.version_writer import VersionWriter

QUERIES = ("patient=Patient/p1&code=http://loinc.org|8480-6", "subject=Patient/p2")


def _load(store: SearchStore) -> None:
    store.put({"resourceType": "Patient", "id": "p1"}, {"resourceType": "Patient", "id": "p2"})
    store.put(
        *(
            {
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "subject": {"reference": f"Patient/p{1 + i % 2}"},
            }
            for i in range(6)
        )
    )


def _prepared(connection: Connection) -> list[str]:
    rows = connection.execute(text("SELECT statement FROM pg_prepared_statements"))
    return [row[0] for row in rows]


def test_search_statements_are_never_prepared(store: SearchStore, engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("psycopg's prepared statements are PostgreSQL's")
    _load(store)
    with read_connection(engine) as connection:
        driver = connection.connection.dbapi_connection
        threshold = driver.prepare_threshold  # type: ignore[union-attr]
        assert threshold is not None
        before = set(_prepared(connection))
        for _ in range(threshold + 3):  # well past the point where psycopg prepares
            for query in QUERIES:
                bundle = search.search(connection, "Observation", parse_qsl(query), BASE)
                assert bundle["total"] == 3
        assert driver.prepare_threshold == threshold  # type: ignore[union-attr]
        assert set(_prepared(connection)) == before
        # the control: the same statement outside a search is prepared as usual
        for _ in range(threshold + 1):
            found = text("SELECT count(*) FROM resource WHERE resource_id = :i")
            connection.execute(found, {"i": "o1"})
        assert len(set(_prepared(connection)) - before) == 1


def test_the_threshold_comes_back_when_a_search_fails(store: SearchStore, engine: Engine) -> None:
    with read_connection(engine) as connection:
        driver = connection.connection.dbapi_connection
        before = getattr(driver, "prepare_threshold", None)
        with pytest.raises(FhirError):
            search.search(connection, "Observation", [("nonsense-parameter", "x")], BASE)
        assert getattr(driver, "prepare_threshold", None) == before


def test_a_page_is_read_alike_on_read_and_write_connections(
    store: SearchStore, engine: Engine
) -> None:
    """A read connection's page comes from the driver's binary rows (store/reader.py,
    `driver_rows`), a write connection's through SQLAlchemy: the same versions."""
    _load(store)
    store.put({"resourceType": "Observation", "id": "o1", "status": "amended"})  # version 2
    store.delete("Observation", "o2")
    keys = [("Observation", f"o{i}") for i in range(7)] + [("Patient", "p2"), ("Patient", "x")]
    with read_connection(engine) as connection:
        read = read_current_versions(connection, keys)
    with write_connection(engine) as connection:
        written = read_current_versions(connection, keys)
    assert read == written
    assert set(read) == {k for k in keys if k[1] not in ("o2", "o6", "x")}
    assert read[("Observation", "o1")].version_id == 2
    assert isinstance(read[("Observation", "o1")].content, bytes)
    assert read[("Observation", "o1")].resource()["status"] == "amended"


def test_a_search_in_a_write_transaction_sees_what_it_wrote(engine: Engine) -> None:
    """Rows the writers queue (store/index_buffer.py) are inserted before the page is read."""
    with write_connection(engine) as connection:
        body = {"resourceType": "Patient", "id": "w1", "gender": "female"}
        VersionWriter(connection).write("Patient", "w1", body, method="create", previous=None)
        bundle = search.search(connection, "Patient", [("gender", "female")], BASE)
        assert [e["resource"]["id"] for e in bundle["entry"]] == ["w1"]


def test_a_failing_driver_statement_raises_as_sqlalchemy_does(engine: Engine) -> None:
    with read_connection(engine) as connection, pytest.raises(DBAPIError):
        driver_rows(connection, "SELECT * FROM no_such_table", ())
