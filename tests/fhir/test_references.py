"""References inside resources: finding, rewriting and parsing them."""

from __future__ import annotations

import bz2
import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samhandling.fhir.references import (
    iter_reference_holders,
    parse_conditional_reference,
    parse_relative_reference,
    rewrite_references,
)

SHARED = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))


def _refs(resource: dict[str, Any]) -> list[str]:
    return [holder["reference"] for holder in iter_reference_holders(resource)]


OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "extension": [
        {"url": "http://example.org/a", "valueReference": {"reference": "urn:uuid:ext"}},
        {
            "url": "http://example.org/nested",
            "extension": [{"url": "inner", "valueReference": {"reference": "Device/d1"}}],
        },
    ],
    "status": "final",
    "code": {"text": "x"},
    "subject": {
        "reference": "urn:uuid:patient",
        "identifier": {"value": "1", "assigner": {"reference": "Organization/assigner"}},
    },
    "_status": {"extension": [{"url": "u", "valueReference": {"reference": "Device/d2"}}]},
    "performer": [{"reference": "Practitioner/p1"}, {"display": "no reference"}],
    "component": [
        {
            "code": {"text": "c"},
            "extension": [{"url": "u", "valueReference": {"reference": "Device/d3"}}],
        }
    ],
    "valueString": "reference",
}


def test_finds_references_at_any_depth_in_document_order() -> None:
    assert _refs(OBSERVATION) == [
        "urn:uuid:ext",
        "Device/d1",
        "urn:uuid:patient",
        "Organization/assigner",
        "Device/d2",
        "Practitioner/p1",
        "Device/d3",
    ]


def test_holders_are_the_reference_dicts_themselves() -> None:
    holders = list(iter_reference_holders(OBSERVATION))
    assert holders[2] is OBSERVATION["subject"]
    assert holders[5] is OBSERVATION["performer"][0]


def test_contained_resources_and_backbone_elements() -> None:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "p",
        "contained": [
            {
                "resourceType": "Organization",
                "id": "org",
                "partOf": {"reference": "Organization/top"},
            }
        ],
        "generalPractitioner": [{"reference": "#org"}, {"reference": "Practitioner/gp"}],
        "contact": [{"organization": {"reference": "Organization/c"}}],
        "link": [{"other": {"reference": "Patient/other"}, "type": "seealso"}],
        "managingOrganization": {"reference": "#org", "display": "Org"},
    }
    assert _refs(patient) == [
        "Organization/top",
        "#org",
        "Practitioner/gp",
        "Organization/c",
        "Patient/other",
        "#org",
    ]


def test_bundle_entries_and_parameters() -> None:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {"resourceType": "Encounter", "subject": {"reference": "urn:uuid:2"}},
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "resource": {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": "a", "valueReference": {"reference": "Patient/a"}},
                        {
                            "name": "b",
                            "resource": {
                                "resourceType": "Flag",
                                "subject": {"reference": "Patient/b"},
                            },
                        },
                        {
                            "name": "c",
                            "part": [{"name": "d", "valueReference": {"reference": "Patient/d"}}],
                        },
                    ],
                },
            },
        ],
    }
    assert _refs(bundle) == ["urn:uuid:2", "Patient/a", "Patient/b", "Patient/d"]


def test_reference_strings_that_are_not_references_are_skipped() -> None:
    """R4 elements named `reference` that are uri strings in non-Reference elements."""
    plan: dict[str, Any] = {
        "resourceType": "PlanDefinition",
        "status": "draft",
        "action": [
            {
                "condition": [
                    {
                        "kind": "applicability",
                        "expression": {"language": "text/fhirpath", "reference": "urn:uuid:lib"},
                    }
                ]
            }
        ],
        "extension": [{"url": "u", "valueExpression": {"reference": "urn:uuid:lib2"}}],
    }
    immunization: dict[str, Any] = {
        "resourceType": "Immunization",
        "education": [{"reference": "urn:uuid:leaflet"}],
        "patient": {"reference": "urn:uuid:p"},
    }
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "final",
        "reference": "urn:uuid:doc",
    }
    claim: dict[str, Any] = {"resourceType": "Claim", "related": [{"reference": {"value": "r"}}]}
    assert _refs(plan) == []
    assert _refs(immunization) == ["urn:uuid:p"]
    assert _refs(issue) == []
    assert _refs(claim) == []


def test_unknown_elements_fall_back_to_the_shape_of_a_reference() -> None:
    resource: dict[str, Any] = {
        "resourceType": "NotAnR4Type",
        "a": {"reference": "Patient/1", "display": "x"},
        "b": {"reference": "urn:uuid:x", "language": "text/fhirpath"},
        "c": [{"d": {"reference": "Patient/2", "_reference": {"id": "r"}}}],
        "e": {"reference": {"value": "not a string"}},
    }
    assert _refs(resource) == ["Patient/1", "Patient/2"]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "futureElement": {"reference": "Patient/3"},
    }
    assert _refs(patient) == ["Patient/3"]


def test_rewrite_references_in_place_and_counts() -> None:
    resource = copy.deepcopy(OBSERVATION)
    mapping = {
        "urn:uuid:patient": "Patient/123",
        "urn:uuid:ext": "Basic/9",
        "Device/d3": "Device/d33",
        "urn:uuid:unused": "Patient/0",
    }
    assert rewrite_references(resource, mapping) == 3
    assert resource["subject"]["reference"] == "Patient/123"
    assert resource["extension"][0]["valueReference"] == {"reference": "Basic/9"}
    assert resource["component"][0]["extension"][0]["valueReference"]["reference"] == "Device/d33"
    expected = copy.deepcopy(OBSERVATION)
    expected["subject"]["reference"] = "Patient/123"
    expected["extension"][0]["valueReference"]["reference"] = "Basic/9"
    expected["component"][0]["extension"][0]["valueReference"]["reference"] = "Device/d33"
    assert resource == expected
    assert rewrite_references(resource, mapping) == 0


def test_rewrite_leaves_uris_and_canonicals_alone() -> None:
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": "urn:uuid:p"},
        "content": [{"attachment": {"url": "urn:uuid:p"}}],
        "extension": [{"url": "urn:uuid:p", "valueCanonical": "urn:uuid:p"}],
    }
    assert rewrite_references(resource, {"urn:uuid:p": "Patient/1"}) == 1
    assert resource["subject"] == {"reference": "Patient/1"}
    assert resource["content"][0]["attachment"]["url"] == "urn:uuid:p"
    assert resource["extension"][0] == {"url": "urn:uuid:p", "valueCanonical": "urn:uuid:p"}


def _div(body: str) -> str:
    return f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'


def test_rewrite_narrative_links() -> None:
    body = (
        "<a href=\"urn:uuid:p\">patient</a> <img src='urn:uuid:img'/>"
        ' <a href="urn:uuid:p#frag">fragment</a> <span title="urn:uuid:p">urn:uuid:p</span>'
        ' <a HREF = "Patient?identifier=a|b&amp;active=true">conditional</a>'
    )
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "text": {"status": "generated", "div": _div(body)},
        "subject": {"reference": "urn:uuid:p"},
    }
    mapping = {
        "urn:uuid:p": "Patient/1",
        "urn:uuid:img": "Binary/2",
        "Patient?identifier=a|b&active=true": "Patient/3?x=1&y=2",
    }
    assert rewrite_references(resource, mapping) == 4
    assert resource["text"]["div"] == _div(
        "<a href=\"Patient/1\">patient</a> <img src='Binary/2'/>"
        ' <a href="urn:uuid:p#frag">fragment</a> <span title="urn:uuid:p">urn:uuid:p</span>'
        ' <a HREF = "Patient/3?x=1&amp;y=2">conditional</a>'
    )


def test_rewrite_narratives_of_contained_entries_and_sections() -> None:
    link = _div('<a href="urn:uuid:p">p</a>')
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Composition",
                    "text": {"status": "generated", "div": link},
                    "contained": [
                        {"resourceType": "Basic", "text": {"status": "generated", "div": link}}
                    ],
                    "section": [{"title": "s", "text": {"status": "generated", "div": link}}],
                }
            },
            {
                "resource": {
                    "resourceType": "NotAnR4Type",
                    "text": {"status": "extensions", "div": link},
                }
            },
        ],
    }
    assert rewrite_references(bundle, {"urn:uuid:p": "Patient/1"}) == 4
    rewritten = _div('<a href="Patient/1">p</a>')
    composition = bundle["entry"][0]["resource"]
    assert composition["text"]["div"] == rewritten
    assert composition["contained"][0]["text"]["div"] == rewritten
    assert composition["section"][0]["text"]["div"] == rewritten
    assert bundle["entry"][1]["resource"]["text"]["div"] == rewritten


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("Patient?identifier=x|y", ("Patient", "identifier=x|y")),
        (
            "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999999999",
            ("Practitioner", "identifier=http://hl7.org/fhir/sid/us-npi|9999999999"),
        ),
        ("Patient?name=a&birthdate=2000", ("Patient", "name=a&birthdate=2000")),
        ("Patient?_id=1?x", ("Patient", "_id=1?x")),
        ("Patient", None),
        ("Patient/1", None),
        ("Patient?", None),
        ("?identifier=x", None),
        ("patient?identifier=x", None),
        ("Patient1?identifier=x", None),
        ("http://example.org/fhir/Patient?identifier=x", None),
        ("Patient/1?identifier=x", None),
        ("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", None),
        ("", None),
    ],
)
def test_parse_conditional_reference(ref: str, expected: tuple[str, str] | None) -> None:
    assert parse_conditional_reference(ref) == expected


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("Patient/1", ("Patient", "1", None)),
        ("Patient/1/_history/2", ("Patient", "1", "2")),
        ("Observation/a-b.C9", ("Observation", "a-b.C9", None)),
        ("Patient/" + "a" * 64, ("Patient", "a" * 64, None)),
        ("Patient/" + "a" * 65, None),
        ("patient/1", None),
        ("Patient/", None),
        ("Patient/1/", None),
        ("Patient/1/_history", None),
        ("Patient/1/_history/", None),
        ("Patient/1/2", None),
        ("Patient/a_b", None),
        ("Patient/1?x=y", None),
        ("Patient?identifier=x", None),
        ("http://example.org/fhir/Patient/1", None),
        ("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", None),
        ("#contained", None),
        ("", None),
    ],
)
def test_parse_relative_reference(ref: str, expected: tuple[str, str, str | None] | None) -> None:
    assert parse_relative_reference(ref) == expected


# ------------------------------------------------------------------------- shared data


def _resources(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and "resourceType" in document:
            yield document


def _naive(value: Any) -> Iterator[dict[str, Any]]:
    """The common shortcut: a dict with a string `reference` and no `resourceType`."""
    if isinstance(value, list):
        for item in value:
            yield from _naive(item)
    elif isinstance(value, dict):
        if isinstance(value.get("reference"), str) and "resourceType" not in value:
            yield value
        for child in value.values():
            yield from _naive(child)


def test_shortcut_agrees_with_typed_walk_on_the_examples() -> None:
    """Every `reference` string in the R4, IPS and no-basis examples is a Reference's."""
    folders = [SHARED / "fhir-test-cases" / "r4", SHARED / "ips", SHARED / "no-basis"]
    if not all(folder.is_dir() for folder in folders):
        pytest.skip(f"no example resources in {SHARED}")
    found = 0
    for folder in folders:
        for resource in _resources(folder):
            typed = [id(holder) for holder in iter_reference_holders(resource)]
            assert typed == [id(holder) for holder in _naive(resource)]
            found += len(typed)
    assert found > 500


def test_rewrites_a_synthea_transaction() -> None:
    files = sorted((SHARED / "synthea").glob("*.json.bz2"))
    patients = [f for f in files if not f.name.startswith("0-")]
    if not patients:
        pytest.skip(f"no Synthea bundles in {SHARED / 'synthea'}")
    bundle = json.loads(bz2.decompress(min(patients, key=lambda f: f.stat().st_size).read_bytes()))
    mapping = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/{number}"
        for number, entry in enumerate(bundle["entry"])
    }
    before = _refs(bundle)
    local = sum(1 for ref in before if ref in mapping)
    conditional = [ref for ref in before if parse_conditional_reference(ref)]
    contained = [ref for ref in before if ref.startswith("#")]
    assert local > 0
    assert conditional
    assert local + len(conditional) + len(contained) == len(before)
    assert rewrite_references(bundle, mapping) == local
    after = _refs(bundle)
    assert not any(ref.startswith("urn:uuid:") for ref in after)
    assert [ref for ref in after if ref.startswith("#")] == contained
    assert sum(1 for ref in after if parse_relative_reference(ref)) == local
