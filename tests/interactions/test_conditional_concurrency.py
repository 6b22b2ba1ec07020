"""Conditional create is race-safe: concurrent creates with one identifier make ONE resource."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select

from samhandling.fhir.outcome import FhirError
from samhandling.interactions import crud
from samhandling.store.database import write_connection
from samhandling.store.schema import resource
from samhandling.store.version_writer import VersionWriter

WRITERS = 8


def test_concurrent_conditional_creates_make_one_resource(engine: Engine) -> None:
    barrier = threading.Barrier(WRITERS)
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:example:mrn", "value": "race"}],
    }

    def attempt(_: int) -> int:
        barrier.wait()
        with write_connection(engine) as connection:
            result = crud.create(
                VersionWriter(connection),
                dict(body),
                if_none_exist="identifier=urn:example:mrn|race",
            )
            return result.status

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(attempt, range(WRITERS)))
    assert statuses == [200] * (WRITERS - 1) + [201]
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(resource)).scalar_one()
    assert count == 1


def test_concurrent_updates_with_if_match_one_wins(engine: Engine) -> None:
    with write_connection(engine) as connection:
        created = crud.create(VersionWriter(connection), {"resourceType": "Patient"})
    rid = created.version.resource_id
    barrier = threading.Barrier(WRITERS)

    def attempt(i: int) -> int:
        barrier.wait()
        try:
            with write_connection(engine) as connection:
                body = {"resourceType": "Patient", "id": rid, "gender": ["male", "female"][i % 2]}
                return crud.update(
                    VersionWriter(connection), "Patient", rid, body, if_match=1
                ).status
        except FhirError as exc:
            return exc.status

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(attempt, range(WRITERS)))
    assert statuses == [200] + [412] * (WRITERS - 1)
