"""Batch Bundles run in one transaction per chunk with a savepoint per entry: a failing
entry takes everything it wrote with it (rows, queued index rows), the others are kept,
and conditional creates still see what the entries before them wrote."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from fixtures.batch_faults import Deadlocked, deadlock_once
from samhandling.access_guard import OpenAccess
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import batch, batch_answers
from samhandling.interactions.bundle import process_bundle
from samhandling.interactions.conditions import find_matches
from samhandling.store.database import read_connection
from samhandling.store.schema import (
    INDEX_TABLES,
    compartment,
    outbox,
    resource,
    resource_version,
)

MID = "urn:example:measurement"
ROW_TABLES = (resource, resource_version, outbox, compartment, *INDEX_TABLES.values())


def observation(name: str, status: str = "final") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": MID, "value": name}],
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-03-01T08:00:00Z",
        "valueQuantity": {"value": 70, "system": "http://unitsofmeasure.org", "code": "/min"},
    }


def create(body: dict[str, Any], conditional: bool = True) -> dict[str, Any]:
    request = {"method": "POST", "url": "Observation"}
    if conditional:
        request["ifNoneExist"] = f"identifier={MID}|{body['identifier'][0]['value']}"
    return {"resource": body, "request": request}


def run(engine: Engine, *entries: dict[str, Any], guard: Any = None) -> list[dict[str, Any]]:
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": list(entries)}
    response = process_bundle(
        engine, bundle, "http://x/fhir", guard=guard or OpenAccess(), rules=()
    )
    return [e["response"] for e in response["entry"]]


def statuses(responses: list[dict[str, Any]]) -> list[str]:
    return [r["status"][:3] for r in responses]


def matches(engine: Engine, name: str) -> list[str]:
    with read_connection(engine) as connection:
        return find_matches(connection, "Observation", f"identifier={MID}|{name}", lock=False)


def rows_of(engine: Engine, resource_id: str) -> dict[str, int]:
    with read_connection(engine) as connection:
        return {
            table.name: int(
                connection.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.resource_id == resource_id)
                ).scalar_one()
            )
            for table in ROW_TABLES
        }


class RefusingAfterWrite(OpenAccess):
    """Refuses the write of a resource carrying `refused` after it is written, so that its
    rows are written and queued before its entry fails."""

    def __init__(self, refused: str) -> None:
        self.refused = refused.encode()
        self.ids: list[str] = []

    def after_write(
        self, connection: Any, written: Any, patients: frozenset[str], note: Any = None
    ) -> None:
        if self.refused in (written.content or b""):
            self.ids.append(written.resource_id)
            raise FhirError(422, error("business-rule", "refused after the write"))


def test_a_failing_entry_leaves_nothing_and_the_others_are_kept(engine: Engine) -> None:
    guard = RefusingAfterWrite('"m2"')
    responses = run(engine, *(create(observation(n)) for n in ("m1", "m2", "m3")), guard=guard)
    assert statuses(responses) == ["201", "422", "201"]
    diagnostics = responses[1]["outcome"]["issue"][0]["diagnostics"]
    assert diagnostics.startswith("Bundle.entry[1] (POST Observation)")
    # refused once without savepoints (the chunk then ran again), once in its savepoint
    assert len(guard.ids) == 2
    for refused in guard.ids:
        assert set(rows_of(engine, refused).values()) == {0}  # not a row in any table
    assert matches(engine, "m2") == []
    for name in ("m1", "m3"):
        (kept,) = matches(engine, name)
        written = rows_of(engine, kept)
        for table in ("resource", "resource_version", "outbox", "compartment"):
            assert written[table] == 1, table
        assert written["index_token"] > 0 and written["index_quantity"] > 0


def test_the_same_measurement_twice_in_a_batch_and_resent_is_stored_once(engine: Engine) -> None:
    first = run(engine, create(observation("m4")), create(observation("m4")))
    assert statuses(first) == ["201", "200"]
    assert first[0]["location"] == first[1]["location"]
    again = run(engine, create(observation("m4")), create(observation("m5")))
    assert statuses(again) == ["200", "201"]
    assert again[0]["location"] == first[0]["location"]
    assert len(matches(engine, "m4")) == 1


def test_a_measurement_written_plainly_before_is_found_by_a_later_conditional_create(
    engine: Engine,
) -> None:
    """The early search of the chunk found nothing; the plain create before the entry
    spoils that answer, so the entry searches again and finds it."""
    responses = run(engine, create(observation("m6"), conditional=False), create(observation("m6")))
    assert statuses(responses) == ["201", "200"]
    assert responses[0]["location"] == responses[1]["location"]


def test_a_duplicate_of_a_failed_entry_is_created(engine: Engine) -> None:
    responses = run(engine, create(observation("m7", status="bogus")), create(observation("m7")))
    assert statuses(responses) == ["400", "201"]
    assert len(matches(engine, "m7")) == 1


def test_chunks_commit_apart_and_still_see_each_other(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "CHUNK_ENTRIES", 2)
    names = ["c1", "c2", "c3", "c1", "c4"]
    entries = [create(observation(n, "bogus" if n == "c3" else "final")) for n in names]
    assert statuses(run(engine, *entries)) == ["201", "201", "400", "200", "201"]
    assert [len(matches(engine, n)) for n in ("c1", "c2", "c3", "c4")] == [1, 1, 0, 1]


def test_a_chunk_with_a_failure_runs_again_in_careful_pieces(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk runs without savepoints; once an entry fails it runs again from the bodies
    as sent, in pieces of at most CAREFUL_ENTRIES with a savepoint per entry (each piece
    its own transaction), and the answers are those of one entry after another."""
    monkeypatch.setattr(batch, "CHUNK_ENTRIES", 5)
    monkeypatch.setattr(batch, "CAREFUL_ENTRIES", 2)
    runs: list[tuple[list[str], bool]] = []
    run_chunk = batch._Chunk.run

    def recorded(chunk: batch._Chunk, entries: list[Any]) -> list[Any]:
        names = [e.resource["identifier"][0]["value"] for e in entries]
        runs.append((names, chunk.careful))
        return run_chunk(chunk, entries)

    monkeypatch.setattr(batch._Chunk, "run", recorded)
    names = ["k1", "k2", "k3", "k1", "k4", "k5"]
    entries = [create(observation(n, "bogus" if n == "k3" else "final")) for n in names]
    assert statuses(run(engine, *entries)) == ["201", "201", "400", "200", "201", "201"]
    assert runs == [
        (["k1", "k2", "k3", "k1", "k4"], False),  # the chunk, without savepoints: k3 fails
        (["k1", "k2"], True),
        (["k3", "k1"], True),  # the second k1 finds the first, kept in the piece before
        (["k4"], True),
        (["k5"], False),  # the next chunk runs without savepoints again
    ]
    assert [len(matches(engine, n)) for n in ("k1", "k2", "k3", "k4", "k5")] == [1, 1, 0, 1, 1]


def test_a_careful_piece_stays_within_the_cached_subtransactions() -> None:
    """PostgreSQL caches 64 subtransactions per backend (PGPROC_MAX_CACHED_SUBXIDS); a
    careful piece takes one savepoint per entry."""
    assert batch.CAREFUL_ENTRIES <= 64
    assert batch.CHUNK_ENTRIES >= batch.CAREFUL_ENTRIES


def test_a_deadlocked_chunk_runs_again(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    deadlock_once(monkeypatch)
    assert statuses(run(engine, create(observation("d1")))) == ["201"]
    assert len(matches(engine, "d1")) == 1


def test_a_rerun_chunk_starts_from_the_bodies_as_sent(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt resolves the conditional reference to the Patient it created and
    is rolled back; the rerun must resolve it again, to the Patient it creates itself."""
    deadlock_once(monkeypatch)
    patient = {"resourceType": "Patient", "identifier": [{"system": MID, "value": "p-rerun"}]}
    measured = observation("d4")
    measured["subject"] = {"reference": f"Patient?identifier={MID}|p-rerun"}
    responses = run(
        engine,
        {"resource": patient, "request": {"method": "POST", "url": "Patient"}},
        create(measured),
    )
    assert statuses(responses) == ["201", "201"]
    patient_id = responses[0]["location"].split("/")[1]
    with read_connection(engine) as connection:
        found = find_matches(connection, "Observation", f"subject=Patient/{patient_id}", lock=False)
    assert len(found) == 1


def test_a_chunk_that_keeps_deadlocking_answers_503_and_stores_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always(self: Any, entries: Any) -> Any:
        raise OperationalError("SELECT", {}, Deadlocked())

    monkeypatch.setattr(batch._Chunk, "run", always)
    responses = run(engine, create(observation("d2")), create(observation("d3")))
    assert statuses(responses) == ["503", "503"]
    assert "Bundle.entry[1]" in responses[1]["outcome"]["issue"][0]["diagnostics"]
    assert matches(engine, "d2") == [] and matches(engine, "d3") == []


def test_a_chunks_identifier_criteria_are_searched_in_one_statement(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No conditional create of a resent batch searches on its own, and each still finds
    its own measurement."""
    first = run(engine, *(create(observation(f"s{n}")) for n in range(5)))
    alone: list[str] = []
    real = batch_answers.find_matches

    def counted(connection: Any, resource_type: str, criteria: str, **options: Any) -> Any:
        alone.append(criteria)
        return real(connection, resource_type, criteria, **options)

    monkeypatch.setattr(batch_answers, "find_matches", counted)
    again = run(engine, *(create(observation(f"s{n}")) for n in (4, 3, 9, 2, 1, 0)))
    assert statuses(again) == ["200", "200", "201", "200", "200", "200"]
    locations = [r["location"] for r in first]
    assert [r["location"] for r in again if r["status"][:3] == "200"] == [
        locations[n] for n in (4, 3, 2, 1, 0)
    ]
    assert alone == []


def test_savepoints_are_taken_only_after_an_entry_failed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[int] = []
    real = batch.savepoint

    def counted(connection: Any) -> Any:
        taken.append(1)
        return real(connection)

    monkeypatch.setattr(batch, "savepoint", counted)
    assert statuses(run(engine, *(create(observation(f"g{n}")) for n in range(3)))) == ["201"] * 3
    assert taken == []
    bad = create(observation("b2", status="bogus"))
    responses = run(engine, create(observation("b1")), bad, create(observation("b3")))
    assert statuses(responses) == ["201", "400", "201"]
    assert len(taken) == 3  # the rerun: one per entry
    assert [len(matches(engine, n)) for n in ("b1", "b2", "b3")] == [1, 0, 1]


def test_a_conditional_reference_matching_nothing_fails_its_entry_only(engine: Engine) -> None:
    """Each entry is looked at for conditional references (the walk is spared only when
    its JSON has no `?`): one naming no resource is refused, the entry beside it kept."""
    dangling = observation("c1")
    dangling["subject"] = {"reference": f"Patient?identifier={MID}|nobody"}
    responses = run(engine, create(dangling), create(observation("c2")))
    assert statuses(responses) == ["412", "201"]
    assert matches(engine, "c1") == [] and len(matches(engine, "c2")) == 1
