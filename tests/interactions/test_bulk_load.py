"""`bulk_load.create_all`: creates at the ids in one transaction, never overwrites, runs a
deadlocked transaction again on a fresh copy of the resources (both databases)."""

from __future__ import annotations

import contextlib
import copy
import pickle
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from samhandling.fhir.outcome import FhirError
from samhandling.interactions import bulk_load
from samhandling.interactions.bulk_load import AlreadyStored, create_all
from samhandling.interactions.read import read
from samhandling.interactions.transactions import read_transaction
from samhandling.services import default_platform

RULES = default_platform().write_rules


def people(*ids: str) -> list[dict[str, Any]]:
    return [{"resourceType": "Patient", "id": pid, "name": [{"family": pid}]} for pid in ids]


def ids_stored(engine: Engine, *ids: str) -> list[str]:
    found = []
    with read_transaction(engine) as connection:
        for pid in ids:
            with contextlib.suppress(FhirError):
                found.append(read(connection, "Patient", pid).resource_id)
    return found


def test_creates_at_the_ids_and_leaves_the_input_as_it_was(engine: Engine) -> None:
    given = [*people("a", "b"), {"resourceType": "Patient", "name": [{"family": "c"}]}]
    before = copy.deepcopy(given)
    assert create_all(engine, given, RULES) == {"Patient": 3}
    assert given == before  # no meta, no id written into the caller's resources
    assert ids_stored(engine, "a", "b") == ["a", "b"]


def test_an_id_twice_or_stored_refuses_the_whole_list(engine: Engine) -> None:
    with pytest.raises(AlreadyStored, match="Patient/a are in the list more than once"):
        create_all(engine, people("a", "b", "a"), RULES)
    assert ids_stored(engine, "a", "b") == []
    create_all(engine, people("b"), RULES)
    with pytest.raises(AlreadyStored, match="Patient/b are stored already") as refused:
        create_all(engine, people("a", "b"), RULES)
    assert refused.value.status == 409 and refused.value.keys == [("Patient", "b")]
    assert ids_stored(engine, "a", "b") == ["b"]


def test_a_deadlocked_transaction_runs_again_on_a_fresh_copy(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bulk_load._create_all_once
    seen: list[Any] = []

    def deadlocks_once(*args: Any) -> Any:
        seen.append(copy.deepcopy(args[1]))  # as the attempt gets it
        if len(seen) == 1:
            args[1][0]["meta"] = {"versionId": "7"}  # what a write does to its resources
            raise OperationalError("INSERT …", {}, Exception("deadlock detected"))
        return real(*args)

    monkeypatch.setattr(bulk_load, "_create_all_once", deadlocks_once)
    assert create_all(engine, people("a"), RULES) == {"Patient": 1}
    assert len(seen) == 2 and "meta" not in seen[1][0]
    assert ids_stored(engine, "a") == ["a"]


def test_a_refusal_travels_from_a_worker_process() -> None:
    refused = pickle.loads(pickle.dumps(AlreadyStored([("Patient", "a")], "are stored already")))
    assert refused.keys == [("Patient", "a")] and "Patient/a are stored already" in refused.message
