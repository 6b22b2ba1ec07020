"""The trust framework's hook: a SearchRestriction narrows every part of a search."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from searchkit import BASE, SearchStore

from samhandling.interactions import search
from samhandling.search import paging
from samhandling.search.restriction import SearchRestriction
from samhandling.store.database import read_connection

ONLY_P1 = SearchRestriction(patient_ids=frozenset({"p1"}))
SECRET = SearchRestriction(hidden=lambda r: "secret" in str(r.get("note", "")))


def world(store: SearchStore) -> None:
    store.put(
        {"resourceType": "Organization", "id": "org", "name": "Sykehus"},
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": "Hansen"}],
            "managingOrganization": {"reference": "Organization/org"},
        },
        {
            "resourceType": "Patient",
            "id": "p2",
            "name": [{"family": "Hansen"}],
            "link": [{"other": {"reference": "Patient/p1"}, "type": "seealso"}],
        },
        *(
            {
                "resourceType": "Observation",
                "id": f"{p}-{n}",
                "status": "final",
                "code": {"coding": [{"code": "bp"}]},
                "subject": {"reference": f"Patient/{p}"},
                **({"note": [{"text": "secret"}]} if n == 0 else {}),
            }
            for p in ("p1", "p2")
            for n in range(3)
        ),
    )


def test_patient_ids_limit_matches_and_totals(store: SearchStore) -> None:
    world(store)
    bundle = store.bundle("Observation", "code=bp", restriction=ONLY_P1)
    assert {e["resource"]["id"] for e in bundle["entry"]} == {"p1-0", "p1-1", "p1-2"}
    assert bundle["total"] == 3
    # Patient resources by their own id only: p2 links to p1 but is not p1
    assert store.found("Patient", "name=hansen", restriction=ONLY_P1) == {"p1"}
    # resources outside every patient compartment are not returned either
    assert store.found("Organization", "", restriction=ONLY_P1) == set()


def test_patient_ids_apply_to_includes_chains_and_has(store: SearchStore) -> None:
    world(store)
    bundle = store.bundle(
        "Patient", "_revinclude=Observation:subject&_include=Patient:link", restriction=ONLY_P1
    )
    ids = {e["resource"]["id"] for e in bundle["entry"]}
    assert ids == {"p1", "p1-0", "p1-1", "p1-2"}
    assert store.found("Observation", "subject:Patient.name=hansen", restriction=ONLY_P1) == {
        "p1-0",
        "p1-1",
        "p1-2",
    }
    assert store.found("Patient", "_has:Observation:subject:code=bp", restriction=ONLY_P1) == {"p1"}
    included = store.bundle(
        "Observation", "_id=p1-1&_include=Observation:subject", restriction=ONLY_P1
    )
    assert len(included["entry"]) == 2


def test_hidden_resources_leave_no_trace(store: SearchStore) -> None:
    world(store)
    bundle = store.bundle("Observation", "code=bp&_count=2&_sort=subject", restriction=SECRET)
    assert bundle["total"] == 4  # counted after the restriction
    seen = [e["resource"]["id"] for e in bundle["entry"]]
    next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    query = next_url.split("?", 1)[1]
    later = store.bundle("Observation", query, restriction=SECRET)
    seen += [e["resource"]["id"] for e in later["entry"]]
    assert sorted(seen) == ["p1-1", "p1-2", "p2-1", "p2-2"]
    assert "_offset=2" in next_url  # offsets count visible matches only
    assert store.bundle("Observation", "code=bp&_summary=count", restriction=SECRET)["total"] == 4


def test_hidden_applies_to_chains_has_and_includes(store: SearchStore) -> None:
    world(store)
    hide_p2 = SearchRestriction(hidden=lambda r: r.get("id") == "p2")
    assert store.found("Observation", "subject:Patient.name=hansen", restriction=hide_p2) == {
        "p1-0",
        "p1-1",
        "p1-2",
    }
    hide_p1_obs = SearchRestriction(hidden=lambda r: r.get("id", "").startswith("p1-"))
    assert store.found("Patient", "_has:Observation:subject:code=bp", restriction=hide_p1_obs) == {
        "p2"
    }
    bundle = store.bundle(
        "Observation", "_id=p2-1&_include=Observation:subject", restriction=hide_p2
    )
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["p2-1"]


def test_a_cursor_is_bound_to_its_restriction(store: SearchStore) -> None:
    world(store)
    bundle = store.bundle("Observation", "code=bp&_count=2&_sort=subject")
    next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    items = parse_qsl(next_url.split("?", 1)[1])
    with read_connection(store.engine) as connection:
        try:
            search.search(connection, "Observation", items, BASE, restriction=ONLY_P1)
        except Exception as exc:
            assert getattr(exc, "status", None) == 410
        else:
            raise AssertionError("a cursor made without a restriction served a restricted caller")


def test_compartment_search_honours_the_restriction(store: SearchStore) -> None:
    world(store)
    items = [("code", "bp")]
    with read_connection(store.engine) as connection:
        bundle = search.search(
            connection,
            "Observation",
            items,
            BASE,
            restriction=ONLY_P1,
            compartment=("Patient", "p2"),
        )
        assert bundle["entry"] == [] and bundle["total"] == 0
        own = search.search(
            connection,
            "Observation",
            items,
            BASE,
            restriction=ONLY_P1,
            compartment=("Patient", "p1"),
        )
        assert own["total"] == 3


def test_hidden_with_many_matches_is_checked_lazily(
    store: SearchStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above `TOTAL_THRESHOLD` matches, `total` is given only when every match was checked."""
    monkeypatch.setattr(paging, "TOTAL_THRESHOLD", 50)
    store.put(
        *(
            {"resourceType": "Patient", "id": f"m{i:03}", "gender": "male",
             "active": i % 3 != 0}
            for i in range(90)
        )
    )  # fmt: skip
    checked: list[str] = []

    def hidden(resource: dict) -> bool:
        checked.append(resource["id"])
        return resource.get("active") is False

    restriction = SearchRestriction(hidden=hidden, owner="tester")
    first = store.bundle("Patient", "gender=male&_count=5&_sort=_id", restriction=restriction)
    assert "_after=m007" in next(
        link["url"] for link in first["link"] if link["relation"] == "next"
    )
    assert [e["resource"]["id"] for e in first["entry"]] == ["m001", "m002", "m004", "m005", "m007"]
    assert "total" not in first  # not every match was checked: no number is given
    assert len(checked) < 40
    seen = [e["resource"]["id"] for e in first["entry"]]
    page = first
    while nxt := [link["url"] for link in page["link"] if link["relation"] == "next"]:
        page = store.bundle("Patient", nxt[0].split("?", 1)[1], restriction=restriction)
        assert page["entry"], "a next link must never lead to an empty page"
        seen += [e["resource"]["id"] for e in page["entry"]]
    assert seen == [f"m{i:03}" for i in range(90) if i % 3 != 0]
    assert "total" not in page  # keyset pages cannot know it without checking everything
    cached = store.bundle(
        "Patient", "gender=male&_count=5&_sort=gender,_id", restriction=restriction
    )
    assert "total" not in cached
    page = cached
    while nxt := [link["url"] for link in page["link"] if link["relation"] == "next"]:
        page = store.bundle("Patient", nxt[0].split("?", 1)[1], restriction=restriction)
    assert page["total"] == 60  # the stored list: known once every match was checked
    accurate = store.bundle(
        "Patient", "gender=male&_count=5&_total=accurate", restriction=restriction
    )
    assert accurate["total"] == 60


def test_hidden_gives_a_total_below_the_threshold(store: SearchStore) -> None:
    """Up to `TOTAL_THRESHOLD` matches, `total` is given by default (issue 14): the page is
    checked by `hidden` (which may note what was shown), the rest by `hidden_uncounted`."""
    store.put(
        *(
            {"resourceType": "Patient", "id": f"m{i:03}", "gender": "male",
             "active": i % 3 != 0}
            for i in range(90)
        )
    )  # fmt: skip
    shown: list[str] = []
    counted: list[str] = []

    def hidden(resource: dict) -> bool:
        shown.append(resource["id"])
        return resource.get("active") is False

    def hidden_uncounted(resource: dict) -> bool:
        counted.append(resource["id"])
        return resource.get("active") is False

    restriction = SearchRestriction(hidden=hidden, owner="t", hidden_uncounted=hidden_uncounted)
    for sort in ("_id", "gender,_id"):
        shown.clear()
        first = store.bundle(
            "Patient", f"gender=male&_count=5&_sort={sort}", restriction=restriction
        )
        assert first["total"] == 60 and len(first["entry"]) == 5
        assert len(shown) < 40 and counted
        counted.clear()
        quiet = f"gender=male&_count=5&_sort={sort}&_total=none"
        assert "total" not in store.bundle("Patient", quiet, restriction=restriction)
        assert counted == []
    assert paging.TOTAL_THRESHOLD == 100
