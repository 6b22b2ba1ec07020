"""Hostile searches: random parameters, values, modifiers, prefixes and chains; paging and
history parameters; NUL bytes and huge integers; thousands of parameters."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from hostilekit import check, costly, hostile, resource_types, strings
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

NAMES = ["name", "family", "given", "birthdate", "gender", "identifier", "_id", "subject",
         "patient", "code", "date", "value-quantity", "status", "_lastUpdated", "_count",
         "_sort", "_include", "_revinclude", "_elements", "_summary", "_total", "_tag",
         "_profile", "_text", "_content", "_has", "_list", "_type", "_format", "_pretty",
         "subject.name", "subject:Patient.birthdate", "patient.identifier", "general-practitioner",
         "_has:Observation:subject:code", "_has:Observation:patient:_has:x:y:z", "component-code",
         "code-value-quantity", "combo-code-value-quantity", "value-concept", "near", "address",
         "telecom", "phone", "email", "organization", "link", "death-date", "onset-age",
         "clinical-status", "category", "encounter", "_security", "_source", "nope", "",
         "_snapshot", "_after", "_since", "_at", "_offset", "_containedType"]  # fmt: skip
MODIFIERS = ["", ":exact", ":contains", ":missing", ":not", ":above", ":below", ":text",
             ":of-type", ":identifier", ":in", ":not-in", ":Patient", ":iterate", ":x", ":",
             "::", ":Patient.name"]  # fmt: skip
PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap", "xx"]
VALUES = ["Berg", "kari", "1972", "1972-09-13", "1972-09-13T10:00:00+01:00", "2024-13-45",
          "Patient/p1", "p1", "Patient/p1/_history/1", "http://testserver/fhir/Patient/p1",
          "http://loinc.org|29463-7", "|29463-7", "http://loinc.org|", "72.5|http://unitsofmeasure.org|kg",
          "72.5||kg", "true", "false", "*", "Observation:subject", "Patient:general-practitioner",
          "Observation:subject:Patient", "family", "-family", "_lastUpdated,-_id", "name,gender",
          "count", "accurate", "0", "-1", "1000000", "1e3", "2147483648", "text", "data",
          "29463-7$gt70", "a,b,c", "a\\,b", "a\\|b", "a$b", "  ", "%", "_", "Ø", "ø"]  # fmt: skip

UNICODE = ["²", "١", "٣٤", "𝟙", "¹²"]  # digits to str.isdigit(), not to int()
names = st.sampled_from(NAMES) | strings
modifiers = st.sampled_from(MODIFIERS)
values = st.builds(lambda p, v: p + v, st.sampled_from(PREFIXES), st.sampled_from(VALUES) | strings)
pairs = st.lists(st.tuples(st.builds(lambda n, m: n + m, names, modifiers), values), max_size=8)


@hostile
@given(rtype=resource_types, query=pairs, post=st.booleans())
def test_random_search_strings(
    client: TestClient, rtype: str, query: list[tuple[str, str]], post: bool
) -> None:
    encoded = urlencode(query)
    if post:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        check(lambda: client.post(f"/fhir/{rtype}/_search", content=encoded, headers=headers))
    else:
        check(lambda: client.get(f"/fhir/{rtype}?{encoded}"))


@hostile
@given(raw=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80))
def test_raw_query_strings(client: TestClient, raw: str) -> None:
    """Query text as it comes, unencoded: stray %, &, =, ; and brackets."""
    check(lambda: client.get(f"/fhir/Observation?{raw.replace('#', '%23')}"))


@hostile
@given(
    where=st.sampled_from(["/fhir/Patient/_history", "/fhir/Patient/p1/_history"]),
    query=st.lists(
        st.tuples(st.sampled_from(["_since", "_at", "_count", "_list", "_sort"]), values),
        max_size=4,
    ),
)  # fmt: skip
def test_history_parameters(client: TestClient, where: str, query: list[tuple[str, str]]) -> None:
    check(lambda: client.get(f"{where}?{urlencode(query)}"))


@hostile
@given(
    vid=st.sampled_from(["1", "0", "-1", "01", "1.0", "x", "%20", "2147483647", "1e3", " 1"])
    | strings.filter(lambda s: not any(c.isdigit() for c in s))
)
def test_version_ids(client: TestClient, vid: str) -> None:
    check(lambda: client.get(f"/fhir/Patient/p1/_history/{quote(vid, safe='')}"))


@costly
@given(
    number=st.integers(2**31, 2**80) | st.integers(-(2**80), -(2**63)) | st.sampled_from(UNICODE),
    where=st.sampled_from(["vid", "_snapshot", "_after", "_count", "_offset"]),
)
def test_numbers_out_of_range(client: TestClient, number: int | str, where: str) -> None:
    """Integers beyond the columns' range (a version id is 32 bits) and digits that are not
    ASCII ('²'.isdigit() is true, int('²') fails)."""
    if where == "vid":
        check(lambda: client.get(f"/fhir/Patient/p1/_history/{quote(str(number))}"))
        return
    first = check(lambda: client.get("/fhir/Patient?_count=1"))
    check(lambda: client.get(f"/fhir/Patient?_count=1&{where}={number}"))
    links = [link["url"] for link in first.json().get("link", []) if link["relation"] == "next"]
    for url in links:  # the server's own next link, tampered
        tampered = url.replace("http://testserver", "") + f"&{where}={number}"
        check(lambda tampered=tampered: client.get(tampered))


@costly
@given(
    name=st.sampled_from(["_id", "identifier", "name", "code", "subject", "_text"]),
    before=strings,
    after=strings,
)
def test_nul_bytes_in_search(client: TestClient, name: str, before: str, after: str) -> None:
    value = quote(f"{before}\x00{after}", safe="")
    check(lambda: client.get(f"/fhir/Patient?{name}={value}"))


@costly
@given(count=st.integers(500, 3000), name=st.sampled_from(["name", "_id", "identifier"]))
def test_thousands_of_parameters(client: TestClient, count: int, name: str) -> None:
    query = "&".join(f"{name}=a{i}" for i in range(count))
    check(lambda: client.get(f"/fhir/Patient?{query}"))
