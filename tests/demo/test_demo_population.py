"""The synthetic population: deterministic, valid, with families, personas and registers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from samhandling.auth.compartment import age_on
from samhandling.auth.dev.personas import PERSONAS
from samhandling.demo import population_bundles
from samhandling.identifiers import (
    FNR_SYSTEM,
    HPR_SYSTEM,
    ORGANISATION_NUMBER_SYSTEM,
    RESH_SYSTEM,
    check_identifier,
    classify_person_number,
)
from samhandling.interactions.resource_input import require_resource

TODAY = dt.date(2026, 11, 22)


def resources(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry["resource"] for bundle in bundles for entry in bundle["entry"]]


def of_type(found: list[dict[str, Any]], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in found if r["resourceType"] == resource_type]


def identifier(resource: dict[str, Any], system: str) -> str | None:
    return next((i["value"] for i in resource.get("identifier", []) if i["system"] == system), None)


@pytest.fixture(scope="module")
def population() -> list[dict[str, Any]]:
    return resources(population_bundles(120, 11, today=TODAY))


def test_the_same_seed_gives_the_same_population() -> None:
    first = json.dumps(population_bundles(60, 5, today=TODAY), sort_keys=True)
    again = json.dumps(population_bundles(60, 5, today=TODAY), sort_keys=True)
    other = json.dumps(population_bundles(60, 6, today=TODAY), sort_keys=True)
    assert first == again
    assert first != other


def test_the_population_is_the_same_in_another_process() -> None:
    """No dependence on hash randomisation or anything else of one interpreter."""
    script = (
        "import datetime, hashlib, json; from samhandling.demo import population_bundles; "
        "b = population_bundles(30, 9, today=datetime.date(2026, 11, 22)); "
        "print(hashlib.sha256(json.dumps(b, sort_keys=True).encode()).hexdigest())"
    )
    here = json.dumps(population_bundles(30, 9, today=TODAY), sort_keys=True).encode()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        assert done.stdout.strip() == hashlib.sha256(here).hexdigest()


def test_the_population_has_the_asked_number_of_citizens(population: list[dict]) -> None:
    patients = of_type(population, "Patient")
    generated = [p for p in patients if p["id"].startswith("demo-11-")]
    assert len(generated) == 120
    assert len(patients) == 120 + 7  # and the seven persona citizens (with the grantor)
    assert len({(r["resourceType"], r["id"]) for r in population}) == len(population)


def test_every_resource_is_valid_r4_with_valid_identifiers(population: list[dict]) -> None:
    for resource in population:
        require_resource(json.loads(json.dumps(resource)))  # raises on any problem
        for ident in resource.get("identifier", []):
            assert check_identifier(ident["system"], ident["value"]) is None


def test_national_ids_are_synthetic_unique_and_agree_with_the_person(
    population: list[dict],
) -> None:
    seen: Counter[str] = Counter()
    for resource in of_type(population, "Patient") + of_type(population, "Practitioner"):
        fnr = identifier(resource, FNR_SYSTEM)
        assert fnr is not None
        seen[fnr] += 1
        number = classify_person_number(fnr, today=TODAY)
        assert number.synthetic
        if resource["resourceType"] == "Patient":
            assert number.birth_date is not None
            assert number.birth_date.isoformat() == resource["birthDate"]
            assert number.sex == resource["gender"]
    assert max(seen.values()) == 1


def test_families_have_children_in_every_proxy_age_band(population: list[dict]) -> None:
    patients = {p["id"]: p for p in of_type(population, "Patient")}
    parents_of: dict[str, list[str]] = {}
    for relation in of_type(population, "RelatedPerson"):
        child = relation["patient"]["reference"].removeprefix("Patient/")
        parents_of.setdefault(child, []).append(identifier(relation, FNR_SYSTEM) or "")
    ages = {
        cid: age_on(dt.date.fromisoformat(patients[cid]["birthDate"]), TODAY) for cid in parents_of
    }
    bands = Counter("<12" if a < 12 else "12-15" if a < 16 else "16+" for a in ages.values())
    assert bands["<12"] and bands["12-15"] and bands["16+"]
    registered_fnrs = {identifier(p, FNR_SYSTEM) for p in patients.values()}
    assert all(set(fnrs) <= registered_fnrs for fnrs in parents_of.values())


def test_the_persona_family_covers_the_age_bands(population: list[dict]) -> None:
    patients = {p["id"]: p for p in of_type(population, "Patient")}
    parent_fnr = PERSONAS["parent"].pid
    children = [
        r["patient"]["reference"].removeprefix("Patient/")
        for r in of_type(population, "RelatedPerson")
        if identifier(r, FNR_SYSTEM) == parent_fnr
    ]
    ages = sorted(age_on(dt.date.fromisoformat(patients[c]["birthDate"]), TODAY) for c in children)
    assert len(ages) == 3 and ages[0] < 12 and 12 <= ages[1] < 16 and ages[2] >= 16
    default_child = PERSONAS["parent"].default_child_pid
    assert default_child in {identifier(patients[c], FNR_SYSTEM) for c in children}


def test_persona_people_and_organisations_are_present(population: list[dict]) -> None:
    fnrs = {identifier(p, FNR_SYSTEM) for p in of_type(population, "Patient")}
    hprs = {identifier(p, HPR_SYSTEM) for p in of_type(population, "Practitioner")}
    orgs = of_type(population, "Organization")
    orgnrs = {identifier(o, ORGANISATION_NUMBER_SYSTEM) for o in orgs}
    resh = {identifier(o, RESH_SYSTEM) for o in orgs}
    for persona in PERSONAS.values():
        if persona.kind == "citizen":
            assert persona.pid in fnrs
        if persona.hpr_number:
            assert persona.hpr_number in hprs
        for org in (persona.legal_entity, persona.point_of_care):
            assert org is None or org[0] in orgnrs
        assert persona.department is None or persona.department[0] in resh
        assert persona.orgnr_supplier in orgnrs


def test_everyone_is_on_a_gp_list_and_references_resolve(population: list[dict]) -> None:
    known = {f"{r['resourceType']}/{r['id']}" for r in population}
    for patient in of_type(population, "Patient"):
        gp = patient["generalPractitioner"][0]["reference"]
        assert gp.startswith("PractitionerRole/") and gp in known
    for resource in population:
        for key in ("partOf", "organization", "practitioner", "patient", "managingOrganization"):
            if key in resource:
                assert resource[key]["reference"] in known


def test_municipal_services_hospitals_and_pharmacies_exist(population: list[dict]) -> None:
    kinds = Counter(o["type"][0]["text"] for o in of_type(population, "Organization"))
    assert kinds["Kommune"] >= 6 and kinds["Sykehjem"] >= 6 and kinds["Hjemmetjeneste"] >= 6
    assert kinds["Sykehus"] >= 3 and kinds["Avdeling"] >= 9 and kinds["Apotek"] >= 6
    kommune_codes = {
        o["address"][0]["_district"]["extension"][0]["valueCoding"]["code"]
        for o in of_type(population, "Organization")
    }
    assert {"0301", "4601", "5001"} <= kommune_codes


def test_children_ages_hold_all_year() -> None:
    """Ages are anchored to 1 January: the bands hold from New Year's Day to New Year's Eve."""
    for today in (dt.date(2026, 1, 1), dt.date(2026, 12, 31)):
        found = resources(population_bundles(5, 3, today=today))
        patients = {p["id"]: p for p in of_type(found, "Patient")}
        children = [r["patient"]["reference"][8:] for r in of_type(found, "RelatedPerson")]
        ages = sorted(
            {
                c: age_on(dt.date.fromisoformat(patients[c]["birthDate"]), today) for c in children
            }.values()
        )
        assert any(a < 12 for a in ages) and any(12 <= a < 16 for a in ages)
        assert any(a >= 16 for a in ages)
    assert population_bundles(5, 3, today=dt.date(2026, 1, 1)) == population_bundles(
        5, 3, today=dt.date(2026, 12, 31)
    )
