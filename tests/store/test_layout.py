"""The patient-partitioned layout (store/layout.py): the clinical tables really are
hash-partitioned by patient, a patient's rows lie together, type/id stays unique across
partitions, and a merge moves the re-pointed resources' rows to the target's partition."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from samhandling.interactions import crud
from samhandling.services.identity.merge import execute_merge, plan_merge
from samhandling.services.identity.merge_input import MergeRequest
from samhandling.store.database import read_connection, write_connection
from samhandling.store.layout import PARTITION_KEYS, PARTITIONS, unpartition
from samhandling.store.reader import read_current, read_version
from samhandling.store.version_writer import VersionWriter

PATIENTS = [f"pasient-{n}" for n in range(8)]


def _observation(patient_id: str, code: str = "puls") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def _load(engine: Engine) -> dict[str, str]:
    """A Patient and an Observation of each of PATIENTS; the Observation ids by patient."""
    observations = {}
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        for patient in PATIENTS:
            crud.update(writer, "Patient", patient, {"resourceType": "Patient", "id": patient})
            observations[patient] = crud.create(writer, _observation(patient)).version.resource_id
    return observations


def _partitions(engine: Engine, table: str, resource_id: str) -> set[tuple[str, str]]:
    """(partition, shard key) of the rows of `table` that belong to the resource."""
    key = PARTITION_KEYS[table]
    query = text(f"SELECT tableoid::regclass::text, {key} FROM {table} WHERE resource_id = :id")
    with engine.connect() as connection:
        return {(r[0], r[1]) for r in connection.execute(query, {"id": resource_id})}


def _suffix(partition: str) -> str:
    return partition.rsplit("_", 1)[1]


def test_the_clinical_tables_are_hash_partitioned_on_their_patient_key(
    partitioned: Engine,
) -> None:
    query = text(
        "SELECT p.partrelid::regclass::text, p.partstrat, a.attname, a.attnotnull,"
        " (SELECT count(*) FROM pg_inherits WHERE inhparent = p.partrelid)"
        " FROM pg_partitioned_table p JOIN pg_attribute a"
        " ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
    )
    with partitioned.connect() as connection:
        found = {row[0]: row[1:] for row in connection.execute(query)}
    assert found == {table: ("h", key, True, PARTITIONS) for table, key in PARTITION_KEYS.items()}


def test_a_patients_rows_lie_in_its_partition_and_patients_spread(partitioned: Engine) -> None:
    observations = _load(partitioned)
    used = set()
    for patient, observation in observations.items():
        (partition, key), *more = _partitions(partitioned, "resource", patient)
        assert not more and key == patient
        used.add(_suffix(partition))
        for table in ("resource", "resource_version", "index_token", "index_reference"):
            assert _partitions(partitioned, table, observation) == {
                (f"{table}_{_suffix(partition)}", patient)
            }
        assert _partitions(partitioned, "compartment", observation) == {
            (f"compartment_{_suffix(partition)}", patient)
        }
    assert len(used) >= 2  # eight patients over eight partitions: not all in one


def test_a_type_and_id_stay_unique_across_partitions(partitioned: Engine) -> None:
    observations = _load(partitioned)
    taken = observations[PATIENTS[0]]
    # the same id again, about another patient: another partition's primary key
    with (
        pytest.raises(IntegrityError, match="resource_locator"),
        write_connection(partitioned) as connection,
    ):
        VersionWriter(connection).write(
            "Observation", taken, _observation(PATIENTS[1]), method="create", previous=None
        )


def test_a_merge_moves_the_repointed_rows_to_the_targets_partition(partitioned: Engine) -> None:
    observations = _load(partitioned)
    home = {p: _suffix(next(iter(_partitions(partitioned, "resource", p)))[0]) for p in PATIENTS}
    source = PATIENTS[0]
    target = next(p for p in PATIENTS if home[p] != home[source])
    moved = observations[source]
    with write_connection(partitioned) as connection:
        writer = VersionWriter(connection)
        plan = plan_merge(writer, MergeRequest(source, target, None, False), "http://x/fhir")
        execute_merge(writer, plan)
    for table in ("resource", "index_token", "index_reference"):
        assert _partitions(partitioned, table, moved) == {(f"{table}_{home[target]}", target)}
    assert _partitions(partitioned, "compartment", moved) == {
        (f"compartment_{home[target]}", target)
    }
    assert _partitions(partitioned, "resource_version", moved) == {
        (f"resource_version_{home[source]}", source),  # version 1 stays where it was written
        (f"resource_version_{home[target]}", target),
    }
    with read_connection(partitioned) as connection:
        locator = text("SELECT shard_key FROM resource_locator WHERE resource_id = :id")
        assert connection.execute(locator, {"id": moved}).scalar_one() == target
        current = read_current(connection, "Observation", moved)
        assert current is not None and current.version_id == 2
        assert current.resource()["subject"]["reference"] == f"Patient/{target}"
        first = read_version(connection, "Observation", moved, 1)
        assert first is not None and first.resource()["subject"]["reference"] == f"Patient/{source}"


def test_a_deletion_stays_in_its_patients_partition(partitioned: Engine) -> None:
    observation = _load(partitioned)[PATIENTS[0]]
    before = _partitions(partitioned, "resource", observation)
    with write_connection(partitioned) as connection:
        writer = VersionWriter(connection)
        writer.write(
            "Observation",
            observation,
            None,
            method="delete",
            previous=writer.current("Observation", observation),
        )
    assert _partitions(partitioned, "resource", observation) == before


def test_unpartitioning_keeps_the_rows(partitioned: Engine) -> None:
    """The downgrade of migration 0023 turns the tables back into plain ones."""
    observations = _load(partitioned)
    with partitioned.begin() as connection:
        unpartition(connection)
        assert not connection.execute(text("SELECT count(*) FROM pg_partitioned_table")).scalar()
        count = text("SELECT count(*) FROM resource WHERE resource_type = 'Observation'")
        assert connection.execute(count).scalar() == len(observations)
        assert to_regclass(connection, "resource_locator") is None


def to_regclass(connection: Any, name: str) -> Any:
    return connection.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
