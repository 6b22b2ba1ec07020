"""The lab results' write rules ask every Observation and DiagnosticReport written whether
it is a national-shape result or carries a block label: the answers for odd shapes (no
meta, labels that are no list, codings that are no dicts, a category that is no list)."""

from __future__ import annotations

from typing import Any

import pytest

from samhandling.services.lab_results.labels import ACCESS_SYSTEM, BLOCKED, block_codings
from samhandling.services.lab_results.write_rules import EXPERTISE_8202, is_national

BLOCK = {"system": ACCESS_SYSTEM, "code": BLOCKED}


@pytest.mark.parametrize(
    ("resource", "blocks"),
    [
        (None, []),
        ({}, []),
        ({"meta": None}, []),
        ({"meta": "x"}, []),
        ({"meta": {"security": []}}, []),
        ({"meta": {"security": {"system": ACCESS_SYSTEM}}}, []),  # not a list: its keys
        ({"meta": {"security": ["blocked", BLOCK, {"code": BLOCKED}]}}, [BLOCK]),
        ({"meta": {"security": [BLOCK, BLOCK]}}, [BLOCK, BLOCK]),
    ],
)
def test_block_labels_of_odd_shapes(resource: dict[str, Any] | None, blocks: list[Any]) -> None:
    assert block_codings(resource) == blocks


NLK = "urn:oid:2.16.578.1.12.4.1.1.7280"


@pytest.mark.parametrize(
    ("resource", "national"),
    [
        ({}, False),
        ({"category": {"coding": [{"system": EXPERTISE_8202}]}}, True),  # not a list
        ({"category": [{"coding": ["x", {"system": EXPERTISE_8202}]}]}, True),
        ({"category": [{"coding": None}, "x"], "code": {"coding": [{"system": NLK}]}}, True),
        ({"category": [{"coding": [{"system": "http://loinc.org"}]}]}, False),
        ({"code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}}, False),
        ({"code": ["not a concept"]}, False),
    ],
)
def test_national_shape_of_odd_shapes(resource: dict[str, Any], national: bool) -> None:
    assert is_national(resource) is national
