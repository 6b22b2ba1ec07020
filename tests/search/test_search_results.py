"""Result parameters: _sort, _count, _total, _summary, _elements, and stable paging."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from searchkit import SearchStore

from samhandling.fhir.outcome import FhirError


def people(store: SearchStore) -> None:
    store.put(
        {
            "resourceType": "Patient",
            "id": "a",
            "gender": "female",
            "birthDate": "1990-05",
            "name": [{"family": "Berg", "given": ["Zoe"]}],
            "text": {"status": "generated", "div": "<div/>"},
        },
        {
            "resourceType": "Patient",
            "id": "b",
            "gender": "male",
            "birthDate": "1985-01-01",
            "name": [{"family": "Aas"}],
        },
        {
            "resourceType": "Patient",
            "id": "c",
            "gender": "female",
            "birthDate": "1990-05-20",
            "name": [{"family": "Berg", "given": ["Anne"]}],
        },
        {"resourceType": "Patient", "id": "d", "gender": "male"},
    )


def test_sort_by_several_keys_and_directions(store: SearchStore) -> None:
    people(store)
    assert store.ids("Patient", "_sort=family,given") == ["b", "c", "a", "d"]
    assert store.ids("Patient", "_sort=-family,given") == ["c", "a", "b", "d"]
    assert store.ids("Patient", "_sort=gender,-birthdate") == ["a", "c", "b", "d"]
    assert store.ids("Patient", "_sort=birthdate") == ["b", "a", "c", "d"]
    assert store.ids("Patient", "_sort=-_id") == ["d", "c", "b", "a"]


def test_sort_by_date_uses_the_range(store: SearchStore) -> None:
    people(store)
    # "1990-05" starts before "1990-05-20" and ends after it
    assert store.ids("Patient", "_sort=birthdate&birthdate:missing=false") == ["b", "a", "c"]
    assert store.ids("Patient", "_sort=-birthdate&birthdate:missing=false") == ["a", "c", "b"]


def test_sort_on_unknown_or_composite_is_refused(store: SearchStore) -> None:
    with pytest.raises(FhirError):
        store.bundle("Patient", "_sort=nope")
    with pytest.raises(FhirError):
        store.bundle("Observation", "_sort=code-value-quantity")


def test_total_modes_and_count(store: SearchStore) -> None:
    people(store)
    assert store.bundle("Patient", "_count=1")["total"] == 4
    assert "total" not in store.bundle("Patient", "_total=none")
    assert store.bundle("Patient", "_total=estimate")["total"] == 4
    counted = store.bundle("Patient", "_summary=count&gender=male")
    assert counted["total"] == 2 and counted["entry"] == []
    assert store.bundle("Patient", "_count=0")["entry"] == []


def test_summary_and_elements(store: SearchStore) -> None:
    people(store)
    entry = store.bundle("Patient", "_id=a&_summary=true")["entry"][0]["resource"]
    assert "text" not in entry and entry["name"] and entry["gender"] == "female"
    assert entry["meta"]["tag"][-1]["code"] == "SUBSETTED"
    data = store.bundle("Patient", "_id=a&_summary=data")["entry"][0]["resource"]
    assert "text" not in data and "name" in data
    text = store.bundle("Patient", "_id=a&_summary=text")["entry"][0]["resource"]
    assert "text" in text and "name" not in text
    elements = store.bundle("Patient", "_id=a&_elements=gender")["entry"][0]["resource"]
    assert set(elements) == {"resourceType", "id", "meta", "gender"}
    full = store.bundle("Patient", "_id=a")["entry"][0]["resource"]
    assert "text" in full and "tag" not in full["meta"]


def links(bundle: dict) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle["link"]}


def follow(store: SearchStore, url: str) -> dict:
    parts = urlsplit(url)
    resource_type = parts.path.rsplit("/", 1)[-1]
    return store.bundle(resource_type, parts.query)


def test_paging_by_id_is_stable_while_resources_change(store: SearchStore) -> None:
    store.put(*({"resourceType": "Patient", "id": f"p{i:02}", "gender": "male"} for i in range(10)))
    first = store.bundle("Patient", "gender=male&_count=4")  # by id: keyset paging
    assert "_after=p03" in links(first)["next"]
    seen = [e["resource"]["id"] for e in first["entry"]]
    store.put({"resourceType": "Patient", "id": "p000", "gender": "male"})  # sorts before
    store.put({"resourceType": "Patient", "id": "p07", "gender": "male", "active": True})
    store.put({"resourceType": "Patient", "id": "p01", "gender": "male", "active": True})
    page = first
    while "next" in links(page):
        page = follow(store, links(page)["next"])
        seen += [e["resource"]["id"] for e in page["entry"]]
        assert page["total"] == 11  # the count as of this page
    assert seen == [f"p{i:02}" for i in range(10)]
    previous = follow(store, links(page)["previous"])
    assert [e["resource"]["id"] for e in previous["entry"]] == ["p04", "p05", "p06", "p07"]
    assert previous["entry"][3]["resource"]["active"] is True
    back = follow(store, links(previous)["previous"])
    assert [e["resource"]["id"] for e in back["entry"]] == ["p000", "p01", "p02", "p03"]
    descending = store.bundle("Patient", "gender=male&_count=4&_sort=-_id&_after=p05")
    assert [e["resource"]["id"] for e in descending["entry"]] == ["p04", "p03", "p02", "p01"]


def test_paging_is_stable_while_resources_change(store: SearchStore) -> None:
    store.put(
        *(
            {"resourceType": "Patient", "id": f"p{i:02}", "gender": "male",
             "name": [{"family": f"F{i:02}"}]}
            for i in range(10)
        )
    )  # fmt: skip
    first = store.bundle("Patient", "gender=male&_count=4&_sort=family")
    seen = [e["resource"]["id"] for e in first["entry"]]
    assert seen == ["p00", "p01", "p02", "p03"]
    # between page requests: a new match, an update that moves a resource to the front of the
    # default order, and an update of one already seen
    store.put({"resourceType": "Patient", "id": "p000", "gender": "male",
               "name": [{"family": "A"}]})  # fmt: skip
    store.put({"resourceType": "Patient", "id": "p07", "gender": "male", "active": True,
               "name": [{"family": "A7"}]})  # fmt: skip
    store.put({"resourceType": "Patient", "id": "p01", "gender": "male", "active": True,
               "name": [{"family": "Z1"}]})  # fmt: skip
    page = first
    while "next" in links(page):
        page = follow(store, links(page)["next"])
        seen += [e["resource"]["id"] for e in page["entry"]]
        assert page["total"] == 10
    assert seen == [f"p{i:02}" for i in range(10)]
    updated = [e["resource"] for e in page["entry"] if e["resource"]["id"] == "p09"]
    assert updated  # the last page
    previous = follow(store, links(page)["previous"])
    assert [e["resource"]["id"] for e in previous["entry"]] == ["p04", "p05", "p06", "p07"]
    assert previous["entry"][3]["resource"]["active"] is True  # the current version is shown


def test_paging_with_default_order_has_no_duplicates(store: SearchStore) -> None:
    store.put(*({"resourceType": "Patient", "id": f"q{i}"} for i in range(7)))
    page = store.bundle("Patient", "_count=3&_sort=-_lastUpdated")
    seen = [e["resource"]["id"] for e in page["entry"]]
    store.put({"resourceType": "Patient", "id": seen[-1], "active": False})  # now the newest
    while "next" in links(page):
        page = follow(store, links(page)["next"])
        seen += [e["resource"]["id"] for e in page["entry"]]
    assert sorted(seen) == [f"q{i}" for i in range(7)]


def test_expired_or_foreign_cursor_is_410(store: SearchStore) -> None:
    store.put(*({"resourceType": "Patient", "id": f"r{i}", "gender": "male"} for i in range(3)))
    first = store.bundle("Patient", "gender=male&_count=1&_sort=-_lastUpdated")
    cursor = dict(parse_qsl(urlsplit(links(first)["next"]).query))["_cursor"]
    with pytest.raises(FhirError) as caught:
        store.bundle("Patient", f"gender=female&_count=1&_cursor={cursor}&_offset=1")
    assert caught.value.status == 410
    with pytest.raises(FhirError) as caught:
        store.bundle("Patient", "gender=male&_cursor=nope&_offset=1")
    assert caught.value.status == 410


def test_deleted_resources_are_not_found(store: SearchStore) -> None:
    store.put({"resourceType": "Patient", "id": "gone", "gender": "male"})
    store.delete("Patient", "gone")
    assert store.found("Patient", "gender=male") == set()
    assert store.found("Patient", "") == set()
