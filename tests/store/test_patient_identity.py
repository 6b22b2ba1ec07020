"""One person, one record: a national identity number belongs to one active Patient."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from samhandling.cli.main import app
from samhandling.fhir.outcome import FhirError
from samhandling.identifiers.identifier_systems import FNR_SYSTEM, H_NUMBER_TYPE_SYSTEM
from samhandling.interactions import crud
from samhandling.interactions.patient_identity import patient_ids_for_pids
from samhandling.store.database import read_connection, write_connection
from samhandling.store.patient_identity import claims_of
from samhandling.store.schema import patient_identity, resource
from samhandling.store.schema_migrations import alembic_config, upgrade
from samhandling.store.version_writer import VersionWriter

FNR = "05858540072"  # the `citizen` persona's synthetic number
OTHER_FNR = "01828095648"
WRITERS = 20


def patient(*numbers: str, **extra: Any) -> dict[str, Any]:
    identifiers = [{"system": FNR_SYSTEM, "value": n} for n in numbers]
    return {"resourceType": "Patient", **({"identifier": identifiers} if numbers else {}), **extra}


def write(engine: Engine, action: Any) -> Any:
    with write_connection(engine) as connection:
        return action(VersionWriter(connection))


def create(engine: Engine, body: dict[str, Any], **kwargs: Any) -> str:
    return str(write(engine, lambda w: crud.create(w, body, **kwargs)).version.resource_id)


def holder(engine: Engine, number: str) -> str | None:
    with read_connection(engine) as connection:
        return patient_ids_for_pids(connection, [number]).get(number)


def test_second_patient_with_the_number_is_refused_naming_the_first(engine: Engine) -> None:
    first = create(engine, patient(FNR))
    with pytest.raises(FhirError) as refused:
        create(engine, patient(FNR))
    assert refused.value.status == 409
    assert f"Patient/{first}" in refused.value.message
    assert FNR not in refused.value.message  # masked
    assert holder(engine, FNR) == first


def test_update_adding_a_held_number_is_refused(engine: Engine) -> None:
    create(engine, patient(FNR))
    other = create(engine, patient())
    with pytest.raises(FhirError) as refused:
        write(engine, lambda w: crud.update(w, "Patient", other, {**patient(FNR), "id": other}))
    assert refused.value.status == 409


def test_deleting_or_removing_the_number_releases_it(engine: Engine) -> None:
    first = create(engine, patient(FNR, OTHER_FNR))
    write(engine, lambda w: crud.update(w, "Patient", first, {**patient(OTHER_FNR), "id": first}))
    second = create(engine, patient(FNR))
    assert holder(engine, FNR) == second
    write(engine, lambda w: crud.delete(w, "Patient", second))
    assert holder(engine, FNR) is None
    assert create(engine, patient(FNR))
    assert holder(engine, OTHER_FNR) == first


def test_inactive_patient_keeps_its_claim(engine: Engine) -> None:
    first = create(engine, patient(FNR, active=False))
    with pytest.raises(FhirError):
        create(engine, patient(FNR))
    assert holder(engine, FNR) == first


def test_h_number_is_unique_within_its_issuer(engine: Engine) -> None:
    h_type = {"coding": [{"system": H_NUMBER_TYPE_SYSTEM, "code": "HNR"}]}
    local = {"system": "urn:oid:2.16.578.1.12.4.1.7.1", "value": "01428012345", "type": h_type}
    create(engine, {"resourceType": "Patient", "identifier": [local]})
    with pytest.raises(FhirError) as refused:
        create(engine, {"resourceType": "Patient", "identifier": [local]})
    assert refused.value.status == 409
    elsewhere = {**local, "system": "urn:oid:2.16.578.1.12.4.1.7.2"}
    assert create(engine, {"resourceType": "Patient", "identifier": [elsewhere]})


def test_conditional_create_on_the_identifier_returns_the_holder(engine: Engine) -> None:
    first = create(engine, patient(FNR))
    found = write(
        engine,
        lambda w: crud.create(w, patient(FNR), if_none_exist=f"identifier={FNR_SYSTEM}|{FNR}"),
    )
    assert (found.status, found.version.resource_id) == (200, first)


def test_twenty_concurrent_creates_make_one_patient(engine: Engine) -> None:
    barrier = threading.Barrier(WRITERS)

    def attempt(_: int) -> int:
        barrier.wait()
        try:
            return int(write(engine, lambda w: crud.create(w, patient(FNR))).status)
        except FhirError as exc:
            return exc.status

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(attempt, range(WRITERS)))
    assert statuses == [201] + [409] * (WRITERS - 1)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(resource)).scalar_one()
    assert count == 1


def test_migration_leaves_duplicates_disputed_and_merge_settles_them(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A database with duplicates from before the table: no holder, a warning, then $merge."""
    a, b = create(engine, patient(FNR)), create(engine, patient(OTHER_FNR))
    _forge_duplicate(engine, b, FNR)
    with engine.begin() as connection:  # back to before the table (later migrations too)
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")
    with caplog.at_level(logging.WARNING, logger="samhandling.migrations"):
        upgrade(engine)
    both = ", ".join(f"Patient/{p}" for p in sorted((a, b)))
    assert both in caplog.text
    assert FNR not in caplog.text and FNR[:6] + "*****" in caplog.text
    assert holder(engine, FNR) is None  # never silently pick one
    listed = CliRunner().invoke(app, ["identity", "duplicates", "--database", str(engine.url)])
    assert listed.exit_code == 1
    assert f"{FNR_SYSTEM}|{FNR[:6]}*****\t{both}" in listed.stdout
    assert FNR not in listed.output
    assert holder(engine, OTHER_FNR) == b
    with pytest.raises(FhirError):
        create(engine, patient(FNR))  # a third record is refused
    write(engine, lambda w: crud.update(w, "Patient", a, {**patient(FNR), "id": a}))  # writable
    replaced = {**patient(FNR), "id": b, "active": False}
    replaced["link"] = [{"other": {"reference": f"Patient/{a}"}, "type": "replaced-by"}]
    write(engine, lambda w: crud.update(w, "Patient", b, replaced))
    assert holder(engine, FNR) == a
    listed = CliRunner().invoke(app, ["identity", "duplicates", "--database", str(engine.url)])
    assert listed.exit_code == 0, listed.output
    with read_connection(engine) as connection:
        assert claims_of(connection, b) == []


def _forge_duplicate(engine: Engine, patient_id: str, number: str) -> None:
    """Give `patient_id` the number behind the table's back (as an old database would)."""
    with engine.begin() as connection:
        connection.execute(patient_identity.delete())
    body = {**patient(number, OTHER_FNR), "id": patient_id}
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        writer.reindex("Patient", patient_id, body)
        connection.execute(
            resource.update()
            .where(resource.c.resource_id == patient_id)
            .values(content=__import__("orjson").dumps(body))
        )
