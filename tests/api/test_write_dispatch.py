"""Plain writes found without the route walk (`InteractionDispatch`, issue 24) answer exactly
as the router's: each case is asked once dispatched and once with the dispatch switched off, and the
two answers (status, body, headers), audit records, request log lines and metrics compared
with the ids and times of what each wrote put aside (two writes cannot share them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from fixtures.dispatch_spy import dispatch_taken, routed_only
from fixtures.fhir_app import FHIR_JSON, make_client, mint
from fixtures.read_paths import last_record
from samhandling.api.interaction_dispatch import InteractionDispatch
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud

OWN_HEADERS = ("date", "x-request-id", "last-modified")
LOG_FIELDS = ("method", "path", "status", "interaction", "refusal")
PARAM = re.compile(r"\{(\w+)\}")
SAMPLES = {"type": "Patient", "ctype": "Patient", "op": "$everything", "vid": "1"}
INSTANT = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)")
HTTP_DATE = re.compile(rb"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(database_url, tmp_path) as test_client:
        yield test_client


def observation(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "vekt"}, **extra}


def created(client: TestClient, body: dict[str, Any] | None = None) -> str:
    content = orjson.dumps(body or observation())
    response = client.post("/fhir/Observation", content=content, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def metrics_of(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    counted = (line.rsplit(" ", 1) for line in text.splitlines())
    return {k: float(v) for k, v in counted if k.startswith("samhandling_requests_total")}


def plain(value: Any, ids: tuple[str, ...]) -> bytes:
    """`value` as JSON with the written ids and the times put aside."""
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    for written in ids:
        data = data.replace(written.encode(), b"<id>")
    return HTTP_DATE.sub(b"<date>", INSTANT.sub(b"<instant>", data))


def asked(
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
    method: str,
    url: str,
    body: Any,
    headers: dict[str, str],
) -> tuple[Any, ...]:
    """One request: its answer, audit record, log line and the requests it counted."""
    before = metrics_of(client)
    if callable(body):  # the body of the resource the URL names
        body = body(url.split("?")[0].rsplit("/", 1)[-1])
    content = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
    response = client.request(method, url, content=content, headers={**FHIR_JSON, **headers})
    counted = metrics_of(client)
    increase = {k: v - before.get(k, 0.0) for k, v in counted.items() if v != before.get(k, 0.0)}
    lines = [r for r in caplog.records if r.name == "samhandling.request"]
    line = {name: getattr(lines[-1], name, None) for name in LOG_FIELDS}
    record = last_record(client)
    kept = {k: v for k, v in response.headers.items() if k not in OWN_HEADERS}
    shown = response.json() if response.content else None
    answer = {"status": response.status_code, "headers": kept, "body": shown}
    return response, answer, record, line, increase


def both_ways(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    method: str,
    urls: tuple[str, str],
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    dispatched: bool = True,
) -> Any:
    """The write to `urls[0]` through the dispatch (`dispatched`: it must take it, or must
    not), checked against the router's to `urls[1]` (the same write to its twin)."""
    caplog.set_level(logging.INFO, logger="samhandling.request")
    with dispatch_taken(monkeypatch) as taken:
        fast, *seen = asked(client, caplog, method, urls[0], body, headers or {})
    assert taken == ([urls[0].split("?")[0]] if dispatched else [])
    with routed_only(monkeypatch):
        routed, *routed_seen = asked(client, caplog, method, urls[1], body, headers or {})
    ids = tuple(_written_ids(fast, urls[0]) | _written_ids(routed, urls[1]))
    assert plain(seen, ids) == plain(routed_seen, ids)
    assert ("last-modified" in fast.headers) == ("last-modified" in routed.headers)
    return fast


def _written_ids(response: Any, url: str) -> set[str]:
    ids = {url.split("?")[0].rstrip("/").split("/")[-1]} if url.count("/") >= 3 else set()
    if response.content and response.headers.get("content-type", "").endswith("json"):
        content = response.json()
        if content.get("resourceType") == "Observation":
            ids.add(content["id"])
    location = response.headers.get("location")
    if location:
        ids.add(location.split("/_history")[0].rsplit("/", 1)[-1])
    return {i for i in ids if i not in ("Observation", "")}


def test_create_update_delete_as_routed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pair = ("/fhir/Observation", "/fhir/Observation")
    made = both_ways(client, monkeypatch, caplog, "POST", pair, observation())
    assert made.status_code == 201 and {"location", "etag", "last-modified"} <= set(made.headers)
    minimal = {"Prefer": "return=minimal"}
    assert not both_ways(client, monkeypatch, caplog, "POST", pair, observation(), minimal).content
    outcome = {"Prefer": "return=OperationOutcome"}
    both_ways(client, monkeypatch, caplog, "POST", pair, observation(), outcome)
    twins = (f"/fhir/Observation/{created(client)}", f"/fhir/Observation/{created(client)}")
    changed = lambda rid: observation(id=rid, status="amended")  # noqa: E731
    updated = both_ways(client, monkeypatch, caplog, "PUT", twins, changed)
    assert updated.status_code == 200 and updated.headers["etag"] == 'W/"2"'
    stale = {"If-Match": 'W/"1"'}
    assert both_ways(client, monkeypatch, caplog, "PUT", twins, changed, stale).status_code == 412
    other = both_ways(client, monkeypatch, caplog, "PUT", twins, observation(id="someone"))
    assert other.status_code == 400  # the body's id is not the URL's
    new = ("/fhir/Observation/new-one", "/fhir/Observation/new-two")
    made_here = both_ways(client, monkeypatch, caplog, "PUT", new, lambda rid: observation(id=rid))
    assert made_here.status_code == 201 and "location" in made_here.headers
    gone = both_ways(client, monkeypatch, caplog, "DELETE", twins, None, stale)
    assert gone.status_code == 412
    deleted = both_ways(client, monkeypatch, caplog, "DELETE", twins)
    assert deleted.status_code == 204 and "etag" in deleted.headers
    unknown = ("/fhir/Observation/no-such-one", "/fhir/Observation/no-such-one")
    assert both_ways(client, monkeypatch, caplog, "DELETE", unknown).status_code in (204, 404)


def test_bad_bodies_and_refusals_as_routed(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    pair = ("/fhir/Observation", "/fhir/Observation")
    bad = both_ways(client, monkeypatch, caplog, "POST", pair, b"{not json")
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    invalid = both_ways(client, monkeypatch, caplog, "POST", pair, {"resourceType": "Observation"})
    assert invalid.status_code in (400, 422)
    wrong = both_ways(client, monkeypatch, caplog, "POST", ("/fhir/Patient",) * 2, observation())
    assert wrong.status_code == 400
    citizen = {"Authorization": f"Bearer {mint(tmp_path, 'citizen')}"}
    client.get("/fhir/Observation/warm-up", headers=citizen)  # its token remembered
    theirs = observation(subject={"reference": "Patient/someone-else"})
    refused = both_ways(client, monkeypatch, caplog, "POST", pair, theirs, citizen)
    assert refused.status_code == 403
    twins = (f"/fhir/Observation/{created(client)}", f"/fhir/Observation/{created(client)}")
    assert both_ways(client, monkeypatch, caplog, "DELETE", twins, None, citizen).status_code == 403
    nobody = {"Authorization": ""}  # refused at the door, before any route is looked for
    door = both_ways(
        client, monkeypatch, caplog, "POST", pair, observation(), nobody, dispatched=False
    )
    assert door.status_code == 401


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (FhirError(503, error("too-costly", "stopped")), 503),  # the FHIR errors' handler
        (RuntimeError("a bug"), 500),  # no handler here: Starlette's outermost layer
    ],
    ids=["fhir-error", "unhandled"],
)
def test_a_dispatched_write_that_fails_is_answered_as_routed(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
    status: int,
) -> None:
    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(crud, "create", failing)
    pair = ("/fhir/Observation", "/fhir/Observation")
    assert both_ways(client, monkeypatch, caplog, "POST", pair, observation()).status_code == status


def not_taken(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, method: str, url: str, body: Any = None
) -> Any:
    """The answer to a request the dispatch must leave to the router."""
    taken: list[bool] = []
    original = InteractionDispatch.take

    def take(self: InteractionDispatch, scope: Any) -> bool:
        taken.append(original(self, scope))
        return taken[-1]

    with monkeypatch.context() as spied:
        spied.setattr(InteractionDispatch, "take", take)
        content = None if body is None else orjson.dumps(body)
        response = client.request(method, url, content=content, headers=FHIR_JSON)
    assert taken == [False], url
    return response


def test_conditional_writes_and_own_routes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """If-None-Exist is a header: the create is dispatched, its endpoint reads it as when
    routed. A query string (conditional create, update, delete) goes to the router."""
    tagged = lambda value: observation(identifier=[{"system": "urn:x", "value": value}])  # noqa: E731
    for value in ("one", "two"):
        created(client, tagged(value))
    pair = ("/fhir/Observation", "/fhir/Observation")
    exists = {"If-None-Exist": "identifier=urn:x|one"}
    found = both_ways(client, monkeypatch, caplog, "POST", pair, tagged("one"), exists)
    assert found.status_code == 200
    query = "/fhir/Observation?identifier=urn:x|one"
    assert not_taken(client, monkeypatch, "POST", query, tagged("one")).status_code == 200
    assert not_taken(client, monkeypatch, "PUT", query, tagged("one")).status_code == 200
    formatted = f"/fhir/Observation/{created(client)}?_format=json"
    assert not_taken(client, monkeypatch, "DELETE", formatted).status_code == 204
    assert not_taken(client, monkeypatch, "DELETE", query).status_code == 204
    assert client.get(query).json()["total"] == 0
    refused = not_taken(
        client, monkeypatch, "POST", "/fhir/AuditEvent", {"resourceType": "AuditEvent"}
    )
    assert refused.status_code >= 400
    dispatch: InteractionDispatch = client.app.state.interaction_dispatch  # type: ignore[attr-defined]
    for key in (("POST", 1), ("PUT", 2), ("DELETE", 2)):
        assert "AuditEvent" not in dispatch.entries[key].types
        assert {"Observation", "Patient"} <= dispatch.entries[key].types
    assert "Binary" not in dispatch.entries[("POST", 1)].types


def test_the_dispatch_agrees_with_the_router_on_every_route(client: TestClient) -> None:
    """For each route and method, a path it serves: the dispatch takes it only for a generic
    route, and then names the same route and parameters as the router."""
    routes = client.app.router.routes  # type: ignore[attr-defined]
    dispatch: InteractionDispatch = client.app.state.interaction_dispatch  # type: ignore[attr-defined]
    generic = [entry.route for entry in dispatch.entries.values()]
    for route in routes:
        if not isinstance(route, Route):
            continue
        for method in route.methods or ("GET", "POST", "PUT", "DELETE"):
            path = PARAM.sub(lambda m: SAMPLES.get(m[1], "x1"), route.path_format)
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            routed = next(r for r in routes if r.matches(scope)[0].name == "FULL")
            found = dispatch.route_of(scope)
            if found is None:
                assert not any(routed is g for g in generic) or method == "HEAD", (method, path)
            else:
                assert found[0] is routed, (method, path)
                assert found[1] == routed.matches(scope)[1]["path_params"], (method, path)
