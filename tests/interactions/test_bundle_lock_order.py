"""Concurrent transaction Bundles whose conditional entries name the same criteria in
opposite orders neither deadlock nor duplicate (two importers once did deadlock)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select

from samhandling.access_guard import OPEN_ACCESS
from samhandling.interactions.bundle import process_bundle
from samhandling.store.schema import resource

ROUNDS = 6
MRN = "urn:example:mrn"


def organisation(name: str) -> dict:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": MRN, "value": name}],
        "name": name,
    }


def creates(names: list[str]) -> dict:
    entries = [
        {
            "resource": organisation(name),
            "request": {
                "method": "POST",
                "url": "Organization",
                "ifNoneExist": f"identifier={MRN}|{name}",
            },
        }
        for name in names
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def referrers(names: list[str]) -> dict:
    entries = [
        {
            "resource": {
                "resourceType": "Patient",
                "managingOrganization": {"reference": f"Organization?identifier={MRN}|{n}"},
            },
            "request": {"method": "POST", "url": "Patient"},
        }
        for n in names
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def run_pair(engine: Engine, first: dict, second: dict) -> list[str]:
    barrier = threading.Barrier(2)

    def run(bundle: dict) -> str:
        barrier.wait()
        response = process_bundle(engine, bundle, "http://x/fhir", guard=OPEN_ACCESS, rules=())
        return ",".join(e["response"]["status"] for e in response["entry"])

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, [first, second]))


def count(engine: Engine, resource_type: str) -> int:
    with engine.connect() as connection:
        stmt = (
            select(func.count())
            .select_from(resource)
            .where(resource.c.resource_type == resource_type)
        )
        return int(connection.execute(stmt).scalar_one())


def test_conditional_creates_in_opposite_orders(engine: Engine) -> None:
    for round_ in range(ROUNDS):
        names = [f"a{round_}", f"b{round_}", f"c{round_}"]
        run_pair(engine, creates(names), creates(names[::-1]))
    assert count(engine, "Organization") == 3 * ROUNDS


def test_conditional_references_in_opposite_orders(engine: Engine) -> None:
    names = ["x", "y", "z"]
    process_bundle(engine, creates(names), "http://x/fhir", guard=OPEN_ACCESS, rules=())
    for _ in range(ROUNDS):
        statuses = run_pair(engine, referrers(names), referrers(names[::-1]))
        assert all(s.startswith("201") for s in ",".join(statuses).split(","))
    assert count(engine, "Patient") == 2 * 3 * ROUNDS
