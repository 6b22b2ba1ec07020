"""The _summary element tables agree with the official R4 StructureDefinitions."""

from __future__ import annotations

import bz2
import json
from pathlib import Path

from samhandling.search.mandatory_elements import mandatory_elements
from samhandling.search.summary_elements import summary_elements

ALWAYS = {"id", "meta", "implicitRules"}


def test_summary_tables_match_the_definitions(shared_data: Path) -> None:
    with bz2.open(shared_data / "fhir-r4" / "profiles-resources.json.bz2") as handle:
        bundle = json.load(handle)
    summary: dict[str, tuple[str, ...]] = {}
    mandatory: dict[str, tuple[str, ...]] = {}
    for entry in bundle["entry"]:
        definition = entry["resource"]
        if definition.get("kind") != "resource" or definition.get("abstract"):
            continue
        if definition.get("derivation") == "constraint":
            continue
        top = [e for e in definition["snapshot"]["element"] if e["path"].count(".") == 1]
        names = [(e["path"].split(".")[1], e) for e in top]
        summary[definition["type"]] = tuple(
            n for n, e in names if e.get("isSummary") and n not in ALWAYS
        )
        mandatory[definition["type"]] = tuple(
            n for n, e in names if e.get("min", 0) > 0 and n not in ALWAYS
        )
    assert summary_elements() == summary
    assert mandatory_elements() == mandatory
