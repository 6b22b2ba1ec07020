"""A read that runs too long, or whose client has gone, stops its statement (issue 16, item 9).

Runs the API's own read path (`FhirRestApi.run_read`, as the search routes call it) on each
database with a statement that takes ten seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from starlette.requests import Request
from starlette.types import Message

from fixtures.fhir_app import app_settings, make_client
from samhandling.api.rest import FhirRestApi
from samhandling.auth import ServiceRules
from samhandling.config import settings_from_env, settings_to_env
from samhandling.fhir.outcome import FhirError
from samhandling.store.database import make_engine


def slow_statement(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 300000000) SELECT count(*) FROM n"
            )
        )
    else:
        connection.execute(text("SELECT pg_sleep(10)"))


def leaving_request(after: float) -> Request:
    """A GET whose client disconnects `after` seconds into the request."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(after)
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "GET", "path": "/fhir/Patient", "headers": []}
    return Request(scope, receive)


def api_for(database_url: str, tmp_path: Path, timeout_ms: int) -> FhirRestApi:
    settings = app_settings(database_url, tmp_path, statement_timeout_ms=timeout_ms)
    engine = make_engine(database_url, statement_timeout_ms=timeout_ms)
    return FhirRestApi(engine, settings, policy_rules=ServiceRules(), write_rules=())


def test_a_read_beyond_the_statement_timeout_is_503(database_url: str, tmp_path: Path) -> None:
    api = api_for(database_url, tmp_path, 300)
    started = time.monotonic()
    with pytest.raises(FhirError) as raised:
        asyncio.run(api.run_read(slow_statement))
    assert time.monotonic() - started < 5
    assert (raised.value.status, raised.value.issues[0].code) == (503, "too-costly")
    api.engine.dispose()


def test_a_client_that_leaves_stops_its_search(database_url: str, tmp_path: Path) -> None:
    api = api_for(database_url, tmp_path, 0)  # no timeout: only the disconnect stops it
    started = time.monotonic()
    with pytest.raises(FhirError) as raised:
        asyncio.run(api.run_read(slow_statement, leaving_request(0.3)))
    assert time.monotonic() - started < 5
    assert raised.value.status == 503
    if api.engine.dialect.name == "postgresql":
        with api.engine.connect() as connection:
            sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)'"
            assert connection.execute(text(sleeping + " AND state = 'active'")).scalar() == 0
    api.engine.dispose()


def test_a_client_that_stays_gets_its_answer(database_url: str, tmp_path: Path) -> None:
    api = api_for(database_url, tmp_path, 0)
    answer = asyncio.run(
        api.run_read(lambda c: c.execute(text("SELECT 7")).scalar(), leaving_request(5))
    )
    assert answer == 7
    api.engine.dispose()


def test_the_app_takes_its_timeout_from_the_environment(database_url: str, tmp_path: Path) -> None:
    env = {"SAMHANDLING_DATA_DIR": str(tmp_path), "SAMHANDLING_STATEMENT_TIMEOUT_MS": "1234"}
    settings = settings_from_env(env)
    assert settings.statement_timeout_ms == 1234
    assert settings_to_env(settings)["SAMHANDLING_STATEMENT_TIMEOUT_MS"] == "1234"
    assert settings_from_env({}).statement_timeout_ms == 30_000
    with make_client(database_url, tmp_path, statement_timeout_ms=1234) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                shown = connection.execute(text("SHOW statement_timeout")).scalar()
                assert shown == "1234ms"
        assert client.get("/fhir/Patient").status_code == 200
