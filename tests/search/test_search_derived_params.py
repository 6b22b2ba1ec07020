"""Derived parameters (`combo-*`, `patient`): no rows written, every use answered the same.

Observation `combo-code` is `code` ∪ `component-code`, `patient` the `subject` references to
a Patient (fhir/derived_parameters.py). Their rows are not written; every search that uses
them must find what it found when they were. The proof: the world is written by today's
code, then migration 0024 is downgraded (it copies the derived rows back from their sources,
checked against what extraction of every parameter gives) and every search is run with
derivation switched off — the old code's rows and SQL — and compared with today's answers.
Then the upgrade deletes the rows again.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

import pytest
from alembic import command
from searchkit import BASE, SearchStore
from sqlalchemy import Engine, select

from samhandling.fhir.compartment import patient_compartment_ids
from samhandling.fhir.derived_parameters import Derivation
from samhandling.fhir.indexing.values import IndexExtractor
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry
from samhandling.interactions import search
from samhandling.store.database import read_connection
from samhandling.store.index_rows import composite_key
from samhandling.store.schema import (
    compartment,
    index_composite,
    index_quantity,
    index_reference,
    index_token,
)
from samhandling.store.schema_migrations import alembic_config, upgrade

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DERIVED = {"combo-code", "combo-value-quantity", "combo-code-value-quantity", "patient"}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _obs(oid: str, code: str, subject: dict[str, Any] | None, **rest: Any) -> dict[str, Any]:
    body = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}], "text": f"kode {code}"},
        **rest,
    }
    if subject is not None:
        body["subject"] = subject
    return body


def _component(code: str, value: float) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "valueQuantity": _quantity(value, "mm[Hg]"),
    }


WORLD = [
    {"resourceType": "Patient", "id": "p1", "identifier": [{"system": FNR, "value": "111"}],
     "name": [{"family": "Hansen"}]},
    {"resourceType": "Patient", "id": "p2", "identifier": [{"system": FNR, "value": "222"}],
     "name": [{"family": "Berg"}]},
    {"resourceType": "Group", "id": "g1", "type": "person", "actual": True},
    {"resourceType": "Practitioner", "id": "dr1", "name": [{"family": "Lege"}]},
    _obs("hr", "8867-4", {"reference": "Patient/p1"}, valueQuantity=_quantity(72, "/min")),
    _obs("bp", "85354-9", {"reference": "Patient/p1"},
         component=[_component("8480-6", 120), _component("8462-4", 80)]),
    _obs("spo2", "59408-5", {"reference": "Patient/p2"}, valueQuantity=_quantity(97, "%")),
    _obs("grp", "8867-4", {"reference": "Group/g1"}, valueQuantity=_quantity(90, "/min")),
    _obs("bare", "8867-4", None,
         dataAbsentReason={"coding": [{"code": "asked-unknown"}]}),
    _obs("far", "8867-4", {"reference": "http://other.example/fhir/Patient/p1"},
         valueQuantity=_quantity(60, "/min")),
    _obs("ident", "8480-6", {"reference": "Patient/p2", "identifier": {"system": FNR,
         "value": "222"}}, valueQuantity=_quantity(130, "mm[Hg]")),
    _obs("high", "85354-9", {"reference": "Patient/p2"},
         component=[_component("8480-6", 160), _component("8462-4", 95)]),
    {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
     "code": {"coding": [{"code": "I10"}]}},
    {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Group/g1"},
     "code": {"coding": [{"code": "I10"}]}},
    {"resourceType": "Encounter", "id": "e1", "status": "finished",
     "class": {"code": "AMB"}, "subject": {"reference": "Patient/p2"},
     "participant": [{"individual": {"reference": "Practitioner/dr1"}}]},
]  # fmt: skip

SEARCHES = [
    ("Observation", "combo-code=http://loinc.org|8480-6"),
    ("Observation", "combo-code=8867-4,8462-4"),
    ("Observation", "combo-code=http://loinc.org|"),
    ("Observation", "combo-code:text=kode"),
    ("Observation", "combo-code:not=8480-6"),
    ("Observation", "combo-code:missing=false"),
    ("Observation", "combo-code:missing=true"),
    ("Observation", "combo-code=8480-6&combo-value-quantity=gt150"),
    ("Observation", "combo-value-quantity=gt100"),
    ("Observation", "combo-value-quantity=120|http://unitsofmeasure.org|mm[Hg]"),
    ("Observation", "combo-value-quantity=le80"),
    ("Observation", "combo-value-quantity=ap97"),
    ("Observation", "combo-value-quantity:missing=true"),
    ("Observation", "combo-code-value-quantity=http://loinc.org|8480-6$gt125"),
    ("Observation", "combo-code-value-quantity=8867-4$lt80"),
    ("Observation", "combo-code-value-quantity:missing=true"),
    ("Observation", "combo-data-absent-reason=asked-unknown"),
    ("Observation", "_sort=combo-value-quantity"),
    ("Observation", "_sort=-combo-value-quantity"),
    ("Observation", "_sort=combo-code,_id"),
    ("Observation", "patient=p1"),
    ("Observation", "patient=Patient/p2"),
    ("Observation", "patient:Patient=p1,p2"),
    ("Observation", "patient=http://other.example/fhir/Patient/p1"),
    ("Observation", "patient=Group/g1"),
    ("Observation", "patient:missing=true"),
    ("Observation", "patient:missing=false"),
    ("Observation", "patient:identifier=urn:oid:2.16.578.1.12.4.1.4.1|222"),
    ("Observation", "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|111"),
    ("Observation", "patient:Patient.name=Berg"),
    ("Observation", "patient=p1&combo-code=8480-6"),
    ("Observation", "_sort=patient,_id"),
    ("Observation", "_include=Observation:patient"),
    ("Observation", "_include=Observation:patient:Patient&combo-code=8480-6"),
    ("Observation", "_include=*&_id=bp"),
    ("Patient", "_has:Observation:patient:combo-code=8480-6"),
    ("Patient", "_has:Observation:patient:_id=far"),
    ("Patient", "_has:Condition:patient:code=I10"),
    ("Patient", "_revinclude=Observation:patient"),
    ("Patient", "_revinclude=Condition:patient&_id=p1"),
    ("Patient", "_revinclude=Encounter:patient&_revinclude=Condition:patient"),
    ("Condition", "patient=p1"),
    ("Condition", "patient:missing=true"),
    ("Condition", "patient.name=Hansen"),
    ("Encounter", "patient=p2"),
    ("Encounter", "practitioner=dr1"),
    ("Encounter", "practitioner.name=Lege"),
    ("", "_type=Observation,Condition,Encounter&patient=p1,p2"),
    ("", "_type=Observation,Condition&_sort=patient,_id"),
    ("", "_type=Observation,Condition&patient:missing=true"),
    ("Patient/p1/Condition", ""),
    ("Patient/p2/Observation", "combo-code=8480-6"),
    ("Patient/p1/*", "_type=Condition,Observation"),
]

# what the searches must find, stated by hand: the comparison below proves "the same as
# before", these prove that before was right
EXPECTED = {
    "_type=Observation,Condition,Encounter&patient=p1,p2": [
        "c1",
        "e1",
        "bp",
        "high",
        "hr",
        "ident",
        "spo2",
    ],
    "_type=Observation,Condition&patient:missing=true": ["c2", "bare", "grp"],
    "combo-code=http://loinc.org|8480-6": ["bp", "high", "ident"],
    "combo-value-quantity=gt100": ["high", "ident", "bp"],
    "combo-code-value-quantity=http://loinc.org|8480-6$gt125": ["high", "ident"],
    "combo-code:missing=true": [],
    "combo-value-quantity:missing=true": ["bare"],
    "_sort=-combo-value-quantity": ["high", "ident", "bp", "spo2", "grp", "hr", "far", "bare"],
    "patient=p1": ["bp", "hr"],
    "patient=Group/g1": [],
    "patient:missing=true": ["bare", "grp"],
    "patient:identifier=urn:oid:2.16.578.1.12.4.1.4.1|222": ["ident"],
    "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|111": ["bp", "hr"],
    "patient=http://other.example/fhir/Patient/p1": ["far"],
    "_has:Observation:patient:combo-code=8480-6": ["p1", "p2"],
    "_has:Condition:patient:code=I10": ["p1"],
    "practitioner=dr1": ["e1"],
}


def _derivation_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every parameter written and searched by its own rows, as before derivation."""
    empty: MappingProxyType[str, Derivation] = MappingProxyType({})
    monkeypatch.setattr(SearchParameterRegistry, "derived", lambda self, resource_type: empty)
    monkeypatch.setattr(SearchParameterRegistry, "derived_types", lambda self, code: empty)


def _answers(store: SearchStore) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    found = {}
    for resource_type, query in SEARCHES:
        bundle = _search(store, resource_type, query + "&_count=100")
        found[resource_type, query] = [
            (e["search"]["mode"], e["resource"]["resourceType"], e["resource"]["id"])
            for e in bundle.get("entry", [])
            if e["resource"]["resourceType"] != "OperationOutcome"
        ]
    return found


def _search(store: SearchStore, path: str, query: str) -> dict[str, Any]:
    """A type search, a system search (path ""), or a compartment search (Patient/id/…)."""
    items = parse_qsl(query, keep_blank_values=True)
    compartment_type, _, rest = path.partition("/")
    with read_connection(store.engine) as connection:
        if not path or path.endswith("*"):
            scope = (compartment_type, rest.split("/")[0]) if path else None
            return search.system_search(connection, items, BASE, compartment=scope)
        if rest:
            patient, _, resource_type = rest.partition("/")
            return search.search(
                connection, resource_type, items, BASE, compartment=("Patient", patient)
            )
        return store.bundle(path, query)


def _derived_rows(engine: Engine) -> set[tuple[Any, ...]]:
    """The stored rows of the derived parameters (and `patient:identifier`)."""
    rows: set[tuple[Any, ...]] = set()
    with engine.connect() as connection:
        for table, columns in (
            (index_token, ("system", "code", "text")),
            (index_quantity, ("value", "system", "code")),
            (index_reference, ("target_type", "target_id", "url")),
            (index_composite, ("value_key",)),
        ):
            stmt = select(
                table.c.resource_type,
                table.c.resource_id,
                table.c.param,
                *(table.c[c] for c in columns),
            ).where(table.c.param.in_([*DERIVED, "patient:identifier"]))
            rows.update(tuple(row) for row in connection.execute(stmt))
    return rows


def _extracted_rows() -> set[tuple[Any, ...]]:
    """The same rows, as extraction of every parameter gives them."""
    extractor = IndexExtractor(default_registry(), every_parameter=True)
    rows: set[tuple[Any, ...]] = set()
    for body in WORLD:
        index = extractor.extract(body)
        key = (body["resourceType"], body["id"])
        for t in index.tokens:
            if t.param in DERIVED or t.param == "patient:identifier":
                rows.add((*key, t.param, t.system, t.code, t.text))
        for q in index.quantities:
            if q.param in DERIVED:
                rows.add((*key, q.param, float(q.value or 0), q.system, q.code))
        for r in index.references:
            if r.param in DERIVED:
                rows.add((*key, r.param, r.target_type, r.target_id, r.url))
        for c in index.composites:
            if c.param in DERIVED:
                rows.add((*key, c.param, composite_key(c)))
    return rows


@pytest.fixture
def world(store: SearchStore) -> Iterator[SearchStore]:
    store.put(*WORLD)
    yield store


def test_the_derived_rows_are_not_written(world: SearchStore) -> None:
    rows = _derived_rows(world.engine)
    assert {row[2] for row in rows} == {"patient:identifier"}  # only the identifier row
    assert {row[1] for row in rows} == {"ident"}
    with world.engine.connect() as connection:
        subject = select(index_reference.c.resource_id).where(
            index_reference.c.param == "subject", index_reference.c.resource_type == "Observation"
        )
        assert len(connection.execute(subject).all()) == 7


def test_every_use_finds_the_same_as_with_the_rows(
    world: SearchStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = _answers(world)
    for query, ids in EXPECTED.items():
        (resource_type, _), found = next((k, v) for k, v in now.items() if k[1] == query)
        matched = [i for mode, _, i in found if mode == "match"]
        if not query.startswith("_sort"):
            matched, ids = sorted(matched), sorted(ids)
        assert matched == ids, (resource_type, query, found)
    _migrate(world.engine, "0023")  # copies the derived rows back
    assert _derived_rows(world.engine) == _extracted_rows()
    _facts_column(world.engine, "ADD COLUMN facts BYTEA")  # this code's search reads it
    with monkeypatch.context() as patched:
        _derivation_off(patched)
        before = _answers(world)
    assert before == now
    _facts_column(world.engine, "DROP COLUMN facts")  # migration 0027 adds it
    upgrade(world.engine)  # 0024 deletes them again
    assert {row[2] for row in _derived_rows(world.engine)} == {"patient:identifier"}
    assert _answers(world) == now


def test_the_compartment_of_a_derived_parameter(world: SearchStore) -> None:
    """Condition's compartment parameter is `patient`: its rows are `subject`'s."""
    with world.engine.connect() as connection:
        stmt = select(compartment.c.patient_id).where(
            compartment.c.resource_type == "Condition", compartment.c.resource_id == "c1"
        )
        assert connection.execute(stmt).scalars().all() == ["p1"]
    assert patient_compartment_ids(WORLD[-3]) == {"p1"}
    in_compartment = world.bundle("Condition", "")
    assert {e["resource"]["id"] for e in in_compartment["entry"]} == {"c1", "c2"}


def test_a_custom_parameter_redefining_the_code_gets_its_own_rows(store: SearchStore) -> None:
    """Account `patient` (`Account.subject.where(resolve() is Patient)`) is derived; a custom
    SearchParameter redefining it as `Account.subject` is written again. (It stays in this
    process's registry, like every custom parameter: no other test searches Accounts.)"""
    registry = default_registry()
    assert registry.derivation("Observation", "combo-code") == Derivation(
        ("code", "component-code")
    )
    account = {
        "resourceType": "Account",
        "id": "a1",
        "status": "active",
        "subject": [{"reference": "Patient/p1"}, {"reference": "Device/d1"}],
    }
    if registry.derivation("Account", "patient") is not None:  # not yet redefined
        store.put(account)
        assert _reference_params(store.engine, "a1") == {"subject"}
        assert store.found("Account", "patient=p1") == {"a1"}
        assert store.found("Account", "patient=Device/d1") == set()
    store.put(ANY_SUBJECT)  # the search below loads it from the store
    # a1, written before, has no `patient` rows of its own until `samhandling reindex`
    assert store.found("Account", "patient=p1") == set()
    assert registry.derivation("Account", "patient") is None
    store.put({**account, "id": "a2"})
    assert _reference_params(store.engine, "a2") == {"subject", "patient"}
    assert store.found("Account", "patient=Device/d1") == {"a2"}  # its own rows, its meaning


ANY_SUBJECT = {
    "resourceType": "SearchParameter",
    "id": "rows20-account-patient",
    "url": "http://example.org/fhir/SearchParameter/rows20-account-patient",
    "name": "patient",
    "status": "active",
    "description": "Any subject of the account",
    "code": "patient",
    "base": ["Account"],
    "type": "reference",
    "target": ["Patient", "Device"],
    "expression": "Account.subject",
}


def _reference_params(engine: Engine, account_id: str) -> set[str]:
    with engine.connect() as connection:
        stmt = select(index_reference.c.param).where(
            index_reference.c.resource_type == "Account",
            index_reference.c.resource_id == account_id,
        )
        return set(connection.execute(stmt).scalars())


def _facts_column(engine: Engine, change: str) -> None:
    """The policy facts' column (migration 0027), which the search of this code reads,
    added to or dropped from a database migrated back before it."""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER TABLE resource {change}")


def _migrate(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_subscription_criteria_read_patient_from_the_subject_rows() -> None:
    """A subscription's `Observation?patient=…` is matched in Python against the
    extracted rows, which no longer hold `patient`."""
    from samhandling.services.notifications.criteria import matches

    hr, grp, bp = WORLD[4], WORLD[7], WORLD[5]
    assert matches([("patient", "p1")], hr)
    assert not matches([("patient", "p2")], hr)
    assert not matches([("patient", "g1")], grp)  # a Group subject is not a patient
    assert matches([("subject", "g1")], grp) is False  # `subject` counts Patients only
    assert matches([("patient", "p1"), ("combo-code", "http://loinc.org|8480-6")], bp)
    assert not matches([("combo-code", "8867-4")], bp)
