"""The IHE MHD search parameters beyond the FHIR core ones: ITI-67's `creation` and
`author.given`/`author.family` (chained to the author Practitioner), ITI-66's
`designationType` and `sourceId`, on both databases."""

from __future__ import annotations

import uuid
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.document_sharing import MHD, created, provide_bundle
from fixtures.fhir_app import FHIR_JSON
from samhandling.services import default_platform

LOINC = "http://loinc.org"


def practitioner(world: World, given: str, family: str) -> str:
    body = {
        "resourceType": "Practitioner",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144900"}],
        "name": [{"family": family, "given": [given]}],
    }
    answer = world.create("system", body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def provided(world: World, change: Any) -> tuple[str, str]:
    """Provide a document after `change(bundle)`: (DocumentReference id, List id)."""
    bundle, _ = provide_bundle(CITIZEN)
    change(bundle)
    answer = world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("system")})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    return created(found, "DocumentReference")[0], created(found, "List")[0]


def matches(world: World, query: str) -> set[str]:
    answer = world.client.get(f"/fhir/{query}", headers={**FHIR_JSON, **world.as_("gp")})
    assert answer.status_code == 200, answer.text
    return {e["resource"]["id"] for e in answer.json()["entry"] if e["search"]["mode"] == "match"}


def test_creation_finds_documents_by_the_attachments_creation_time(world: World) -> None:
    def created_on(day: str) -> Any:
        def change(bundle: dict[str, Any]) -> None:
            document = bundle["entry"][1]["resource"]
            document["content"][0]["attachment"]["creation"] = f"2026-11-{day}T08:00:00+01:00"

        return change

    early, _ = provided(world, created_on("02"))
    late, _ = provided(world, created_on("18"))
    base = f"DocumentReference?patient={CITIZEN}"
    assert matches(world, f"{base}&creation=lt2026-11-10") & {early, late} == {early}
    assert matches(world, f"{base}&creation=ge2026-11-10") & {early, late} == {late}
    assert matches(world, f"{base}&creation=2026-11-18") & {early, late} == {late}


def test_author_given_and_family_chain_to_the_author_practitioner(world: World) -> None:
    kari = practitioner(world, "Kari", "Nordmann-Lege")
    ola = practitioner(world, "Ola", "Fjellstad")

    def written_by(practitioner_id: str) -> Any:
        def change(bundle: dict[str, Any]) -> None:
            authors = bundle["entry"][1]["resource"]["author"]
            authors.append({"reference": f"Practitioner/{practitioner_id}"})

        return change

    by_kari, _ = provided(world, written_by(kari))
    by_ola, _ = provided(world, written_by(ola))
    base = f"DocumentReference?patient={CITIZEN}"
    assert matches(world, f"{base}&author.given=Kari") & {by_kari, by_ola} == {by_kari}
    assert matches(world, f"{base}&author.family=Fjellstad") & {by_kari, by_ola} == {by_ola}
    assert matches(world, f"{base}&author.family=nordmann") & {by_kari, by_ola} == {by_kari}
    assert not matches(world, f"{base}&author.given=Nobody")


def test_lists_are_found_by_designation_type_and_source_id(world: World) -> None:
    source = f"urn:oid:2.16.578.1.12.4.1.7.{uuid.uuid4().int % 10**9}"

    def designated(bundle: dict[str, Any]) -> None:
        submission = bundle["entry"][0]["resource"]
        submission["extension"] = [
            {"url": MHD + "StructureDefinition/ihe-sourceId", "valueIdentifier": {"value": source}},
            {
                "url": MHD + "StructureDefinition/ihe-designationType",
                "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "18842-5"}]},
            },
        ]

    _, designated_list = provided(world, designated)
    _, plain_list = provided(world, lambda bundle: None)
    base = f"List?patient={CITIZEN}"
    both = {designated_list, plain_list}
    assert matches(world, f"{base}&designationType={LOINC}|18842-5") & both == {designated_list}
    assert matches(world, f"{base}&sourceId={source}") & both == {designated_list}
    default_source = "urn:oid:2.16.578.1.12.4.1.7.991000046"
    assert matches(world, f"{base}&sourceId={default_source}") & both == {plain_list}


def test_the_mhd_parameters_are_in_the_capability_statement_and_read_only(
    world: World,
) -> None:
    statement = world.client.get("/fhir/metadata", headers=FHIR_JSON).json()
    params = {
        r["type"]: {p["name"] for p in r.get("searchParam", [])}
        for r in statement["rest"][0]["resource"]
    }
    assert "creation" in params["DocumentReference"]
    assert {"designationType", "sourceId"} <= params["List"]
    shipped = next(p for p in default_platform().search_parameters() if p["code"] == "creation")
    claimed = {**shipped, "expression": "DocumentReference.date"}
    del claimed["id"]
    refused = world.create("system", claimed)
    assert refused.status_code == 422, refused.text
    assert "shipped with the platform" in refused.text
