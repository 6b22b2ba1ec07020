"""ITI-67 Find Document References with every MHD parameter, ITI-66 Find Document Lists,
ITI-68 Retrieve Document (raw bytes, ETag, ranges, the integrity check) and raw uploads,
on both databases."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from fixtures.critical_information import CITIZEN, World
from fixtures.document_sharing import GP_OFFICE, HOSPITAL, created, provide_bundle
from fixtures.fhir_app import FHIR_JSON
from samhandling.auth.dev.personas import persona
from samhandling.store.database import make_engine

VOLVEN = "urn:oid:2.16.578.1.12.4.1.1."
MHD_LISTS = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
EVENT = {"coding": [{"system": VOLVEN + "7210", "code": "UTSKR"}]}


def provided(world: World, **changes: Any) -> tuple[str, str, bytes]:
    """A provided discharge summary of the citizen: (DocumentReference id, Binary id, bytes)."""
    bundle, data = provide_bundle(CITIZEN, **changes)
    bundle["entry"][1]["resource"]["context"]["event"] = [EVENT]
    answer = world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("system")})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    return created(found, "DocumentReference")[0], created(found, "Binary")[0], data


def matches(world: World, query: str, persona_name: str = "gp") -> set[str]:
    answer = world.client.get(f"/fhir/{query}", headers={**FHIR_JSON, **world.as_(persona_name)})
    assert answer.status_code == 200, answer.text
    return {e["resource"]["id"] for e in answer.json()["entry"] if e["search"]["mode"] == "match"}


def test_every_mhd_search_parameter_finds_the_document(world: World) -> None:
    doc, _, _ = provided(world)
    other, _, _ = provided(world, type_code="B02-2", author=GP_OFFICE)
    fnr = persona("citizen").pid
    orgnr = "urn:oid:2.16.578.1.12.4.1.4.101|991000046"
    for query in (
        f"patient={CITIZEN}",
        f"patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|{fnr}",
        "status=current",
        f"type={VOLVEN}9602|A03-2",
        f"category={VOLVEN}9602|A00-1",
        "date=ge2026-11-20",
        "period=ge2026-11-12",
        f"author={'Organization/' + HOSPITAL}",
        f"author:Organization.identifier={orgnr}",
        f"facility={VOLVEN}1303|86.101",
        f"setting={VOLVEN}8653|3",
        f"event={VOLVEN}7210|UTSKR",
        f"security-label={VOLVEN}9603|N",
    ):
        found = matches(world, f"DocumentReference?patient={CITIZEN}&{query}")
        assert doc in found, query
        if "A03-2" in query or "A00-1" in query or "991000046" in query or HOSPITAL in query:
            assert other not in found, query
    lists = matches(world, f"List?code={MHD_LISTS}|submissionset&patient={CITIZEN}")
    assert len(lists) == 2


def test_retrieve_answers_the_bytes_with_etag_and_ranges(world: World) -> None:
    _, binary, data = provided(world)
    url = f"/fhir/Binary/{binary}"
    whole = world.client.get(url, headers={"Accept": "application/pdf", **world.as_("gp")})
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert whole.headers["accept-ranges"] == "bytes"
    part = world.client.get(url, headers={"Range": "bytes=5-14", **world.as_("gp")})
    assert part.status_code == 206 and part.content == data[5:15]
    assert part.headers["content-range"] == f"bytes 5-14/{len(data)}"
    tail = world.client.get(url, headers={"Range": "bytes=-7", **world.as_("gp")})
    assert tail.status_code == 206 and tail.content == data[-7:]
    outside = world.client.get(url, headers={"Range": f"bytes={len(data)}-", **world.as_("gp")})
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(data)}"
    stale = world.client.get(
        url, headers={"Range": "bytes=0-3", "If-Range": '"other"', **world.as_("gp")}
    )
    assert stale.status_code == 200 and stale.content == data


def test_a_raw_upload_streams_into_the_store_within_its_own_limit(world: World) -> None:
    data = b"%PDF-1.4\n" + bytes(range(256)) * 64
    headers = {"Content-Type": "application/pdf", "X-Security-Context": f"Patient/{CITIZEN}"}
    answer = world.client.post(
        "/fhir/Binary", content=data, headers={**headers, **world.as_("system")}
    )
    assert answer.status_code == 201, answer.text
    binary = answer.json()
    assert "data" not in binary and binary["securityContext"]["reference"] == f"Patient/{CITIZEN}"
    back = world.client.get(f"/fhir/Binary/{binary['id']}", headers={"Accept": "application/pdf"})
    assert back.content == data and back.headers["content-type"] == "application/pdf"


def test_the_document_limit_is_apart_from_the_json_limit(database_url: str, tmp_path: Path) -> None:
    from fixtures.fhir_app import make_client

    with make_client(database_url, tmp_path, max_body_bytes=1000, max_document_bytes=5000) as c:
        big = c.post("/fhir/Binary", content=b"x" * 4000, headers={"Content-Type": "text/plain"})
        assert big.status_code == 201, big.text  # over the JSON limit, within the document one
        too = c.post("/fhir/Binary", content=b"x" * 6000, headers={"Content-Type": "text/plain"})
        assert too.status_code == 413
        assert too.json()["resourceType"] == "OperationOutcome"


def test_corrupted_content_is_a_500_never_wrong_bytes(world: World, database_url: str) -> None:
    _, binary, data = provided(world)
    sha = hashlib.sha256(data).hexdigest()
    if database_url.startswith("sqlite"):
        blob = Path(database_url.removeprefix("sqlite:///")).parent / "documents" / sha[:2] / sha
        blob.write_bytes(data[:-1] + b"X")
    else:
        engine = make_engine(database_url)
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE document_content_chunk SET data = :d WHERE content_key = :k"),
                {"d": data[:-1] + b"X", "k": sha},
            )
        engine.dispose()
    officer = world.as_("security-officer")
    before = len(world.client.get("/fhir/AuditEvent?outcome=8", headers=officer).json()["entry"])
    answer = world.client.get(
        f"/fhir/Binary/{binary}", headers={"Accept": "application/octet-stream", **world.as_("gp")}
    )
    assert answer.status_code == 500
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert "integrity" in answer.json()["issue"][0]["diagnostics"]
    after = world.client.get("/fhir/AuditEvent?outcome=8", headers=officer).json()["entry"]
    assert len(after) == before + 1


@pytest.mark.parametrize("label", ["NORN_EPO", "NORU"])
def test_a_withheld_document_is_invisible_to_the_citizen_and_counted(
    world: World, label: str
) -> None:
    shown, _, _ = provided(world)
    withheld, binary, _ = provided(world, confidentiality=label)
    answer = world.client.get(
        f"/fhir/DocumentReference?patient={CITIZEN}", headers={**FHIR_JSON, **world.as_("citizen")}
    ).json()
    ids = {e["resource"]["id"] for e in answer["entry"] if e["search"]["mode"] == "match"}
    assert ids == {shown}
    outcome = [e["resource"] for e in answer["entry"] if e["search"]["mode"] == "outcome"]
    texts = [i["diagnostics"] for i in outcome[0]["issue"]]
    assert "1 document withheld" in texts
    assert withheld not in str(outcome)
    headers = {"Accept": "application/pdf", **world.as_("citizen")}
    assert world.client.get(f"/fhir/Binary/{binary}", headers=headers).status_code == 404
    assert withheld in matches(world, f"DocumentReference?patient={CITIZEN}")  # the GP sees it


def test_the_citizen_hides_a_document_from_clinicians(world: World) -> None:
    doc, binary, data = provided(world)
    url = f"/fhir/DocumentReference/{doc}/$hide-from-clinicians"
    assert world.client.post(url, headers=world.as_("gp")).status_code == 403
    answer = world.client.post(url, headers=world.as_("citizen"))
    assert answer.status_code == 200, answer.text
    gp = world.client.get(
        f"/fhir/DocumentReference?patient={CITIZEN}", headers={**FHIR_JSON, **world.as_("gp")}
    ).json()
    assert not [e for e in gp["entry"] if e["search"]["mode"] == "match"]
    assert "1 document withheld" in str(gp["entry"])
    raw = world.client.get(
        f"/fhir/Binary/{binary}", headers={"Accept": "application/octet-stream", **world.as_("gp")}
    )
    assert raw.status_code == 403
    mine = world.client.get(
        f"/fhir/Binary/{binary}",
        headers={"Accept": "application/octet-stream", **world.as_("citizen")},
    )
    assert mine.content == data  # the citizen still reads it
    officer = world.as_("security-officer")
    trail = world.client.get("/fhir/AuditEvent?_count=200", headers=officer).json()["entry"]
    assert any("hide-from-clinicians" in str(e["resource"].get("subtype")) for e in trail)
    again = world.client.post(url, headers=world.as_("citizen"))
    assert again.status_code == 409
    back = world.client.post(
        f"/fhir/DocumentReference/{doc}/$show-to-clinicians", headers=world.as_("citizen")
    )
    assert back.status_code == 200
    assert doc in matches(world, f"DocumentReference?patient={CITIZEN}")


def test_a_plain_write_cannot_set_or_lift_the_citizens_block(world: World) -> None:
    doc, _, _ = provided(world)
    current = world.client.get(f"/fhir/DocumentReference/{doc}", headers=FHIR_JSON).json()
    current["securityLabel"].append({"coding": [{"system": VOLVEN + "9603", "code": "NORS"}]})
    answer = world.update("system", current)
    assert answer.status_code == 422


def test_a_restricted_document_needs_a_treatment_purpose(world: World) -> None:
    bundle, _ = provide_bundle(CITIZEN)
    bundle["entry"][1]["resource"]["securityLabel"] = [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
            ]
        }
    ]
    answer = world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("system")})
    assert answer.status_code == 200, answer.text
    restricted = created(answer.json(), "DocumentReference")[0]
    query = f"/fhir/DocumentReference?patient={CITIZEN}"
    coordinating = world.client.get(query, headers={**FHIR_JSON, **world.as_("gp", purpose="COC")})
    entries = coordinating.json()["entry"]
    assert not [e for e in entries if e["search"]["mode"] == "match"]
    assert "1 document withheld" in str(entries)
    assert restricted in matches(world, f"DocumentReference?patient={CITIZEN}")  # TREAT


def test_a_caller_who_may_not_create_binaries_is_refused_before_any_upload(world: World) -> None:
    headers = {"Content-Type": "application/pdf", **world.as_("citizen")}
    answer = world.client.post("/fhir/Binary", content=b"%PDF-1.4 x", headers=headers)
    assert answer.status_code == 403
    assert not list((world.data_dir / "spool").glob("*"))
