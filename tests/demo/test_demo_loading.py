"""The demo population loads through the API's transaction code on both databases, and the
persona tokens meet it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from fixtures.fhir_app import make_client
from samhandling.cli import operator_errors
from samhandling.cli.main import app
from samhandling.demo import load_bundles, population_bundles, register_bundle
from samhandling.services import default_platform
from samhandling.store.database import make_engine, read_connection
from samhandling.store.schema import resource

HOOKS = default_platform().demo_hooks
RULES = default_platform().write_rules

BASE = "http://testserver/fhir"
REGISTER_FILE = Path(__file__).parents[2] / "src/samhandling/demo/register-bundle.json"


def count(engine: Engine, resource_type: str) -> int:
    with read_connection(engine) as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(resource)
                .where(resource.c.resource_type == resource_type)
            ).scalar_one()
        )


def test_the_population_loads_and_persona_tokens_meet_it(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    counts = load_bundles(engine, population_bundles(40, 2, hooks=HOOKS), BASE, rules=RULES)
    assert counts["Patient"] == 47 and counts["Organization"] >= 40
    with make_client(database_url, tmp_path, persona="citizen") as citizen:
        own = citizen.get("/fhir/Patient").json()
        assert [e["resource"]["id"] for e in own["entry"]] == ["persona-citizen"]
    with make_client(database_url, tmp_path, persona="gp") as gp:
        found = gp.get("/fhir/Patient?general-practitioner=PractitionerRole/role-9100001")
        assert found.status_code == 200 and found.json()["total"] >= 5
        me = gp.get("/fhir/Practitioner?identifier=urn:oid:2.16.578.1.12.4.1.4.4|9100001")
        assert me.json()["total"] == 1


def test_loading_twice_changes_nothing_but_versions(engine: Engine) -> None:
    bundles = population_bundles(15, 4, hooks=HOOKS)
    load_bundles(engine, bundles, BASE, rules=RULES)
    before = count(engine, "Patient")
    load_bundles(engine, bundles, BASE, rules=RULES)
    assert count(engine, "Patient") == before == 22


def test_the_demo_command(database_url: str) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--patients", "12", "--seed", "3", "--database", database_url]
    )
    assert result.exit_code == 0, result.output
    assert "Patient: 19" in result.output


def test_the_shipped_register_file_is_the_demo_register() -> None:
    assert json.loads(REGISTER_FILE.read_text(encoding="utf-8")) == register_bundle()


def test_the_register_file_loads_with_samhandling_import(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines: list[Engine] = []

    def tracked_engine(url: str) -> Engine:  # `import` leaves its engine open; close it here
        engines.append(make_engine(url))
        return engines[-1]

    monkeypatch.setattr(operator_errors, "make_engine", tracked_engine)
    result = CliRunner().invoke(app, ["import", str(REGISTER_FILE), "--database", database_url])
    for opened in engines:
        opened.dispose()
    assert result.exit_code == 0, result.output
    assert count(engine, "Practitioner") == len(
        [e for e in register_bundle()["entry"] if e["resource"]["resourceType"] == "Practitioner"]
    )
