"""Hostile request bodies: random JSON, wrong types for FHIR elements, huge numbers, broken
text, deep nesting and NUL bytes, sent as create, update and patch."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hostilekit import (
    SEEDS,
    check,
    costly,
    dumps,
    hostile,
    huge_numbers,
    ids,
    json_values,
    resource_types,
    strings,
)
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

CONTENT_TYPES = ["application/fhir+json", "application/json", "application/json-patch+json"]
# Elements of the seeded resources that a hostile value replaces.
ELEMENTS = {
    "Patient": ["id", "meta", "identifier", "name", "birthDate", "gender", "active",
                "telecom", "address", "contained", "extension", "text", "deceasedBoolean",
                "multipleBirthInteger", "link", "managingOrganization", "resourceType"],
    "Observation": ["status", "code", "subject", "valueQuantity", "effectiveDateTime",
                    "component", "valueInteger", "valueDecimal", "referenceRange",
                    "valueString", "meta", "id", "hasMember", "resourceType"],
}  # fmt: skip


def _send(client: TestClient, method: str, url: str, body: bytes, content_type: str) -> None:
    check(lambda: client.request(method, url, content=body, headers={"Content-Type": content_type}))


@hostile
@given(
    method=st.sampled_from(["POST", "PUT", "PATCH"]),
    rtype=resource_types,
    rid=ids,
    body=json_values,
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_random_json_bodies(
    client: TestClient, method: str, rtype: str, rid: str, body: Any, content_type: str
) -> None:
    if isinstance(body, dict) and rtype and not body.get("resourceType"):
        body["resourceType"] = rtype  # get past the first check now and then
    url = f"/fhir/{rtype}" if method == "POST" else f"/fhir/{rtype}/{quote(rid, safe='')}"
    _send(client, method, url, dumps(body), content_type)


@hostile
@given(
    seed=st.sampled_from(SEEDS),
    data=st.data(),
    value=json_values | huge_numbers,
    method=st.sampled_from(["POST", "PUT"]),
)
def test_fhir_elements_with_wrong_types(
    client: TestClient, seed: dict[str, Any], data: st.DataObject, value: Any, method: str
) -> None:
    element = data.draw(st.sampled_from(ELEMENTS[seed["resourceType"]]))
    body = {**seed, element: value}
    url = f"/fhir/{seed['resourceType']}" + (f"/{seed['id']}" if method == "PUT" else "")
    _send(client, method, url, dumps(body), "application/fhir+json")


@hostile
@given(
    raw=st.binary(max_size=200)
    | st.sampled_from(
        [b"", b"{", b"[]", b"null", b"1e999", b"-0", b'"x"', b"\xff\xfe", b"{\"a\":1}" * 3,
         b'{"resourceType":"Patient","birthDate":1e999}', b'{"resourceType":"Patient",}',
         b'{"resourceType":"Patient","id":"p1","id":"p2"}', b"\xef\xbb\xbf{}",
         b'{"resourceType":"Observation","status":"final","code":{},"valueInteger":'
         b"123456789012345678901234567890}"]
    ),
    target=st.sampled_from(["/fhir/Patient", "/fhir/Patient/p1", "/fhir", "/fhir/$validate"]),
    method=st.sampled_from(["POST", "PUT", "PATCH"]),
)  # fmt: skip
def test_broken_json_text(client: TestClient, raw: bytes, target: str, method: str) -> None:
    _send(client, method, target, raw, "application/fhir+json")


POINTERS = ["/name", "/name/0", "/name/-", "/gender", "/id", "", "/", "/meta/versionId",
            "/resourceType", "/a~1b", "/name/99", "/name/0/given/0"]  # fmt: skip
patch_operations = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "x"]) | strings,
        "path": st.sampled_from(POINTERS) | strings,
    },
    optional={"value": json_values, "from": st.sampled_from(["/name", "/gender", "/x"]) | strings},
)  # fmt: skip


@hostile
@given(operations=st.lists(patch_operations, max_size=6) | json_values)
def test_json_patch_documents(client: TestClient, operations: Any) -> None:
    _send(client, "PATCH", "/fhir/Patient/p1", dumps(operations), "application/json-patch+json")


@costly
@given(depth=st.integers(200, 1200), kind=st.sampled_from(["[", "{"]))
def test_deeply_nested_bodies(client: TestClient, depth: int, kind: str) -> None:
    inner = '{"a":' * depth + "1" + "}" * depth if kind == "{" else "[" * depth + "]" * depth
    body = f'{{"resourceType":"Patient","extension":{inner}}}'.encode()
    _send(client, "POST", "/fhir/Patient", body, "application/fhir+json")


@costly
@given(before=strings, after=strings, element=st.sampled_from(["family", "id", "birthDate"]))
def test_nul_bytes_in_bodies(client: TestClient, before: str, after: str, element: str) -> None:
    value = f"{before}\x00{after}"
    body = {"resourceType": "Patient", "name": [{"family": value}]}
    if element != "family":
        body[element] = value
    _send(client, "POST", "/fhir/Patient", dumps(body), "application/fhir+json")
