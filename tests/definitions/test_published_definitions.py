"""The shipped profiles, code systems and value sets are readable FHIR resources, read-only."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.fhir.validation import validate_resource
from samhandling.interactions.published_definitions import publish
from samhandling.services import default_platform
from samhandling.store.database import write_connection
from samhandling.store.schema import resource_version
from samhandling.store.version_writer import VersionWriter

KJ = "https://samhandling.no/fhir/"
SHIPPED = default_platform().shipped_definitions()


def test_every_shipped_definition_is_valid_r4() -> None:
    kinds = {rtype for rtype, _ in SHIPPED}
    assert kinds == {
        "StructureDefinition",
        "CodeSystem",
        "ValueSet",
        "OperationDefinition",
        "SearchParameter",
    }
    for (rtype, rid), definition in SHIPPED.items():
        assert validate_resource(definition) == [], f"{rtype}/{rid}"


def _versions(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(resource_version)).scalar())


def test_publish_writes_only_what_is_missing_or_changed(engine: Engine) -> None:
    assert publish(engine, SHIPPED) == len(SHIPPED)
    assert publish(engine, SHIPPED) == 0  # a restart writes nothing
    assert _versions(engine) == len(SHIPPED)
    with write_connection(engine) as connection:  # an old release's copy, say
        writer = VersionWriter(connection)
        previous = writer.current("ValueSet", "kj-category")
        changed = {**SHIPPED[("ValueSet", "kj-category")], "title": "old title"}
        writer.write("ValueSet", "kj-category", changed, method="update", previous=previous)
        gone = writer.current("CodeSystem", "atc-subset")
        writer.write("CodeSystem", "atc-subset", None, method="delete", previous=gone)
    assert publish(engine, SHIPPED) == 2
    assert publish(engine, SHIPPED) == 0


@pytest.fixture
def client_settings() -> dict[str, object]:
    return {"publish_definitions": True}


def test_every_supported_profile_resolves(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    profiles = [p for r in statement["rest"][0]["resource"] for p in r.get("supportedProfile", [])]
    assert profiles
    for url in profiles:
        found = client.get("/fhir/StructureDefinition", params={"url": url}).json()
        assert [e["resource"]["url"] for e in found["entry"]] == [url]
    read = client.get("/fhir/StructureDefinition/kj-allergy-intolerance")
    assert read.status_code == 200 and read.json()["type"] == "AllergyIntolerance"


def test_value_sets_and_code_systems_are_found_by_url(client: TestClient) -> None:
    value_set = client.get("/fhir/ValueSet", params={"url": f"{KJ}ValueSet/kj-category"}).json()
    assert [e["resource"]["id"] for e in value_set["entry"]] == ["kj-category"]
    atc = client.get("/fhir/CodeSystem", params={"url": "http://www.whocc.no/atc"}).json()
    assert [e["resource"]["id"] for e in atc["entry"]] == ["atc-subset"]
    by_code = client.get("/fhir/CodeSystem", params={"code": "J01CE02"}).json()
    assert [e["resource"]["id"] for e in by_code["entry"]] == ["atc-subset"]


def test_shipped_definitions_cannot_be_changed(client: TestClient) -> None:
    url = "/fhir/ValueSet/kj-category"
    original = client.get(url).json()
    changed = {**original, "title": "changed"}
    update = client.put(url, content=orjson.dumps(changed), headers=FHIR_JSON)
    assert update.status_code == 405, update.text
    assert update.json()["resourceType"] == "OperationOutcome"
    assert client.delete(url).status_code == 405
    patch = [{"op": "replace", "path": "/title", "value": "x"}]
    headers = {"Content-Type": "application/json-patch+json"}
    assert client.patch(url, content=orjson.dumps(patch), headers=headers).status_code == 405
    assert client.get(url).json()["meta"]["versionId"] == original["meta"]["versionId"]


def test_a_new_definition_may_not_take_a_shipped_url(client: TestClient) -> None:
    claimed = {"resourceType": "ValueSet", "status": "draft", "url": f"{KJ}ValueSet/kj-category"}
    refused = client.post("/fhir/ValueSet", content=orjson.dumps(claimed), headers=FHIR_JSON)
    assert refused.status_code == 422, refused.text
    assert "shipped with the platform" in refused.text
    own = {**claimed, "url": "https://example.org/fhir/ValueSet/local-list"}
    created = client.post("/fhir/ValueSet", content=orjson.dumps(own), headers=FHIR_JSON)
    assert created.status_code == 201, created.text
