"""Custom SearchParameters at run time, and `samhandling reindex`."""

from __future__ import annotations

import pytest
from searchkit import SearchStore
from typer.testing import CliRunner

from samhandling.cli.reindex_command import reindex, reindex_command
from samhandling.fhir.outcome import FhirError
from samhandling.fhir.search_parameters import default_registry
from samhandling.search.custom_parameters import check_search_parameter, register_written

CODE = "samhandling-test-nickname"
NICKNAME = {
    "resourceType": "SearchParameter",
    "id": "nickname",
    "url": "http://example.org/fhir/SearchParameter/samhandling-test-nickname",
    "name": "nickname",
    "status": "active",
    "description": "A patient's nickname",
    "code": CODE,
    "base": ["Patient"],
    "type": "string",
    "expression": "Patient.name.where(use = 'nickname').given",
}


def nick(rid: str, name: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": rid,
        "name": [
            {"use": "official", "family": "Olsen", "given": ["Karl"]},
            {"use": "nickname", "given": [name]},
        ],
    }


def test_custom_parameter_then_reindex(store: SearchStore, database_url: str) -> None:
    fresh = default_registry().get("Patient", CODE) is None  # not yet added by another test
    store.put(nick("before", "Kalle"))
    if fresh:
        with pytest.raises(FhirError):
            store.bundle("Patient", f"{CODE}=kalle")
    store.put(NICKNAME)  # the search below loads it from the store
    if fresh:  # written before the parameter existed: not indexed yet
        assert store.found("Patient", f"{CODE}=kalle") == set()
    store.put(nick("after", "Kalle"))
    assert "after" in store.found("Patient", f"{CODE}=kalle")  # indexed when written
    assert reindex(database_url) == 3
    assert store.found("Patient", f"{CODE}=kalle") == {"before", "after"}
    assert store.found("Patient", f"{CODE}=karl") == set()  # the official given name is not
    assert store.found("Patient", "given=karl") == {"before", "after"}  # and nothing was lost


def test_reindex_command_line(store: SearchStore, database_url: str) -> None:
    store.put({"resourceType": "Patient", "id": "x", "gender": "male"})
    result = CliRunner().invoke(_app(), ["--database", database_url])
    assert result.exit_code == 0, result.output
    assert "reindexed 1 resources" in result.output
    assert store.found("Patient", "gender=male") == {"x"}


def _app():  # type: ignore[no-untyped-def]
    import typer

    app = typer.Typer()
    app.command()(reindex_command)
    return app


def test_invalid_custom_parameters_are_422() -> None:
    bad = {**NICKNAME, "expression": "Patient.name.where(", "url": "http://example.org/bad"}
    with pytest.raises(FhirError) as caught:
        check_search_parameter(bad)
    assert caught.value.status == 422
    assert register_written(bad) is False
    check_search_parameter(NICKNAME)  # a good one passes
    official = {
        "resourceType": "SearchParameter",
        "url": "http://hl7.org/fhir/SearchParameter/Patient-name",
        "status": "active",
    }
    assert register_written(official) is False  # the official definitions are not replaced
