"""Hostile Bundles: transaction and batch entries with wrong types for request.method,
request.url, fullUrl and resource, duplicates, conditional headers and references between
entries."""

from __future__ import annotations

from typing import Any

from hostilekit import SEEDS, check, costly, dumps, hostile, json_values, strings
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "get", "", "TRACE"]
URLS = ["Patient", "Patient/p1", "Patient/new1", "Observation", "Patient?name=Berg", "",
        "Patient/p1/_history/1", "Patient/$validate", "http://testserver/fhir/Patient/p1",
        "urn:uuid:1", "Nope/1", "Patient/../Observation/o1", "/Patient", "metadata",
        "Patient?_id=p1&_count=0", "_history"]  # fmt: skip
FULL_URLS = ["urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "urn:uuid:x", "Patient/p1",
             "http://testserver/fhir/Patient/p1", "", "urn:oid:1.2", "#"]  # fmt: skip
resources = (
    st.sampled_from(SEEDS)
    | st.builds(
        lambda seed, element, value: {**seed, element: value},
        st.sampled_from(SEEDS),
        st.sampled_from(["id", "subject", "name", "status", "resourceType", "contained"]),
        json_values,
    )
    | st.just({"resourceType": "Bundle", "type": "transaction", "entry": []})
    | json_values
)
references = st.fixed_dictionaries(  # Observations pointing at other entries
    {"resourceType": st.just("Observation"), "status": st.just("final"),
     "code": st.just({"text": "x"}),
     "subject": st.fixed_dictionaries({"reference": st.sampled_from(FULL_URLS) | strings})}
)  # fmt: skip
requests = st.fixed_dictionaries(
    {"method": st.sampled_from(METHODS), "url": st.sampled_from(URLS) | strings},
    optional={
        "ifNoneExist": st.sampled_from(["identifier=x", "_id=p1", "", "name=Berg"]) | strings,
        "ifMatch": st.sampled_from(['W/"1"', 'W/"x"', "", "1"]) | strings,
        "ifNoneMatch": st.sampled_from(["*", 'W/"1"']) | strings,
        "ifModifiedSince": strings,
    },
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "fullUrl": st.sampled_from(FULL_URLS) | strings,
        "resource": resources | references,
        "request": requests | json_values,
        "search": json_values,
        "response": json_values,
    },
)
bundles = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(["Bundle", "Bundle", "Patient", "bundle"]),
        "type": st.sampled_from(["transaction", "batch", "document", "collection", "", "x"])
        | json_values,
        "entry": st.lists(entries, max_size=6) | json_values,
    },
    optional={"id": strings, "meta": json_values},
)


def _post(client: TestClient, bundle: Any) -> None:
    headers = {"Content-Type": "application/fhir+json"}
    check(lambda: client.post("/fhir", content=dumps(bundle), headers=headers))


@hostile
@given(bundle=bundles, duplicate=st.booleans())
def test_random_bundles(client: TestClient, bundle: dict[str, Any], duplicate: bool) -> None:
    entry = bundle.get("entry")
    if duplicate and isinstance(entry, list) and entry:
        entry.append(entry[0])  # the same fullUrl, the same request twice
    _post(client, bundle)


@costly
@given(
    kind=st.sampled_from(["transaction", "batch"]),
    method=st.lists(st.sampled_from(METHODS), min_size=1, max_size=2),
    full_url=st.dictionaries(strings, strings, max_size=2),
    which=st.sampled_from(["method", "fullUrl"]),
)
def test_methods_as_lists_and_full_urls_as_objects(
    client: TestClient, kind: str, method: list[str], full_url: dict[str, str], which: str
) -> None:
    entry: dict[str, Any] = {
        "fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
        "resource": {"resourceType": "Patient"},
        "request": {"method": "POST", "url": "Patient"},
    }
    if which == "method":
        entry["request"]["method"] = method
    else:
        entry["fullUrl"] = full_url
    _post(client, {"resourceType": "Bundle", "type": kind, "entry": [entry]})


@costly
@given(condition=st.sampled_from(["identifier=urn:x|1", "name=Berg", "_id=nope"]))
def test_duplicate_if_none_exist_in_a_transaction(client: TestClient, condition: str) -> None:
    entry = {
        "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "1"}]},
        "request": {"method": "POST", "url": "Patient", "ifNoneExist": condition},
    }
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry, entry]}
    response = check(
        lambda: client.post(
            "/fhir", content=dumps(bundle), headers={"Content-Type": "application/fhir+json"}
        )
    )
    assert response.status_code == 400, response.text  # deterministic: not 409 "retry"
