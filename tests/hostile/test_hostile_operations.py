"""Hostile calls of the extended operations and of paths the server does not know: random
Parameters bodies and query parameters, every method."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from hostilekit import check, dumps, hostile, json_values, strings
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

OPERATIONS = ["Patient/$allocate-fh", "Patient/$merge", "Patient/$match",
              "Patient/p1/$critical-information", "Patient/$critical-information",
              "Patient/p1/$critical-information-indicator", "Condition/x/$confirm",
              "Flag/x/$confirm", "CodeSystem/$lookup", "CodeSystem/$validate-code",
              "ValueSet/$validate-code", "ValueSet/$expand", "Patient/p1/$access-log",
              "AuditEvent/$emergency-report", "Patient/$everything", "$nope",
              "Patient/p1/$nope"]  # fmt: skip
PARAMETER_NAMES = ["patient", "source-patient", "result-patient", "resource", "system",
                   "code", "url", "filter", "count", "offset", "onlyCertainMatches",
                   "date", "_count", "display", "valueSet", "coding", "identifier"]  # fmt: skip
parameter = st.fixed_dictionaries(
    {"name": st.sampled_from(PARAMETER_NAMES) | strings},
    optional={
        "valueString": strings,
        "valueCode": strings,
        "valueUri": strings,
        "valueInteger": st.integers(-(2**40), 2**40),
        "valueBoolean": st.booleans(),
        "valueReference": st.fixed_dictionaries(
            {"reference": st.sampled_from(["Patient/p1", "Patient/nope", "x"]) | strings}
        ),
        "resource": json_values,
        "part": json_values,
    },
)
parameters = st.fixed_dictionaries(
    {"resourceType": st.just("Parameters"), "parameter": st.lists(parameter, max_size=4)}
)
queries = st.lists(
    st.tuples(st.sampled_from(PARAMETER_NAMES) | strings, strings | st.sampled_from(["p1"])),
    max_size=4,
)


@hostile
@given(
    operation=st.sampled_from(OPERATIONS),
    method=st.sampled_from(["GET", "POST"]),
    body=parameters | json_values,
    query=queries,
)
def test_operations_with_hostile_parameters(
    client: TestClient, operation: str, method: str, body: Any, query: list[tuple[str, str]]
) -> None:
    url = f"/fhir/{operation}?{urlencode(query)}"
    content = dumps(body) if method == "POST" else None
    headers = {"Content-Type": "application/fhir+json"}
    check(lambda: client.request(method, url, content=content, headers=headers))


SEGMENTS = ["Patient", "p1", "_history", "1", "$x", "_search", "metadata", ".well-known"]


@hostile
@given(
    segments=st.lists(st.sampled_from(SEGMENTS) | strings, max_size=5),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
)
def test_unknown_paths(client: TestClient, segments: list[str], method: str) -> None:
    path = "/".join(quote(segment, safe="") for segment in segments)
    check(lambda: client.request(method, f"/fhir/{path}"))
