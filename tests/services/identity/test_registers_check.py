"""registers.check_principal_registered: the token's practitioner and organisations exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from identitykit import persona_principal
from sqlalchemy import Engine

from samhandling.auth.dev.personas import PERSONAS
from samhandling.demo import load_bundles, register_bundle
from samhandling.interactions import crud
from samhandling.services import default_platform
from samhandling.services.identity import check_principal_registered
from samhandling.store.database import read_connection, write_connection
from samhandling.store.version_writer import VersionWriter

BASE = "http://testserver/fhir"


def check(engine: Engine, tmp_path: Path, persona: str, **options: Any) -> str | None:
    principal = persona_principal(tmp_path, persona, **options)
    with read_connection(engine) as connection:
        return check_principal_registered(connection, principal)


def attestation(authorization: str, legal: str, point: str, department: str | None = None) -> dict:
    practitioner: dict[str, Any] = {
        "authorization": {"code": authorization, "system": "urn:oid:2.16.578.1.12.4.1.1.9060"},
        "legal_entity": {"id": legal, "system": "urn:oid:2.16.578.1.12.4.1.4.101"},
        "point_of_care": {"id": point, "system": "urn:oid:2.16.578.1.12.4.1.4.101"},
    }
    if department:
        practitioner["department"] = {"id": department, "system": "urn:oid:2.16.578.1.12.4.1.4.102"}
    return {
        "type": "nhn:tillitsrammeverk:parameters",
        "practitioner": practitioner,
        "care_relationship": {
            "purpose_of_use": {"code": "TREAT", "system": "urn:oid:2.16.840.1.113883.1.11.20448"}
        },
    }


@pytest.fixture
def registered(engine: Engine) -> Engine:
    load_bundles(engine, [register_bundle()], BASE, rules=default_platform().write_rules)
    return engine


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_every_persona_is_registered(registered: Engine, tmp_path: Path, persona: str) -> None:
    assert check(registered, tmp_path, persona) is None


def test_nothing_is_registered_in_an_empty_database(engine: Engine, tmp_path: Path) -> None:
    assert "9100001" in (check(engine, tmp_path, "gp") or "")
    assert "991000070" in (check(engine, tmp_path, "system") or "")
    assert check(engine, tmp_path, "citizen") is None  # citizens are not in these registers


def test_an_authorisation_the_practitioner_lacks_is_refused(
    registered: Engine, tmp_path: Path
) -> None:
    details = attestation("SP", "991000011", "991000011")
    reason = check(registered, tmp_path, "gp", authorization_details=details)
    assert reason == "HPR number 9100001 does not hold the authorisation SP"


def test_a_point_of_care_outside_the_legal_entity_is_refused(
    registered: Engine, tmp_path: Path
) -> None:
    details = attestation("LE", "991000046", "991000011")  # GP office is not part of the HF
    reason = check(registered, tmp_path, "hospital-physician", authorization_details=details)
    assert reason is not None and "point of care 991000011" in reason


def test_a_department_elsewhere_is_refused(registered: Engine, tmp_path: Path) -> None:
    details = attestation("LE", "991000011", "991000011", department="4001234")
    reason = check(registered, tmp_path, "gp", authorization_details=details)
    assert reason is not None and "department 4001234" in reason


def test_an_unknown_organisation_is_refused(registered: Engine, tmp_path: Path) -> None:
    details = attestation("LE", "991000011", "974631407")
    reason = check(registered, tmp_path, "gp", authorization_details=details)
    assert reason == "the point of care 974631407 is not a registered, active organisation"


def test_inactive_practitioners_and_organisations_are_refused(
    registered: Engine, tmp_path: Path
) -> None:
    with write_connection(registered) as connection:
        writer = VersionWriter(connection)
        for rtype, rid in (("Practitioner", "hpr-9100003"), ("Organization", "org-991000062")):
            current = writer.current(rtype, rid)
            assert current is not None
            crud.update(writer, rtype, rid, {**current.resource(), "active": False})
    assert "9100003" in (check(registered, tmp_path, "hospital-physician") or "")
    assert "991000062" in (check(registered, tmp_path, "pharmacist") or "")
