"""Prescribers saving at the same instant: exactly one wins (real threads, both databases).

Each thread runs the operation's handler in its own write transaction; the List's row
lock (`VersionWriter.current`: FOR UPDATE on PostgreSQL, the write lock on SQLite)
orders them, so every loser is judged against the winner's version and refused.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from medlistkit import body, statement, uuid_of
from sqlalchemy import Engine

from samhandling.fhir.outcome import FhirError
from samhandling.interactions import crud
from samhandling.interactions.operations import OperationContext, parameters_of
from samhandling.services.medication_list import update
from samhandling.services.medication_list.listing import entries_of, list_id
from samhandling.services.medication_list.rules import ListWrites
from samhandling.store.database import write_connection
from samhandling.store.reader import read_current
from samhandling.store.version_writer import VersionWriter

PRESCRIBERS = 6
PATIENT = "race-patient"


def _save(engine: Engine, based_on: int, entries: list[dict[str, Any]]) -> int:
    request = body(based_on, entries)
    try:
        with write_connection(engine) as connection:
            writer = VersionWriter(connection, rules=(ListWrites(),))
            context = OperationContext(
                connection, writer, writer.guard, "http://x/fhir", "Patient", PATIENT,
                parameters_of(request, []), request,
            )  # fmt: skip
            return update.update(context).status
    except FhirError as refusal:
        return refusal.status


def _current_entries(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        stored = read_current(connection, "List", list_id(PATIENT))
        assert stored is not None
        return set(entries_of(stored.resource()))


def _patient(engine: Engine) -> None:
    with write_connection(engine) as connection:
        patient = {"resourceType": "Patient", "id": PATIENT}
        crud.update(VersionWriter(connection), "Patient", PATIENT, patient)


def _race(engine: Engine, based_on: int, lists: list[list[dict[str, Any]]]) -> list[int]:
    barrier = threading.Barrier(len(lists))

    def attempt(entries: list[dict[str, Any]]) -> int:
        barrier.wait()
        return _save(engine, based_on, entries)

    with ThreadPoolExecutor(len(lists)) as pool:
        return list(pool.map(attempt, lists))


def test_concurrent_saves_of_one_version_one_wins(engine: Engine) -> None:
    _patient(engine)
    kept = statement(patient=PATIENT)
    assert _save(engine, 0, [kept]) == 201
    own = [statement("C09AA05", f"Ramipril {i}", patient=PATIENT) for i in range(PRESCRIBERS)]
    statuses = _race(engine, 1, [[kept, entry] for entry in own])
    assert sorted(statuses) == [200] + [412] * (PRESCRIBERS - 1)
    winner = own[statuses.index(200)]
    assert _current_entries(engine) == {uuid_of(kept), uuid_of(winner)}


def test_concurrent_first_lists_make_one(engine: Engine) -> None:
    _patient(engine)
    own = [statement(f"C10AA0{i}", f"Statin {i}", patient=PATIENT) for i in range(PRESCRIBERS)]
    statuses = _race(engine, 0, [[entry] for entry in own])
    assert statuses.count(201) == 1
    assert set(statuses) - {201} <= {409, 412}
    assert _current_entries(engine) == {uuid_of(own[statuses.index(201)])}
