"""Metrics labels and JSON logs: operations are operations, every line names its request and
client, no terminal colours in JSON, and a refusal is logged once."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import mint
from samhandling.observability.json_logging import JsonFormatter
from samhandling.observability.metrics import interaction_name

ATC = "http://www.whocc.no/atc"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/fhir/CodeSystem/$lookup", "operation"),
        ("GET", "/fhir/Patient/1/$everything", "operation"),
        ("GET", "/fhir/Patient/$critical-information-indicator", "operation"),
        ("POST", "/fhir/Patient/$match", "operation"),
        ("GET", "/fhir/$export", "operation"),
        ("GET", "/fhir/Patient/1", "read"),
        ("GET", "/fhir/Patient", "search"),
        ("POST", "/fhir/Patient", "create"),
        ("GET", "/fhir/Patient/1/_history/2", "vread"),
        ("GET", "/fhir/Patient/1/_history", "history"),
        ("POST", "/fhir/Patient/_search", "search"),
        ("POST", "/fhir/_search", "search"),
        ("GET", "/fhir/Patient/1/Observation", "search"),
        ("POST", "/fhir/Patient/1/Observation/_search", "search"),
        ("GET", "/fhir/_export/1/Observation.ndjson", "read"),
        ("POST", "/fhir", "transaction"),
    ],
)
def test_interaction_names(method: str, path: str, expected: str) -> None:
    assert interaction_name(method, path) == expected


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the JSON log handler writes while a test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """The server's lines (not the test client's own)."""
    found = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in found if not line["logger"].startswith("httpx")]


def test_a_get_operation_is_counted_as_an_operation(client: TestClient) -> None:
    response = client.get("/fhir/CodeSystem/$lookup", params={"system": ATC, "code": "N02BE01"})
    assert response.status_code == 200, response.text
    metrics = client.get("/metrics").text
    assert 'samhandling_requests_total{interaction="operation",status="200"} 1.0' in metrics
    assert 'interaction="read"' not in metrics


def test_each_request_line_has_the_request_id_and_the_client_id(
    client: TestClient, json_lines: io.StringIO
) -> None:
    given = client.get("/fhir/Patient", headers={"X-Request-ID": "epj-4711"})
    made = client.get("/fhir/Patient", headers={"X-Request-ID": "not a plain token!"})
    assert given.headers["x-request-id"] == "epj-4711"
    assert len(made.headers["x-request-id"]) == 32  # a new id: the client's was not plain
    requests = [line for line in _lines(json_lines) if line["message"] == "request"]
    assert [line["request_id"] for line in requests] == ["epj-4711", made.headers["x-request-id"]]
    assert all(line["client_id"] for line in requests)
    assert all(line["interaction"] == "search" for line in requests)


def test_a_refusal_is_logged_once(client: TestClient, json_lines: io.StringIO, tmp_path) -> None:
    token = mint(tmp_path, "system")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    lines = _lines(json_lines)
    assert len(lines) == 1, lines
    (line,) = lines
    assert line["status"] == 401 and line["refusal"].startswith("invalid_token")
    assert line["client_id"] is None and line["request_id"]
    assert forged not in json_lines.getvalue() and token[-20:] not in json_lines.getvalue()


def test_no_terminal_colours_inside_json_logs(json_lines: io.StringIO) -> None:
    # What uvicorn logs at start: a colour copy of the message as an extra.
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on %s (Press CTRL+C to quit)",
        "http://127.0.0.1:8080",
        extra={"color_message": "Uvicorn running on \x1b[1m%s\x1b[0m (Press CTRL+C to quit)"},
    )
    logging.getLogger("samhandling.test").warning("\x1b[31mred\x1b[0m", extra={"x": "\x1b[2Kx"})
    assert "\x1b" not in json_lines.getvalue() and "\\u001b" not in json_lines.getvalue()
    first, second = _lines(json_lines)
    assert "color_message" not in first
    assert first["message"] == "Uvicorn running on http://127.0.0.1:8080 (Press CTRL+C to quit)"
    assert (second["message"], second["x"]) == ("red", "x")


def test_the_remembered_series_count_each_interaction_and_status_apart() -> None:
    from samhandling.observability.metrics import Metrics

    metrics = Metrics()
    assert metrics.series("read", 200) is metrics.series("read", 200)
    assert metrics.series("read", 200) is not metrics.series("read", 404)
    assert metrics.series("read", 200).errors is None
    for interaction, status in [("read", 200), ("read", 200), ("read", 404), ("search", 200)]:
        series = metrics.series(interaction, status)
        series.requests.inc()
        series.latency.observe(0.002)
        if series.errors is not None:
            series.errors.inc()
    value = metrics.registry.get_sample_value
    assert value("samhandling_requests_total", {"interaction": "read", "status": "200"}) == 2
    assert value("samhandling_requests_total", {"interaction": "read", "status": "404"}) == 1
    assert value("samhandling_requests_total", {"interaction": "search", "status": "200"}) == 1
    assert value("samhandling_errors_total", {"interaction": "read", "status": "404"}) == 1
    assert value("samhandling_errors_total", {"interaction": "read", "status": "200"}) is None
    assert value("samhandling_request_seconds_count", {"interaction": "read"}) == 3
    assert value("samhandling_request_seconds_count", {"interaction": "search"}) == 1
