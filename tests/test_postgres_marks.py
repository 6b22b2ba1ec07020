"""The `postgres` mark (tests/fixtures/databases.py): `./dev test` runs the marked tests again
on the patient-partitioned layout and only them, so a test on PostgreSQL must never go
unmarked — one that makes a database without the mark fails at once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from fixtures import databases


def _item(fixtures: tuple[str, ...] = (), **params: Any) -> Any:
    callspec = SimpleNamespace(params=params) if params else None
    return SimpleNamespace(fixturenames=list(fixtures), callspec=callspec)


def test_a_test_on_postgres_is_found_by_its_fixtures_or_its_engine_parameter() -> None:
    assert databases.uses_postgres(_item(("tmp_path", "postgres_database_url")))
    assert databases.uses_postgres(_item(("client",), database_url="postgresql"))
    assert databases.uses_postgres(_item(("engine",), other="x", database_url="postgresql"))
    assert not databases.uses_postgres(_item(("client",), database_url="sqlite"))
    assert not databases.uses_postgres(_item(("tmp_path",)))


def test_this_session_marked_its_postgres_tests(request: pytest.FixtureRequest) -> None:
    """The collection hook ran: the engine-parametrized tests of the suite are marked on
    their PostgreSQL side only."""
    engines = [(i, getattr(i, "callspec", None)) for i in request.session.items]
    engine_of = {i: c.params.get("database_url") for i, c in engines if c is not None}
    on_postgres = [i for i, engine in engine_of.items() if engine == "postgresql"]
    on_sqlite = [i for i, engine in engine_of.items() if engine == "sqlite"]
    if not on_postgres:  # a run of this file alone collects no such test
        pytest.skip("no engine-parametrized test in this run")
    assert all(i.get_closest_marker("postgres") for i in on_postgres)
    assert not any(i.get_closest_marker("postgres") for i in on_sqlite)


def test_an_unmarked_test_that_makes_a_database_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases, "POSTGRES_TESTS", {"tests/x.py::marked"})
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/x.py::unmarked (setup)")
    with pytest.raises(RuntimeError, match="not marked `postgres`"):
        databases.create_postgres_database("never_made")
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/x.py::marked (call)")
    databases._check_marked()  # a marked test passes the check
