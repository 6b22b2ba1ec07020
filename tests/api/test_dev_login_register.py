"""The development issuer reads who may act for whom from the demo population's register:
RelatedPerson records naming the person, with the relationship deciding the relation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from samhandling.api.dev_login import represented
from samhandling.auth.dev.personas import PERSONAS
from samhandling.demo.population import population_bundles
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _including(fnr: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """What `RelatedPerson?identifier=<fnr>&_include=RelatedPerson:patient` would answer."""
    related = [
        r
        for r in resources
        if r["resourceType"] == "RelatedPerson"
        and any(i.get("value") == fnr for i in r.get("identifier", []))
    ]
    patients = {r["patient"]["reference"] for r in related}
    included = [r for r in resources if f"{r['resourceType']}/{r['id']}" in patients]
    return {"entry": [{"resource": r} for r in related + included]}


def _population() -> list[dict[str, Any]]:
    bundles = population_bundles(0, seed=3, today=dt.date(2026, 6, 1))
    return [e["resource"] for b in bundles for e in b["entry"]]


def test_the_attorney_is_given_the_grantor_and_the_parent_the_children() -> None:
    resources = _population()
    attorney, parent = PERSONAS["attorney"], PERSONAS["parent"]
    assert attorney.pid and parent.pid
    assert represented(_including(attorney.pid, resources), NOW) == [
        (attorney.grantor_pid, "power-of-attorney")
    ]
    children = represented(_including(parent.pid, resources), NOW)
    assert len(children) == 3 and {r for _, r in children} == {"parent"}
    assert (parent.default_child_pid, "parent") in children
    assert represented(_including(PERSONAS["citizen"].pid or "", resources), NOW) == []


def test_other_relationships_and_inactive_records_give_no_right_to_act() -> None:
    grantor = {"resourceType": "Patient", "id": "g", "identifier": [
        {"system": FNR_SYSTEM, "value": "02904128913"}]}  # fmt: skip
    role = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

    def related(code: str, active: bool = True) -> dict[str, Any]:
        return {
            "resourceType": "RelatedPerson",
            "id": code,
            "active": active,
            "patient": {"reference": "Patient/g"},
            "relationship": [{"coding": [{"system": role, "code": code}]}],
        }

    for resource in (related("NBOR"), related("POWATT", active=False)):
        assert represented({"entry": [{"resource": resource}, {"resource": grantor}]}, NOW) == []
    found = {"entry": [{"resource": related("HPOWATT")}, {"resource": grantor}]}
    assert represented(found, NOW) == [("02904128913", "power-of-attorney")]


def test_a_power_of_attorney_outside_its_period_gives_no_right_to_act() -> None:
    """The issuer applies the register's rule the platform checks on every request."""
    grantor = {"resourceType": "Patient", "id": "g", "identifier": [
        {"system": FNR_SYSTEM, "value": "02904128913"}]}  # fmt: skip
    role = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

    def grant(period: dict[str, str]) -> dict[str, Any]:
        return {
            "resourceType": "RelatedPerson",
            "id": "p",
            "active": True,
            "patient": {"reference": "Patient/g"},
            "relationship": [{"coding": [{"system": role, "code": "POWATT"}]}],
            "period": period,
        }

    def found(period: dict[str, str]) -> list[tuple[str, str]]:
        return represented({"entry": [{"resource": grant(period)}, {"resource": grantor}]}, NOW)

    assert found({"start": "2026-01-01", "end": "2026-06-01"}) == [
        ("02904128913", "power-of-attorney")
    ]
    assert found({"end": "2026-05-31"}) == []  # expired the day before
    assert found({"start": "2026-06-02"}) == []  # not yet begun
