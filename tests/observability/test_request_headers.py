"""The request's headers decoded once per request: every layer asks the same dict."""

from __future__ import annotations

from typing import Any

from samhandling.observability.request_context import request_headers


def scope_with(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "headers": headers}


def test_names_are_lower_case_and_values_decoded_as_latin_1() -> None:
    found = request_headers(scope_with([(b"accept", b"application/fhir+json"), (b"x-n", b"\xe6")]))
    assert found == {"accept": "application/fhir+json", "x-n": "æ"}


def test_a_repeated_header_gives_its_first_value_as_starlette_does() -> None:
    scope = scope_with([(b"if-none-match", b'"1"'), (b"if-none-match", b'"2"')])
    assert request_headers(scope)["if-none-match"] == '"1"'


def test_decoded_once_per_request() -> None:
    scope = scope_with([(b"authorization", b"Bearer abc")])
    first = request_headers(scope)
    scope["headers"] = [(b"authorization", b"Bearer changed")]  # not read again
    assert request_headers(scope) is first
    assert request_headers(scope_with([])) == {}
