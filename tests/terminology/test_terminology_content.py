"""The bundled content: the copied Volven files, the ATC and SNOMED CT subsets, package data."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from samhandling.terminology import ATC_SYSTEM, SNOMED_SYSTEM, lookup, volven_system
from samhandling.terminology.content import code_systems, value_sets
from samhandling.terminology.structure import atc_parent, atc_problem, snomed_problem

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src/samhandling"
BUNDLED = PACKAGE / "terminology/code_systems"
RETIRED_7497 = "cs-7497-ki-2013.json"


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _bundled(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((BUNDLED / name).read_text(encoding="utf-8"))
    return result


def test_the_norwegian_code_systems_are_copied_unchanged(shared_data: Path) -> None:
    sources = sorted((shared_data / "no-codes").glob("cs-*.json"))
    assert len(sources) == 45
    for source in sources:
        if source.name == RETIRED_7497:
            assert not (BUNDLED / source.name).exists()
            continue
        assert (BUNDLED / source.name).read_bytes() == source.read_bytes(), source.name


def test_the_current_7497_is_loaded_not_the_retired_one() -> None:
    entry = code_systems()[volven_system(7497)]
    assert entry.version is None and entry.resource["status"] == "active"
    assert len(entry.concepts) == 20
    assert entry.concepts["1"].display == "Anafylaktisk reaksjon"
    assert "101" not in entry.concepts  # a code of the retired hierarchical version


def test_every_bundled_snomed_code_is_a_well_formed_concept_id() -> None:
    concepts = code_systems()[SNOMED_SYSTEM].concepts
    assert len(concepts) > 400
    for code in concepts:
        assert snomed_problem(code) is None, code


def test_the_snomed_subset_holds_what_the_critical_information_records() -> None:
    expected = {
        "91936005": "Allergy to penicillin (finding)",
        "764146007": "Penicillin (substance)",
        "36969009": "Placement of stent in coronary artery",  # from the IPS examples
    }
    for code, display in expected.items():
        concept = lookup(SNOMED_SYSTEM, code)
        assert concept is not None and concept.display == display


def test_the_atc_subset_is_well_formed_and_linked_by_parents() -> None:
    resource = _bundled("atc.json")
    assert resource["url"] == ATC_SYSTEM and resource["content"] == "fragment"
    concepts = code_systems()[ATC_SYSTEM].concepts
    assert 80 <= len(concepts) <= 200
    for code, concept in concepts.items():
        assert atc_problem(code) is None, code
        parent = atc_parent(code)
        assert concept.parents == ([parent] if parent else []), code
        assert parent is None or parent in concepts, code


@pytest.mark.parametrize(
    ("code", "display"),
    [
        ("J01CA04", "amoxicillin"),
        ("J01CE02", "phenoxymethylpenicillin"),
        ("J01CR02", "amoxicillin and beta-lactamase inhibitor"),
        ("M01AE01", "ibuprofen"),
        ("M01AB05", "diclofenac"),
        ("N02BA01", "acetylsalicylic acid"),
        ("N02BE01", "paracetamol"),
        ("N02AA01", "morphine"),
        ("N02AX02", "tramadol"),
        ("B01AA03", "warfarin"),
        ("B01AF01", "rivaroxaban"),
        ("B01AF02", "apixaban"),
        ("B01AB01", "heparin"),
        ("N01AX10", "propofol"),
        ("M03AB01", "suxamethonium"),
        ("M03AC09", "rocuronium bromide"),
        ("N03AF01", "carbamazepine"),
        ("N03AX09", "lamotrigine"),
        ("M04AA01", "allopurinol"),
        ("A10BA02", "metformin"),
        ("H03AA01", "levothyroxine sodium"),
        ("V08AB02", "iohexol"),
        ("C10AA01", "simvastatin"),  # the IPS examples use it with this display
        ("N03AA02", "phenobarbital"),  # as in the IPS examples
    ],
)
def test_the_atc_subset_holds_common_drug_reaction_causes(code: str, display: str) -> None:
    concept = lookup(ATC_SYSTEM, code)
    assert concept is not None and concept.display == display


def test_the_atc_json_is_what_its_tool_writes() -> None:
    assert _bundled("atc.json") == _tool("build_atc_subset").code_system()


@pytest.mark.slow
def test_the_snomed_json_is_what_its_generator_builds(shared_data: Path) -> None:
    tool = _tool("build_snomed_subset")
    resource, refused = tool.code_system(tool.harvest(tool.data_files(shared_data)))
    assert _bundled("snomed-ct.json") == resource
    assert refused == ["1853470: SNOMED CT 1853470 fails its Verhoeff check digit"]


def test_every_value_set_draws_on_bundled_systems_and_sets() -> None:
    for url, entry in value_sets().items():
        assert url.startswith("https://samhandling.no/fhir/ValueSet/kj-")
        assert entry.resource["id"] == url.rsplit("/", 1)[1]
        for part in entry.includes + entry.excludes:
            assert part.system is None or part.system in code_systems(), (url, part.system)
            assert all(vs in value_sets() for vs in part.value_sets), url
            for code in part.codes or {}:
                assert part.system and lookup(part.system, code) is not None, (url, code)


def test_the_json_files_are_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["samhandling"]
    files = sorted((PACKAGE / "terminology").rglob("*.json"))
    assert len(files) >= 46 + len(value_sets())
    for path in files:
        relative = path.relative_to(PACKAGE).as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative
