"""The demo population's documents (deterministic, accepted by the registry's rules, a valid
PDF) and the service's rules as functions: byte ranges, hashes, concept-map matching."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from fixtures.fhir_app import FHIR_JSON, make_client
from samhandling.api.binary_routes import _byte_range
from samhandling.demo import population_bundles
from samhandling.demo.people import PeopleBuilder, generate_households
from samhandling.demo.register_build import build_register
from samhandling.services import default_platform
from samhandling.services.document_sharing import SERVICE
from samhandling.services.document_sharing.concept_maps import matches
from samhandling.services.document_sharing.content import _compare, binary_id_of
from samhandling.services.document_sharing.demo import shared_documents, tiny_pdf
from samhandling.store.document_content import ContentInfo

ANCHOR = dt.date(2026, 1, 1)


def _documents(seed: int) -> list[list[dict[str, Any]]]:
    register = build_register()
    builder = PeopleBuilder(f"test:{seed}", f"demo-{seed}-", register, ANCHOR)
    people = [p for household in generate_households(builder, 60) for p in household]
    return [shared_documents(person, register, seed, ANCHOR) for person in people]


def test_demo_documents_are_deterministic_and_of_both_kinds() -> None:
    first = _documents(3)
    assert first == _documents(3)
    resources = [r for documents in first for r in documents]
    kinds = {r["resourceType"] for r in resources}
    assert kinds == {"Binary", "Bundle", "DocumentReference"}
    assert 5 <= sum(1 for d in first if d) <= 40  # about a quarter of the adults


def test_the_demo_pdf_is_a_valid_pdf() -> None:
    pdf = tiny_pdf(["Epikrise", "Pasient: Kari (Nordmann)"])
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    start = int(re.search(rb"startxref\n(\d+)\n", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[start:].startswith(b"xref\n0 6\n")
    offsets = [int(x) for x in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert b"\\(Nordmann\\)" in pdf  # parentheses escaped in the text


def test_the_demo_population_passes_the_registry_rules(database_url: str, tmp_path: Path) -> None:
    with make_client(database_url, tmp_path) as client:
        for bundle in population_bundles(40, seed=5, hooks=default_platform().demo_hooks):
            answer = client.post("/fhir", json=bundle, headers=FHIR_JSON)
            assert answer.status_code == 200, answer.text
        found = client.get("/fhir/DocumentReference?type=urn:oid:2.16.578.1.12.4.1.1.9602|A03-2")
        documents = [e["resource"] for e in found.json()["entry"] if e["search"]["mode"] == "match"]
        assert documents
        url = documents[0]["content"][0]["attachment"]["url"]
        raw = client.get(f"/fhir/{url}", headers={"Accept": "application/pdf"})
        assert raw.status_code == 200 and raw.content.startswith(b"%PDF-1.4")
        binary = client.get(f"/fhir/{url}").json()
        assert base64.b64decode(binary["data"]) == raw.content


def _request(**headers: str) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "headers": raw})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 10)),
        ("bytes=90-", (90, 100)),
        ("bytes=95-200", (95, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-500", (0, 100)),
        ("bytes=100-", "unsatisfiable"),
        ("bytes=-0", "unsatisfiable"),
        ("bytes=5-2", None),  # malformed: the whole content
        ("bytes=0-1,5-6", None),  # several ranges: the whole content
        ("items=0-1", None),
    ],
)
def test_byte_ranges(header: str, expected: Any) -> None:
    assert _byte_range(_request(Range=header), '"e"', 100) == expected


def test_if_range_that_does_not_match_asks_for_the_whole() -> None:
    assert _byte_range(_request(Range="bytes=0-1", **{"If-Range": '"old"'}), '"e"', 100) is None
    assert _byte_range(_request(Range="bytes=0-1", **{"If-Range": '"e"'}), '"e"', 100) == (0, 2)


def test_hash_and_size_are_checked_or_filled_in() -> None:
    data = b"Hello World"  # the IHE example: SHA-1 0a4d55a8…, base64 Ck1VqNd45QIvq3AZd8XYQLvEhtA=
    info = ContentInfo("", "0a4d55a8d778e5022fab701977c5d840bbc486d0", len(data))
    good = {"hash": "Ck1VqNd45QIvq3AZd8XYQLvEhtA=", "size": 11}
    assert _compare(good, info, "a") == []
    empty: dict[str, Any] = {}
    assert _compare(empty, info, "a") == [] and empty == good
    wrong = _compare({"hash": "AAAA", "size": 12}, info, "a")
    assert [i.expression for i in wrong] == [("a.size",), ("a.hash",)]


def test_only_relative_binary_urls_name_local_content() -> None:
    assert binary_id_of({"url": "Binary/abc"}) == "abc"
    for url in ("Bundle/x", "https://other.example/fhir/Binary/x", "Binary/", "Binary/a/b", 7):
        assert binary_id_of({"url": url}) is None


def test_concept_map_matches_only_mapping_equivalences() -> None:
    concept_map = {
        "group": [
            {
                "source": "local",
                "target": "national",
                "element": [
                    {"code": "EPI", "target": [{"code": "A03-2", "equivalence": "equivalent"}]},
                    {"code": "X", "target": [{"code": "A01-2", "equivalence": "disjoint"}]},
                ],
            }
        ]
    }
    assert [m[1] for m in matches(concept_map, "local", "EPI", None)] == ["A03-2"]
    assert list(matches(concept_map, "local", "X", None)) == []
    assert list(matches(concept_map, "local", "EPI", "elsewhere")) == []


def test_the_document_topic_announces_new_current_documents_only() -> None:
    (topic,) = SERVICE.topics
    current = {"resourceType": "DocumentReference", "status": "current"}
    assert topic.code == "document"
    assert topic.triggered_by("DocumentReference", "create", current)
    superseded = {**current, "status": "superseded"}
    assert not topic.triggered_by("DocumentReference", "create", superseded)
    assert not topic.triggered_by("DocumentReference", "update", current)  # the old one superseded
    assert not topic.triggered_by("Binary", "create", {"resourceType": "Binary"})
