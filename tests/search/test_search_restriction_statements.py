"""What a search under a `hidden` test costs in statements and checks (ITI-67, issue #18):
a chain's targets are resolved and judged once per search, and the default `total`'s
question (more than `TOTAL_THRESHOLD` matches?) is answered by the page's own statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from searchkit import SearchStore
from sqlalchemy import Connection, event

from samhandling.search import paging, visibility
from samhandling.search.restriction import SearchRestriction
from samhandling.store.database import is_sqlite
from samhandling.store.reader import driver_rows
from samhandling.store.records import StoredVersion

NATIONAL_ID = "urn:oid:2.16.578.1.12.4.1.4.1"


def patient_with_observations(store: SearchStore, count: int) -> None:
    store.put(
        {"resourceType": "Patient", "id": "p1",
         "identifier": [{"system": NATIONAL_ID, "value": "13097248022"}]},
        *(
            {"resourceType": "Observation", "id": f"o{n:03}", "status": "final",
             "code": {"coding": [{"code": "bp"}]}, "subject": {"reference": "Patient/p1"},
             **({"note": [{"text": "secret"}]} if n % 4 == 0 else {})}
            for n in range(count)
        ),
    )  # fmt: skip


class Judged:
    """A `hidden` test that notes every resource it is asked about."""

    def __init__(self, secret: frozenset[str] = frozenset()) -> None:
        self.asked: list[str] = []
        self.secret = secret  # ids hidden whatever their content

    def __call__(self, resource: dict[str, Any]) -> bool:
        self.asked.append(f"{resource['resourceType']}/{resource['id']}")
        return "secret" in str(resource.get("note", "")) or resource["id"] in self.secret


@contextmanager
def search_statements(store: SearchStore, marker: str = "index_reference") -> Iterator[list[str]]:
    """The statements run meanwhile that select matches (from the reference index), or
    other statements naming `marker`: SQLAlchemy's, and those the page reads run on the
    driver's cursor (`store.reader.driver_rows`, which SQLAlchemy's events do not see)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if marker in statement:
            seen.append(statement)

    def noted_rows(connection: Connection, sql: str, params: Any) -> list[Any]:
        if connection.get_execution_options().get("write") or is_sqlite(connection):
            return driver_rows(connection, sql, params)  # SQLAlchemy's events see it
        note(connection, None, sql)
        return driver_rows(connection, sql, params)

    event.listen(store.engine, "before_cursor_execute", note)
    visibility.driver_rows = noted_rows  # type: ignore[assignment]
    try:
        yield seen
    finally:
        visibility.driver_rows = driver_rows
        event.remove(store.engine, "before_cursor_execute", note)


def test_a_chain_target_is_judged_once_per_search(store: SearchStore) -> None:
    patient_with_observations(store, 9)
    chain = f"subject:Patient.identifier={NATIONAL_ID}|13097248022"
    for extra in ("&_total=accurate", "&_after=o003", ""):
        hidden = Judged()
        restriction = SearchRestriction(hidden=hidden, owner="gp")
        bundle = store.bundle("Observation", f"{chain}&_count=2{extra}", restriction=restriction)
        assert len(bundle["entry"]) == 2
        assert hidden.asked.count("Patient/p1") == 1, extra
    accurate = store.bundle(
        "Observation", f"{chain}&_count=2&_total=accurate", restriction=restriction
    )
    assert accurate["total"] == 6  # 9 matches, o000, o004 and o008 hidden


def test_the_default_total_needs_no_second_statement(store: SearchStore) -> None:
    patient_with_observations(store, paging.TOTAL_THRESHOLD + 20)
    hidden = Judged()
    restriction = SearchRestriction(hidden=hidden, owner="gp")
    with search_statements(store) as statements:
        many = store.bundle("Observation", "subject=Patient/p1&_count=10", restriction=restriction)
    assert len(statements) == 1  # the page's statement also said "more than 100"
    assert "total" not in many
    assert len(many["entry"]) == 10 and any(k["relation"] == "next" for k in many["link"])
    assert len(hidden.asked) < 40  # what the page needed, not the 101 rows fetched


def test_a_probed_total_counts_what_the_page_did_not_check(store: SearchStore) -> None:
    patient_with_observations(store, 90)
    shown, counted = Judged(), Judged()
    restriction = SearchRestriction(hidden=shown, owner="gp", hidden_uncounted=counted)
    with search_statements(store) as statements:
        bundle = store.bundle(
            "Observation", "subject=Patient/p1&_count=10", restriction=restriction
        )
    assert len(statements) == 1
    assert bundle["total"] == 90 - 23  # every fourth of 90 (o000 … o088) is hidden
    assert not set(shown.asked) & set(counted.asked)  # each judged once, beyond the page quietly
    assert len(shown.asked) + len(counted.asked) == 90
    assert [e["resource"]["id"] for e in bundle["entry"]][:3] == ["o001", "o002", "o003"]


def test_the_matches_of_a_probed_total_are_read_in_one_statement(store: SearchStore) -> None:
    patient_with_observations(store, 90)
    restriction = SearchRestriction(hidden=Judged(), owner="gp", hidden_uncounted=Judged())
    with search_statements(store, marker="version_id") as reads:
        bundle = store.bundle(
            "Observation", "subject=Patient/p1&_count=10", restriction=restriction
        )
    assert bundle["total"] == 90 - 23 and len(bundle["entry"]) == 10
    assert len(reads) == 1  # the page's and the counted matches' versions together


def test_a_page_judges_only_what_it_needs_when_nothing_is_hidden(store: SearchStore) -> None:
    store.put(
        *({"resourceType": "Observation", "id": f"o{n:03}", "status": "final",
           "subject": {"reference": "Patient/p1"}} for n in range(30))
    )  # fmt: skip
    for extra in ("", "&_total=none", "&_after=o005"):
        judged = Judged()
        restriction = SearchRestriction(hidden=judged, owner="gp", hidden_uncounted=Judged())
        bundle = store.bundle("Observation", f"subject=Patient/p1&_count=10{extra}",
                              restriction=restriction)  # fmt: skip
        assert len(bundle["entry"]) == 10
        assert len(judged.asked) == 11, extra  # the page and the one look-ahead match


@pytest.mark.parametrize("batch", [1, visibility.BATCH])
def test_hidden_chain_targets_are_not_followed(
    store: SearchStore, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """The targets are read with the chain's statement up to `BATCH` of them, beyond it
    by id and then in batches: either way a hidden target leads nowhere."""
    monkeypatch.setattr(visibility, "BATCH", batch)
    store.put(
        *({"resourceType": "Patient", "id": p, "gender": "male"} for p in ("p1", "p2", "p3")),
        *({"resourceType": "Observation", "id": f"{p}-o", "status": "final",
           "subject": {"reference": f"Patient/{p}"}} for p in ("p1", "p2", "p3")),
    )  # fmt: skip
    hidden = Judged(secret=frozenset({"p2"}))
    restriction = SearchRestriction(hidden=hidden, owner="gp")
    found = store.found("Observation", "subject:Patient.gender=male", restriction=restriction)
    assert found == {"p1-o", "p3-o"}
    assert sorted(a for a in hidden.asked if a.startswith("Patient/")) == [
        "Patient/p1", "Patient/p2", "Patient/p3"
    ]  # fmt: skip


def test_a_shown_match_is_parsed_once(store: SearchStore, monkeypatch: pytest.MonkeyPatch) -> None:
    patient_with_observations(store, 30)
    parses: list[str] = []
    exact = StoredVersion.resource

    def counted(version: StoredVersion) -> dict[str, Any]:
        parses.append(version.resource_id)
        return exact(version)

    monkeypatch.setattr(StoredVersion, "resource", counted)
    judged = Judged()
    restriction = SearchRestriction(hidden=judged, owner="gp")
    bundle = store.bundle("Observation", "subject=Patient/p1&_count=5", restriction=restriction)
    shown = [e["resource"]["id"] for e in bundle["entry"]]
    assert shown == ["o001", "o002", "o003", "o005", "o006"]  # o000 and o004 hidden
    assert {f"Observation/{i}" for i in shown} <= set(judged.asked)
    assert sorted(parses) == sorted(set(parses))  # the test's parse is the entry's
