"""Reads by id found without the route walk (`InteractionDispatch`, issue 24) answer exactly
as the router's: each case is asked once dispatched and once with the dispatch switched off, and the
two answers (status, body, headers), audit records, request log lines and metrics compared.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from fixtures.dispatch_spy import dispatch_taken, routed_only
from fixtures.fhir_app import FHIR_JSON, make_client, mint
from fixtures.read_paths import last_record
from samhandling.api.interaction_dispatch import InteractionDispatch
from samhandling.auth.dev.personas import persona
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import loop_read

# what two answers to the same read cannot share
OWN_HEADERS = ("date", "x-request-id")
LOG_FIELDS = ("method", "path", "status", "interaction", "refusal")
PARAM = re.compile(r"\{(\w+)\}")
SAMPLES = {"type": "Patient", "ctype": "Patient", "op": "$everything", "vid": "1"}


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(database_url, tmp_path) as test_client:
        yield test_client


def dispatch_of(client: TestClient) -> InteractionDispatch:
    dispatch = client.app.state.interaction_dispatch  # type: ignore[attr-defined]
    assert isinstance(dispatch, InteractionDispatch)
    return dispatch


def request_line(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    lines = [r for r in caplog.records if r.name == "samhandling.request"]
    return {name: getattr(lines[-1], name, None) for name in LOG_FIELDS}


def metrics_of(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    counted = (line.rsplit(" ", 1) for line in text.splitlines())
    return {k: float(v) for k, v in counted if k.startswith("samhandling_requests_total")}


def both_ways(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    url: str,
    dispatched: bool = True,
    **headers: str,
) -> Any:
    """The answer through the dispatch (`dispatched`: it must take it, or must not), checked
    against the router's answer, audit record, log line and request count."""
    caplog.set_level(logging.INFO, logger="samhandling.request")
    with dispatch_taken(monkeypatch) as taken:
        before = metrics_of(client)
        fast = client.get(url, headers=headers)
        fast_counted = (before, metrics_of(client))
    assert taken == ([url] if dispatched else [])
    fast_record, fast_line = last_record(client), request_line(caplog)
    with routed_only(monkeypatch):
        before = metrics_of(client)
        routed = client.get(url, headers=headers)
        routed_counted = (before, metrics_of(client))
    assert (fast.status_code, fast.content) == (routed.status_code, routed.content)
    same = {k: v for k, v in fast.headers.items() if k not in OWN_HEADERS}
    assert same == {k: v for k, v in routed.headers.items() if k not in OWN_HEADERS}
    assert fast_record == last_record(client)
    assert fast_record["http_status"] == fast.status_code  # and recorded at all
    assert fast_line == request_line(caplog)
    assert _increase(*fast_counted) == _increase(*routed_counted)
    return fast


def _increase(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    url = f"/fhir/{body['resourceType']}"
    response = client.post(url, content=orjson.dumps(body), headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return dict(response.json())


def observation(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "vekt"}, **extra}


def test_read_vread_unknown_deleted_and_not_modified_as_routed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"/fhir/Observation/{create(client, observation())['id']}"
    read = both_ways(client, monkeypatch, caplog, url)
    assert read.status_code == 200
    etag = read.headers["etag"]
    unchanged = both_ways(client, monkeypatch, caplog, url, **{"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert both_ways(client, monkeypatch, caplog, f"{url}/_history/1").status_code == 200
    assert both_ways(client, monkeypatch, caplog, f"{url}/_history/9").status_code == 404
    missing = both_ways(client, monkeypatch, caplog, "/fhir/Observation/no-such-thing")
    assert missing.json()["issue"][0]["code"] == "not-found"
    assert client.delete(url).status_code == 204
    assert both_ways(client, monkeypatch, caplog, url).status_code == 410


def test_refusals_as_routed(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    theirs = create(client, observation(subject={"reference": "Patient/someone-else"}))
    url = f"/fhir/Observation/{theirs['id']}"
    fnr = persona("citizen").pid or ""
    gp = {"Authorization": f"Bearer {mint(tmp_path, 'gp', patient_fnr=fnr)}"}
    client.get("/fhir/Observation/warm-up", headers=gp)  # its token remembered
    assert both_ways(client, monkeypatch, caplog, url, **gp).status_code == 403
    # refused at the door: authentication answers before any route is looked for
    nobody = {"Authorization": ""}
    refused = both_ways(client, monkeypatch, caplog, url, dispatched=False, **nobody)
    assert refused.status_code == 401 and "www-authenticate" in refused.headers
    forged = {"Authorization": "Bearer not.a.token"}
    assert both_ways(client, monkeypatch, caplog, url, False, **forged).status_code == 401


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (psycopg.OperationalError("the database went away"), 503),  # an outage's handler
        (FhirError(503, error("too-costly", "stopped")), 503),  # the FHIR errors' handler
        (RuntimeError("a bug"), 500),  # no handler here: Starlette's outermost layer
    ],
    ids=["outage", "fhir-error", "unhandled"],
)
def test_a_dispatched_read_that_fails_is_answered_as_routed(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
    status: int,
) -> None:
    """The dispatch answers an error with the handler Starlette's exception layer would
    give it; what no handler takes goes on up as before (same answer, record, line)."""
    url = f"/fhir/Observation/{create(client, observation())['id']}"

    async def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(loop_read, "read", failing)
    assert both_ways(client, monkeypatch, caplog, url).status_code == status


def test_what_the_dispatch_leaves_to_the_router(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"/fhir/Observation/{create(client, observation())['id']}"
    for other in (
        f"{url}?_format=json",  # a query string
        "/fhir/Observation/bad$id",  # an invalid id: 400 from the read route
        "/fhir/NoSuchType/1",  # an unknown type: 400
        f"{url}/_history",  # the history
    ):
        both_ways(client, monkeypatch, caplog, other, dispatched=False)
    dispatch = dispatch_of(client)
    assert {"AuditEvent", "Binary"}.isdisjoint(dispatch.types)  # routes of their own
    assert {"Observation", "Patient", "DocumentReference"} <= dispatch.types


def test_the_dispatch_agrees_with_the_router_on_every_route(client: TestClient) -> None:
    """For each GET route, a path it serves: the dispatch takes it only for the generic
    read and vread, and then names the same endpoint and parameters as the router."""
    routes = client.app.router.routes  # type: ignore[attr-defined]
    dispatch = dispatch_of(client)
    for route in routes:
        if not isinstance(route, Route) or "GET" not in (route.methods or ()):
            continue
        path = PARAM.sub(lambda m: SAMPLES.get(m[1], "x1"), route.path_format)
        scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
        routed = next(r for r in routes if r.matches(scope)[0].name == "FULL")
        found = dispatch.route_of(scope)
        if found is None:
            assert routed not in (dispatch.read, dispatch.vread), path
        else:
            assert found[0] is routed, path
            assert found[1] == routed.matches(scope)[1]["path_params"], path
