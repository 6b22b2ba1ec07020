"""A search judges each resource from its policy facts (`store/policy_facts.py`) when they
keep everything the caller's judging reads, and parses the content otherwise (docs/SEARCH.md,
"Policy facts")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import pytest
from searchkit import BASE, SearchStore
from sqlalchemy import update

from samhandling.auth import ActingFor, Principal, parse_scopes
from samhandling.auth.labels import NO_9603
from samhandling.fhir import json_codec
from samhandling.interactions import search
from samhandling.interactions.policy_guard import PolicyGuard
from samhandling.store.database import read_connection, write_connection
from samhandling.store.records import StoredVersion
from samhandling.store.schema import resource

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _citizen(scopes: str = "patient/*.rs") -> Principal:
    return Principal(
        kind="citizen",
        issuer="https://idporten.test",
        subject="c",
        pid="21908345182",
        security_level=4,
        scopes=parse_scopes(scopes),
        acts_for=(ActingFor("21908345182", "self", date(1983, 10, 21), "p1"),),
    )


def _system(scopes: str = "system/*.rs") -> Principal:
    return Principal(
        kind="system", issuer="https://helseid.test", subject=None, scopes=parse_scopes(scopes)
    )


_NOTE = "Målt hjemme av pasienten, overført fra hjemmemonitorering. " * 6


_TEXT = {"status": "generated", "div": f"<div>{_NOTE}</div>"}  # facts kept: much smaller


def _observation(rid: str, patient: str = "p1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": json_codec.parse(b'{"value": 1.50, "unit": "/min"}'),
        # a narrative, as most stored resources carry: without one the facts of such an
        # Observation would be nearly all of it, and none would be kept (MAX_SHARE)
        "text": {"status": "generated", "div": f"<div>Puls 1.50 /min, {patient}. {_NOTE}</div>"},
        **extra,
    }


def _labelled(rid: str, code: str) -> dict[str, Any]:
    return _observation(rid, meta={"security": [{"system": NO_9603, "code": code}]})


@pytest.fixture
def world(store: SearchStore) -> SearchStore:
    store.put(
        _observation("o1"),
        _observation("o2"),
        _observation("o3", "p2"),
        _labelled("o4", "NORS"),  # blocked for personnel: hidden from systems
        _observation("o5", status="entered-in-error"),  # hidden from citizens
    )
    return store


class Parses:
    """Counts the content parses of the judging (`StoredVersion.judged`) and of whole
    resources (`StoredVersion.resource`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.judged_only = 0
        self.whole = 0
        judged_only, whole = StoredVersion.judged, StoredVersion.resource

        def counted_judged_only(version: StoredVersion) -> dict[str, Any]:
            self.judged_only += 1
            return judged_only(version)

        def counted_whole(version: StoredVersion) -> dict[str, Any]:
            self.whole += 1
            return whole(version)

        monkeypatch.setattr(StoredVersion, "judged", counted_judged_only)
        monkeypatch.setattr(StoredVersion, "resource", counted_whole)

    @property
    def total(self) -> int:
        return self.judged_only + self.whole


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Parses]:
    yield Parses(monkeypatch)


def _search(
    store: SearchStore, principal: Principal, query: str, *, stored_bytes: bool = True
) -> tuple[list[str], PolicyGuard, dict[str, Any]]:
    guard = PolicyGuard(principal)
    restriction = guard.search_restriction("Observation")
    items = parse_qsl(query, keep_blank_values=True)
    with read_connection(store.engine) as connection:
        bundle = search.search(
            connection, "Observation", items, BASE, restriction=restriction,
            stored_bytes=stored_bytes,
        )  # fmt: skip
    ids = sorted(e["fullUrl"].rsplit("/", 1)[1] for e in bundle["entry"] if "fullUrl" in e)
    return ids, guard, bundle


def test_judged_from_the_facts_without_parsing_the_content(
    world: SearchStore, parses: Parses
) -> None:
    ids, guard, bundle = _search(world, _system(), "")
    assert ids == ["o1", "o2", "o3", "o5"]  # o4's label hides it, read from its facts
    assert parses.total == 0
    assert bundle["total"] == 4
    assert sorted(e[1] for e in guard.entities) == ids  # named in the audit record
    assert {(e[0], e[2]) for e in guard.entities} == {("Observation", "1")}
    assert guard.patients == {"p1", "p2"}


def test_the_citizen_is_kept_to_their_own_and_never_shown_entries_in_error(
    world: SearchStore, parses: Parses
) -> None:
    ids, guard, _ = _search(world, _citizen(), "")
    assert ids == ["o1", "o2", "o4"]  # not o3 (p2's), not o5 (entered in error)
    assert parses.total == 0
    assert guard.patients == {"p1"}


def test_the_same_answer_when_the_facts_are_missing(world: SearchStore, parses: Parses) -> None:
    facts_judged, guard_facts, _ = _search(world, _system(), "_count=2")
    with write_connection(world.engine) as connection:
        connection.execute(update(resource).values(facts=None))  # rows from before 0027
    assert parses.total == 0
    ids, guard, _ = _search(world, _system(), "_count=2")
    assert ids == facts_judged == ["o1", "o2"]
    assert parses.judged_only >= 3 and parses.whole == 0  # judged from content
    assert guard.entities == guard_facts.entities
    assert guard.patients == guard_facts.patients


def test_a_scope_with_a_query_is_judged_on_the_whole_resource(
    world: SearchStore, parses: Parses
) -> None:
    scope = f"system/Observation.rs?category={CATEGORY}|vital-signs"
    ids, _, _ = _search(world, _system(scope), "")
    assert ids == ["o1", "o2", "o3", "o5"]
    assert parses.judged_only >= 5  # every match parsed: the query reads `category`


def test_a_parsed_answer_parses_as_before(world: SearchStore, parses: Parses) -> None:
    """`_summary`, `_elements` and callers that use the Bundle in Python get parsed
    resources with their decimals as written: judged on those, not on the facts."""
    ids, _, bundle = _search(world, _system(), "", stored_bytes=False)
    assert ids == ["o1", "o2", "o3", "o5"]
    assert parses.whole >= 4
    assert str(bundle["entry"][0]["resource"]["valueQuantity"]["value"]) == "1.50"


def test_a_label_added_by_an_update_hides_the_resource(world: SearchStore) -> None:
    world.put(_labelled("o1", "NORS"), _observation("o2", status="entered-in-error"))
    assert _search(world, _system(), "")[0] == ["o2", "o3", "o5"]
    assert _search(world, _citizen(), "")[0] == ["o1", "o4"]


def test_chains_judge_their_targets_from_the_facts(store: SearchStore, parses: Parses) -> None:
    store.put(
        {"resourceType": "Patient", "id": "p1", "name": [{"family": "Nordmann"}], "text": _TEXT},
        {
            "resourceType": "Patient",
            "id": "p9",
            "name": [{"family": "Nordmann"}],
            "meta": {"security": [{"system": NO_9603, "code": "NORS"}]},
            "text": _TEXT,
        },
        _observation("o1"),
        _observation("o9", "p9"),
    )
    ids, _, _ = _search(store, _system(), "subject:Patient.family=Nordmann")
    assert ids == ["o1"]  # p9, and through it o9, hidden by its label
    assert parses.total == 0
