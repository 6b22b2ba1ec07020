"""The store's named queries, which services and the command line ask instead of building
SQL: each keeps to current, not deleted resources where it says so, on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from samhandling.store.compartment_queries import (
    current_entries_of_types,
    current_entries_with_profiles,
)
from samhandling.store.database import read_connection, write_connection
from samhandling.store.identity_queries import ids_by_identifier, pointing_at_patient
from samhandling.store.lab_queries import code_series, latest_per_code
from samhandling.store.reader import (
    count_stored,
    current_contents_after,
    read_versions_with_current,
)
from samhandling.store.version_writer import VersionWriter

KJ = "http://example.org/StructureDefinition/kj-allergy"
OTHER = "http://example.org/StructureDefinition/other"


def allergy(rid: str, profile: str) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": rid,
        "meta": {"profile": [profile]},
        "patient": {"reference": "Patient/p"},
    }


def stored(engine: Engine) -> None:
    """Patient p (identifier urn:x|1), three allergies of p (one deleted, one of another
    profile) and an Observation referencing p."""
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        identifier = [{"system": "urn:x", "value": "1"}]
        patient = {"resourceType": "Patient", "id": "p", "identifier": identifier}
        writer.write("Patient", "p", patient, method="create", previous=None)
        for rid, profile in [("a1", KJ), ("a2", OTHER)]:
            body = allergy(rid, profile)
            writer.write("AllergyIntolerance", rid, body, method="create", previous=None)
        body = allergy("a3", KJ)
        gone = writer.write("AllergyIntolerance", "a3", body, method="create", previous=None)
        writer.write("AllergyIntolerance", "a3", None, method="delete", previous=gone)
        observation = {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/p"},
        }
        writer.write("Observation", "o", observation, method="create", previous=None)


def test_compartment_entries_keep_to_the_profiles_and_skip_deleted(engine: Engine) -> None:
    stored(engine)
    with read_connection(engine) as connection:
        found = current_entries_with_profiles(connection, "p", ["AllergyIntolerance"], [KJ])
        assert [entry["id"] for entry in found] == ["a1"]
        assert current_entries_with_profiles(connection, "p", [], [KJ]) == []
        assert current_entries_with_profiles(connection, "q", ["AllergyIntolerance"], [KJ]) == []


def test_compartment_entries_of_types_skip_deleted_and_other_types(engine: Engine) -> None:
    stored(engine)
    with read_connection(engine) as connection:
        found = current_entries_of_types(connection, "p", ["AllergyIntolerance"])
        assert [entry["id"] for entry in found] == ["a1", "a2"]
        both = current_entries_of_types(connection, "p", ["AllergyIntolerance", "Observation"])
        assert [entry["id"] for entry in both] == ["a1", "a2", "o"]
        assert current_entries_of_types(connection, "p", []) == []


def test_given_versions_come_with_the_current_one_when_it_is_later(engine: Engine) -> None:
    stored(engine)
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        before = writer.current("AllergyIntolerance", "a1")
        assert before is not None
        changed = {**allergy("a1", KJ), "criticality": "high"}
        writer.write("AllergyIntolerance", "a1", changed, method="update", previous=before)
    with read_connection(engine) as connection:
        refs = [("a1", 1), ("a1", 2), ("a2", 1), ("a2", 9), ("a3", 2)]
        found = read_versions_with_current(connection, "AllergyIntolerance", refs)
        assert read_versions_with_current(connection, "AllergyIntolerance", []) == {}
    assert sorted(found) == [("a1", 1), ("a1", 2), ("a2", 1), ("a3", 2)]
    old, later = found[("a1", 1)]
    assert old.version_id == 1 and "criticality" not in old.resource()
    assert later is not None and later.resource()["criticality"] == "high"
    assert found[("a1", 2)][1] is None and found[("a2", 1)][1] is None  # current already
    assert found[("a3", 2)][0].deleted  # the deletion itself is a version


def test_identity_queries(engine: Engine) -> None:
    stored(engine)
    with read_connection(engine) as connection:
        assert ids_by_identifier(connection, "Patient", "urn:x", "1") == ["p"]
        assert ids_by_identifier(connection, "Patient", "urn:x", "2") == []
        pointing = pointing_at_patient(connection, "p")
        assert ("Observation", "o") in pointing and ("AllergyIntolerance", "a1") in pointing
        assert pointing == sorted(pointing)


def test_the_keyset_walk_and_the_count(engine: Engine) -> None:
    stored(engine)
    with read_connection(engine) as connection:
        first = current_contents_after(connection, ("", ""), 2)
        rest = current_contents_after(connection, (first[-1][0], first[-1][1]), 10)
        keys = [(rtype, rid) for rtype, rid, _ in first + rest]
        assert keys == [
            ("AllergyIntolerance", "a1"),
            ("AllergyIntolerance", "a2"),
            ("Observation", "o"),
            ("Patient", "p"),
        ]
        assert count_stored(connection, "AllergyIntolerance") == 3  # the deleted row stays
        assert count_stored(connection, "Patient") == 1


def test_the_lab_queries_are_planned_for_the_patient(engine: Engine) -> None:
    """A generic plan ignores the patient and reads everybody's results (bench/RESULTS.md):
    on PostgreSQL both lab queries ask for plans made for their values."""
    with read_connection(engine) as connection:
        assert latest_per_code(connection, "nobody", per_code=1) == []
        assert code_series(connection, "nobody", ("http://loinc.org", "718-7")) == []
        if engine.dialect.name == "postgresql":
            mode = connection.exec_driver_sql("SHOW plan_cache_mode").scalar()
            assert mode == "force_custom_plan"
