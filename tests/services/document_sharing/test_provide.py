"""ITI-65 Provide Document Bundle on both databases: a valid submission is stored whole
(its bytes in the content store), a wrong one is refused with 422 naming the element and
leaves nothing behind, and a replacement supersedes the document it replaces."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from fixtures.critical_information import CITIZEN, World
from fixtures.document_sharing import created, provide_bundle, sha1_base64
from fixtures.fhir_app import FHIR_JSON
from samhandling.store.reader import read_current


def provide(world: World, bundle: dict[str, Any], persona: str = "system") -> Any:
    return world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_(persona)})


def count(world: World, rtype: str) -> int:
    answer = world.client.get(f"/fhir/{rtype}?_summary=count", headers=world.as_("system"))
    return int(answer.json()["total"])


def test_a_submission_is_stored_with_its_content_outside_the_row(world: World) -> None:
    bundle, data = provide_bundle(CITIZEN)
    answer = provide(world, bundle)
    assert answer.status_code == 200, answer.text
    doc_id = created(answer.json(), "DocumentReference")[0]
    binary_id = created(answer.json(), "Binary")[0]
    document = world.client.get(f"/fhir/DocumentReference/{doc_id}", headers=FHIR_JSON).json()
    assert document["content"][0]["attachment"]["url"] == f"Binary/{binary_id}"
    fhir = {"Accept": "application/fhir+json"}
    binary = world.client.get(f"/fhir/Binary/{binary_id}", headers=fhir).json()
    assert base64.b64decode(binary["data"]) == data  # R4: a FHIR read has the bytes inline
    with world.client.app.state.engine.connect() as connection:
        row = read_current(connection, "Binary", binary_id)
    assert row is not None and row.content is not None
    assert b'"data"' not in row.content  # but the row does not: they are in the content store
    assert binary["securityContext"] == {"reference": f"Patient/{CITIZEN}"}
    raw = world.client.get(f"/fhir/Binary/{binary_id}", headers={"Accept": "application/pdf"})
    assert raw.status_code == 200
    assert raw.content == data and raw.headers["content-type"] == "application/pdf"


@pytest.mark.parametrize(
    ("change", "element"),
    [
        (
            lambda d: d["content"][0]["attachment"].update(hash=sha1_base64(b"other")),
            "attachment.hash",
        ),
        (lambda d: d["content"][0]["attachment"].update(size=3), "attachment.size"),
        (
            lambda d: d.update(
                type={"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "Z99-9"}]}
            ),
            "DocumentReference.type",
        ),
        (lambda d: d.pop("securityLabel"), "DocumentReference.securityLabel"),
        (
            lambda d: d["context"].update(
                facilityType={
                    "coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.1303", "code": "99.999"}]
                }
            ),
            "DocumentReference.context.facilityType",
        ),
        (
            lambda d: d["context"].pop("practiceSetting"),
            "DocumentReference.context.practiceSetting",
        ),
        (lambda d: d.pop("masterIdentifier"), "DocumentReference.masterIdentifier"),
        (
            lambda d: d.update(
                contained=[
                    {
                        "resourceType": "Organization",
                        "id": "o",
                        "identifier": [
                            {"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "991000047"}
                        ],
                    }
                ],
                author=[{"reference": "#o"}],
            ),
            "DocumentReference.author[0]",
        ),
    ],
)
def test_a_wrong_element_is_422_naming_it_and_nothing_is_stored(
    world: World, change: Any, element: str
) -> None:
    before = {t: count(world, t) for t in ("DocumentReference", "Binary", "List")}
    bundle, _ = provide_bundle(CITIZEN)
    change(bundle["entry"][1]["resource"])
    answer = provide(world, bundle)
    assert answer.status_code == 422, answer.text
    expressions = [e for i in answer.json()["issue"] for e in i.get("expression", [])]
    assert any(e.endswith(element) for e in expressions), expressions
    assert {t: count(world, t) for t in before} == before


def test_a_producers_local_type_is_mapped_by_its_concept_map(world: World) -> None:
    local = "urn:oid:2.16.578.1.12.4.1.7.991000046.1"
    concept_map = {
        "resourceType": "ConceptMap",
        "url": "https://fjordbyen.example/fhir/ConceptMap/doc-types",
        "status": "active",
        "group": [{
            "source": local,
            "target": "urn:oid:2.16.578.1.12.4.1.1.9602",
            "element": [
                {"code": "EPI", "target": [{"code": "A03-2", "equivalence": "equivalent"}]}
            ],
        }],
    }  # fmt: skip
    assert world.create("system", concept_map).status_code == 201
    translated = world.client.get(
        f"/fhir/ConceptMap/$translate?system={local}&code=EPI", headers=world.as_("gp")
    ).json()
    assert translated["parameter"][0] == {"name": "result", "valueBoolean": True}
    bundle, _ = provide_bundle(CITIZEN)
    document = bundle["entry"][1]["resource"]
    document["type"] = {"coding": [{"system": local, "code": "EPI"}]}
    document.pop("category")
    answer = provide(world, bundle)
    assert answer.status_code == 200, answer.text
    doc_id = created(answer.json(), "DocumentReference")[0]
    stored = world.client.get(f"/fhir/DocumentReference/{doc_id}", headers=FHIR_JSON).json()
    codes = {c["code"] for c in stored["type"]["coding"]}
    assert codes == {"EPI", "A03-2"}
    assert stored["category"][0]["coding"][0]["code"] == "A00-1"


def test_a_replacement_supersedes_the_old_document(world: World) -> None:
    first, _ = provide_bundle(CITIZEN)
    old_id = created(provide(world, first).json(), "DocumentReference")[0]
    second, _ = provide_bundle(CITIZEN)
    second["entry"][1]["resource"]["relatesTo"] = [
        {"code": "replaces", "target": {"reference": f"DocumentReference/{old_id}"}}
    ]
    answer = provide(world, second)
    assert answer.status_code == 200, answer.text
    old = world.client.get(f"/fhir/DocumentReference/{old_id}", headers=FHIR_JSON).json()
    assert old["status"] == "superseded"
    old_binary = old["content"][0]["attachment"]["url"]
    assert (
        world.client.get(
            f"/fhir/{old_binary}", headers={"Accept": "application/octet-stream"}
        ).status_code
        == 200
    )
    current = world.client.get(
        f"/fhir/DocumentReference?patient={CITIZEN}&status=current", headers=FHIR_JSON
    ).json()
    ids = {e["resource"]["id"] for e in current["entry"] if e["search"]["mode"] == "match"}
    assert old_id not in ids and len(ids) == 1
    third, _ = provide_bundle(CITIZEN)  # a superseded document cannot be replaced again
    third["entry"][1]["resource"]["relatesTo"] = second["entry"][1]["resource"]["relatesTo"]
    assert provide(world, third).status_code == 422
