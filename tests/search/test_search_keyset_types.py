"""Keyset paging over several types (issue #24): `Patient/x/*` and `_type=A,B` without
`_sort` are ordered by (type, id) and paged by a `Type/id` cursor, one statement of about
`_count + 1` rows per page instead of every match's key and a stored list."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from searchkit import BASE, SearchStore
from sqlalchemy import event, func, select
from starlette.testclient import TestClient

from fixtures.audit_records import recorded_events
from fixtures.fhir_app import FHIR_JSON
from samhandling.fhir.outcome import FhirError
from samhandling.interactions import search
from samhandling.search import paging
from samhandling.search.query import parse_search
from samhandling.search.restriction import SearchRestriction
from samhandling.search.sql import SearchSql
from samhandling.store.database import read_connection
from samhandling.store.schema import search_cache

Key = tuple[str, str]


def resource(kind: str, rid: str, patient: str = "p1") -> dict[str, Any]:
    subject = {"subject": {"reference": f"Patient/{patient}"}}
    bodies: dict[str, dict[str, Any]] = {
        "Observation": {"status": "final", "code": {"text": "puls"}, **subject},
        "Condition": subject,
        "Encounter": {"status": "finished", "class": {"code": "AMB"}, **subject},
    }
    return {"resourceType": kind, "id": rid, **bodies[kind]}


def record(store: SearchStore, sizes: dict[str, int], patient: str = "p1") -> list[Key]:
    """A patient with `sizes` resources of each type; their keys in (type, id) order."""
    made = [{"resourceType": "Patient", "id": patient}]
    for kind, size in sizes.items():
        prefix = kind[:3].lower() if patient == "p1" else f"{patient}-{kind[:3].lower()}"
        made += [resource(kind, f"{prefix}{n:03}", patient) for n in range(size)]
    store.put(*made)
    return sorted((r["resourceType"], r["id"]) for r in made)


def compartment(
    store: SearchStore, query: str, restriction: SearchRestriction | None = None
) -> dict[str, Any]:
    """`Patient/p1/*?query`, or with `_type=` `[base]?query`."""
    items = parse_qsl(query, keep_blank_values=True)
    scope = None if any(k == "_type" for k, _ in items) else ("Patient", "p1")
    with read_connection(store.engine) as connection:
        return search.system_search(
            connection, items, BASE, restriction=restriction, compartment=scope
        )


def keys(bundle: dict[str, Any]) -> list[Key]:
    return [
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in bundle["entry"]
        if e["search"]["mode"] == "match"
    ]


def link(bundle: dict[str, Any], relation: str) -> str | None:
    url = next((lk["url"] for lk in bundle["link"] if lk["relation"] == relation), None)
    return urlsplit(url).query if url else None


def walk(store: SearchStore, first: dict[str, Any], **options: Any) -> Iterator[dict[str, Any]]:
    page: dict[str, Any] | None = first
    while page is not None:
        yield page
        following = link(page, "next")
        page = compartment(store, following, **options) if following else None


def test_a_compartment_pages_by_type_and_id_while_it_changes(store: SearchStore) -> None:
    expected = record(store, {"Observation": 9, "Condition": 5, "Encounter": 4})
    record(store, {"Observation": 3}, patient="p2")  # another compartment
    first = compartment(store, "_count=4")
    assert keys(first) == expected[:4]
    assert first["total"] == 19
    assert "_after=Condition%2Fcon003" in (link(first, "next") or "")
    # between pages: one created after the cursor, one before it, one deleted, one updated
    store.put(resource("Observation", "obs100"), resource("Condition", "con-early"))
    store.delete("Observation", "obs002")
    store.put({**resource("Observation", "obs005"), "status": "amended"})
    seen, pages = [], list(walk(store, first))
    for page in pages:
        seen += keys(page)
    expected = sorted({*expected, ("Observation", "obs100")} - {("Observation", "obs002")})
    assert seen == [k for k in expected if k != ("Condition", "con-early")]
    assert all(page["total"] == 20 for page in pages[1:])  # the count as of each page
    amended = [e for e in pages[-2]["entry"] if e["resource"]["id"] == "obs005"]
    assert amended and amended[0]["resource"]["status"] == "amended"
    previous = compartment(store, link(pages[-1], "previous") or "")
    assert keys(previous) == keys(pages[-2])
    back = compartment(store, link(previous, "previous") or "")
    assert keys(back) == keys(pages[-3])


def test_a_type_list_pages_by_type_and_id(store: SearchStore) -> None:
    expected = record(store, {"Observation": 4, "Condition": 3, "Encounter": 2})
    store.put(resource("Condition", "zzz"), resource("Observation", "aaa"))
    expected = sorted([*expected, ("Condition", "zzz"), ("Observation", "aaa")])
    first = compartment(store, "_type=Observation,Condition&_count=3&_include=Observation:subject")
    wanted = [k for k in expected if k[0] in ("Observation", "Condition")]
    seen = [k for page in walk(store, first) for k in keys(page)]
    assert seen == wanted
    assert first["total"] == len(wanted)
    later = compartment(store, link(first, "next") or "")
    included = [e["resource"]["id"] for e in later["entry"] if e["search"]["mode"] == "include"]
    assert included == ["p1"]  # the subject of the page's Observations
    by_id = compartment(store, "_type=Observation,Condition&_sort=_id&_count=100")
    assert keys(by_id) == sorted(wanted, key=lambda k: (k[1], k[0]))  # _sort=_id: by id


class Judge:
    """A `hidden` test hiding every third Observation, noting what it is asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, resource: dict[str, Any]) -> bool:
        self.asked.append(resource["id"])
        return resource["resourceType"] == "Observation" and int(resource["id"][3:]) % 3 == 0


@contextmanager
def fetched_rows(store: SearchStore) -> Iterator[list[int]]:
    """The number of rows each statement that selects ordered matches returns (the statement
    is run once more with its parameters and its rows counted)."""
    statements: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "ORDER BY" in statement and "compartment" in statement:
            statements.append((statement, parameters))

    counts: list[int] = []
    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield counts
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    with store.engine.connect() as connection:
        for statement, parameters in statements:
            counts.append(len(connection.exec_driver_sql(statement, parameters).all()))


def test_the_first_page_reads_a_page_not_every_match(store: SearchStore) -> None:
    """Above `TOTAL_THRESHOLD` matches, under a `hidden` test as every HTTP search is: no
    statement returns more than the probe of `TOTAL_THRESHOLD + 1` rows and no list is
    stored; the pages still show every visible match once."""
    expected = record(store, {"Observation": 120, "Condition": 30})
    judge = Judge()
    restriction = SearchRestriction(hidden=judge, owner="gp")
    with fetched_rows(store) as counts:
        first = compartment(store, "_count=10", restriction)
    assert counts and max(counts) <= paging.TOTAL_THRESHOLD + 1
    assert sum(counts) < len(expected)
    assert len(judge.asked) <= 20  # the page, the look-ahead and a margin
    assert "total" not in first  # above the threshold, not every match was checked
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(search_cache)).scalar() == 0
    pages = list(walk(store, first, restriction=restriction))
    seen = [k for page in pages for k in keys(page)]
    visible = [k for k in expected if not (k[0] == "Observation" and int(k[1][3:]) % 3 == 0)]
    assert seen == visible
    previous = compartment(store, link(pages[-1], "previous") or "", restriction)
    assert keys(previous) == keys(pages[-2])


def test_the_total_under_a_hidden_test_below_the_threshold(store: SearchStore) -> None:
    expected = record(store, {"Observation": 12, "Condition": 4})
    restriction = SearchRestriction(hidden=Judge(), owner="gp")
    first = compartment(store, "_count=5", restriction)
    assert first["total"] == len(expected) - 4  # obs000, 003, 006, 009 hidden
    accurate = compartment(store, "_count=5&_total=accurate", restriction)
    assert accurate["total"] == len(expected) - 4


@pytest.mark.parametrize(
    "cursor",
    ["obs001", "Nonsense/obs001", "Organization/org1", "Observation/", "Observation/a b",
     "Observation/" + "x" * 65, ""],
)  # fmt: skip
def test_a_tampered_cursor_is_refused(store: SearchStore, cursor: str) -> None:
    record(store, {"Observation": 2})
    for name in ("_after", "_before"):
        with pytest.raises(FhirError) as refused:
            compartment(store, f"{name}={cursor}")
        assert refused.value.status == 400


def test_a_single_type_cursor_is_an_id(store: SearchStore) -> None:
    record(store, {"Observation": 3})
    assert store.ids("Observation", "_after=obs000") == ["obs001", "obs002"]
    with pytest.raises(FhirError) as refused:
        store.bundle("Observation", "_after=Observation/obs000")
    assert refused.value.status == 400


def test_a_tampered_cursor_is_an_audited_400_over_http(client: TestClient) -> None:
    for body in ({"resourceType": "Patient", "id": "p1"}, resource("Observation", "obs000")):
        url = f"/fhir/{body['resourceType']}/{body['id']}"
        assert client.put(url, content=orjson.dumps(body), headers=FHIR_JSON).status_code == 201
    first = client.get("/fhir/Patient/p1/*", params={"_count": "1"}).json()
    engine = client.app.state.engine  # type: ignore[attr-defined]
    entities = recorded_events(engine)[-1]["event"]["entity"]
    named = [
        e["what"]["reference"].split("/_history/")[0] for e in entities if e["role"]["code"] == "4"
    ]
    assert named == ["Observation/obs000"]  # what the page shows, not the look-ahead Patient
    following = link(first, "next") or ""
    assert "_after=Observation%2Fobs000" in following
    assert keys(client.get(f"/fhir/Patient/p1/*?{following}").json()) == [("Patient", "p1")]
    refused = client.get("/fhir/Patient/p1/*?_count=1&_after=Observation%2Fobs000%27--")
    assert refused.status_code == 400
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["_after"]
    audited = recorded_events(engine)[-1]
    assert audited["http_status"] == 400 and audited["outcome"] != "0"


def test_only_a_compartment_is_paged_in_index_order(store: SearchStore) -> None:
    """From the resource table (`_type=A,B`, `_lastUpdated`) the type is sorted as an
    expression, so that PostgreSQL sorts the few matches of a rare criterion rather than
    walk every key in order (`sorting.by_type`)."""
    types = ("Condition", "Observation")
    listed = parse_search("", [("_lastUpdated", "gt2099")], resource_types=types)
    in_compartment = parse_search("", [], resource_types=types)
    in_compartment.compartment = ("Patient", "p1")
    with read_connection(store.engine) as connection:
        builder = SearchSql(connection)
        for query, expression in ((listed, True), (in_compartment, False)):
            order = str(builder.ordered(query, after=("Condition", "c1")).compile())
            assert ("||" in order.split("ORDER BY")[1]) is expression
