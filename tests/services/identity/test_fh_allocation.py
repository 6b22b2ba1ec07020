"""Patient/$allocate-fh: a felles hjelpenummer is valid, random, recorded and never reissued."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from identitykit import FHN, create, output, parameters, post
from sqlalchemy import Engine
from starlette.testclient import TestClient

from fixtures.fhir_app import BASE, make_client
from samhandling.identifiers import PersonNumberKind, classify_person_number, generate_fh_number
from samhandling.services.identity.fh_allocation import allocate_patient
from samhandling.store.database import read_connection, write_connection
from samhandling.store.fh_ledger import (
    LedgerEntry,
    issued_count,
    ledger_entry,
    reserve,
)
from samhandling.store.version_writer import VersionWriter

ALLOCATE = "/fhir/Patient/$allocate-fh"
THREADS = 8


def allocate(client: TestClient, reason: str = "bevisstløs, uten legitimasjon", **more: object):
    items: list[tuple[str, str, object]] = [("reason", "valueString", reason)]
    items += [(name, "resource", value) for name, value in more.items()]
    return post(client, ALLOCATE, parameters(*items))


def allocate_with(engine: Engine, rng: random.Random, reason: str = "test") -> str:
    with write_connection(engine) as connection:
        allocation = allocate_patient(
            VersionWriter(connection), reason=reason, requested_by={"kind": "test"}, rng=rng
        )
    return allocation.entry.number


def test_allocation_issues_a_valid_number_and_creates_the_patient(
    gp_client: TestClient, engine: Engine
) -> None:
    response = allocate(gp_client, patient={"resourceType": "Patient", "gender": "male"})
    assert response.status_code == 201, response.text
    body = response.json()
    number = output(body, "fh-number")[0]["value"]
    assert number[0] in "89" and len(number) == 11
    assert classify_person_number(number).kind is PersonNumberKind.FHN  # check digits hold
    patient = output(body, "patient")[0]
    assert response.headers["location"] == f"{BASE}/Patient/{patient['id']}/_history/1"
    stored = gp_client.get(f"/fhir/Patient/{patient['id']}").json()
    assert stored["gender"] == "male" and stored["active"] is True
    assert {"system": FHN, "value": number} in [
        {"system": i["system"], "value": i["value"]} for i in stored["identifier"]
    ]
    with read_connection(engine) as connection:
        entry = ledger_entry(connection, number)
    assert entry is not None and entry.patient_id == patient["id"]
    assert entry.reason == "bevisstløs, uten legitimasjon"
    assert entry.requested_by["kind"] == "clinician"
    assert entry.requested_by["hpr_number"] == "9100001"
    assert entry.requested_by["organisation"] == "991000011"
    assert entry.requested_by["masked_pid"] == "128375*****"  # never the full national ID
    assert "12837510110" not in str(entry.requested_by)


def test_a_search_finds_the_patient_by_the_number(client: TestClient) -> None:
    number = output(allocate(client).json(), "fh-number")[0]["value"]
    found = client.get(f"/fhir/Patient?identifier={FHN}|{number}").json()
    assert found["total"] == 1


def test_reason_is_required(client: TestClient) -> None:
    response = post(client, ALLOCATE, parameters())
    assert response.status_code == 400
    assert "reason" in response.json()["issue"][0]["diagnostics"]


def test_a_number_cannot_be_sent_in(client: TestClient) -> None:
    given = {"resourceType": "Patient", "identifier": [{"system": FHN, "value": "81234567894"}]}
    assert allocate(client, patient=given).status_code == 422


def test_citizens_cannot_allocate(database_url: str, tmp_path: Path) -> None:
    with make_client(database_url, tmp_path, persona="citizen") as citizen:
        assert allocate(citizen).status_code == 403


def test_the_ledger_refuses_a_duplicate_number(engine: Engine) -> None:
    entry = LedgerEntry("81234567894", None, 1, "test", {"kind": "test"})
    with write_connection(engine) as connection:
        assert reserve(connection, entry) is True
        assert reserve(connection, entry) is False  # and the transaction is still usable
        assert issued_count(connection) == 1


def test_a_forced_collision_draws_another_number(engine: Engine) -> None:
    first = allocate_with(engine, random.Random(42))
    assert generate_fh_number(random.Random(42)) == first  # the same seed draws it again
    second = allocate_with(engine, random.Random(42))
    assert second != first
    with read_connection(engine) as connection:
        assert issued_count(connection) == 2


def test_a_number_is_never_reissued_after_the_patient_is_deleted(
    client: TestClient, engine: Engine
) -> None:
    first = allocate_with(engine, random.Random(7))
    patient_id = client.get(f"/fhir/Patient?identifier={FHN}|{first}").json()["entry"][0]
    assert client.delete(f"/fhir/Patient/{patient_id['resource']['id']}").status_code == 204
    assert allocate_with(engine, random.Random(7)) != first


def test_a_number_carried_by_an_imported_patient_is_skipped(
    client: TestClient, engine: Engine
) -> None:
    taken = generate_fh_number(random.Random(9))
    create(client, {"resourceType": "Patient", "identifier": [{"system": FHN, "value": taken}]})
    assert allocate_with(engine, random.Random(9)) != taken


def test_concurrent_allocations_never_issue_a_number_twice(engine: Engine) -> None:
    """Eight writers draw the SAME sequence of numbers at the same moment: every number can
    be issued only once, so each writer ends up with a different one."""
    barrier = threading.Barrier(THREADS)

    def attempt(_: int) -> str:
        rng = random.Random(1234)
        barrier.wait()
        return allocate_with(engine, rng)

    with ThreadPoolExecutor(THREADS) as pool:
        numbers = list(pool.map(attempt, range(THREADS)))
    assert len(set(numbers)) == THREADS
    expected_sequence = [generate_fh_number(r) for r in [random.Random(1234)] for _ in range(8)]
    assert set(numbers) == set(expected_sequence)
    with read_connection(engine) as connection:
        assert issued_count(connection) == THREADS
        assert all(ledger_entry(connection, n) is not None for n in numbers)


def test_concurrent_allocations_through_the_api(client: TestClient) -> None:
    barrier = threading.Barrier(THREADS)

    def attempt(_: int) -> str:
        barrier.wait()
        response = allocate(client)
        assert response.status_code == 201, response.text
        value: str = output(response.json(), "fh-number")[0]["value"]
        return value

    with ThreadPoolExecutor(THREADS) as pool:
        numbers = list(pool.map(attempt, range(THREADS)))
    assert len(set(numbers)) == THREADS
