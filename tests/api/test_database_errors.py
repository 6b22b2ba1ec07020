"""Database failures: an outage is 503 (transient, Retry-After), a request's own error not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import exc as sa

from fixtures.fhir_app import FHIR_JSON, make_client
from samhandling.api.database_errors import is_database_outage
from samhandling.store import database


def _wrapped(orig: Exception, *, invalidated: bool = False) -> sa.DBAPIError:
    return sa.OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (psycopg.OperationalError("consuming input failed: server closed the connection"), True),
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), True),
        (psycopg.errors.TooManyConnections("too many clients"), True),
        (psycopg.InterfaceError("the connection is closed"), True),
        (_wrapped(psycopg.errors.AdminShutdown("terminating connection")), True),
        (_wrapped(RuntimeError("anything"), invalidated=True), True),
        (sa.TimeoutError("QueuePool limit reached"), True),
        (_wrapped(sqlite3.OperationalError("database is locked")), True),
        # the request's own errors are not outages
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False),
        (_wrapped(sqlite3.OperationalError("too many SQL variables")), False),
        (psycopg.errors.UniqueViolation("duplicate key"), False),
        (ValueError("connection"), False),
    ],
)
def test_which_database_errors_are_outages(error: Exception, outage: bool) -> None:
    assert is_database_outage(error) is outage


def test_locked_sqlite_answers_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "locked.db"
    with make_client(f"sqlite:///{path}", tmp_path, audit=False) as client:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            response = client.post(
                "/fhir/Patient", content=b'{"resourceType":"Patient"}', headers=FHIR_JSON
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "2"
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "transient"
        assert "sqlite" not in response.text.lower()
        created = client.post(
            "/fhir/Patient", content=b'{"resourceType":"Patient"}', headers=FHIR_JSON
        )
        assert created.status_code == 201, created.text
