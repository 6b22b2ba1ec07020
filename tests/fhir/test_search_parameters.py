"""The search-parameter registry: the official R4 definitions and custom parameters."""

from __future__ import annotations

import gzip
import importlib.util
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from samhandling.fhir.search_parameters import (
    InvalidSearchParameterError,
    SearchParameter,
    SearchParameterRegistry,
    default_registry,
)

COMMON = {"_id", "_lastUpdated", "_profile", "_security", "_source", "_tag", "_content", "_query"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry() -> SearchParameterRegistry:
    return SearchParameterRegistry.official()


def test_all_official_parameters_are_held(registry: SearchParameterRegistry) -> None:
    assert len(registry) == 1375
    assert len(registry.resource_types) == 146
    assert "SubscriptionStatus" not in registry.resource_types  # R4B, not R4
    types = Counter(p.type for p in registry)
    assert types == {
        "token": 536,
        "reference": 472,
        "string": 133,
        "date": 109,
        "composite": 46,
        "uri": 45,
        "quantity": 27,
        "number": 6,
        "special": 1,
    }
    assert all(p.expression for p in registry if p.code not in ("_content", "_query", "_text"))


@pytest.mark.parametrize(
    ("resource_type", "own", "common"),
    [("Observation", 38, 9), ("Patient", 23, 9), ("Encounter", 23, 9), ("Bundle", 5, 8)],
)
def test_counts_per_type(
    registry: SearchParameterRegistry, resource_type: str, own: int, common: int
) -> None:
    assert sum(1 for p in registry if resource_type in p.base) == own
    params = registry.for_type(resource_type)
    assert len(params) == own + common
    assert set(params) >= COMMON
    # _text is a DomainResource parameter: Bundle, Binary and Parameters do not have it
    assert ("_text" in params) is (resource_type != "Bundle")


def test_every_concrete_type_has_its_parameters(registry: SearchParameterRegistry) -> None:
    per_type = {t: registry.for_type(t) for t in registry.resource_types}
    assert sum(len(p) for p in per_type.values()) == (
        sum(len([b for b in p.base if b not in ("Resource", "DomainResource")]) for p in registry)
        + 8 * 146
        + 143
    )
    assert len(per_type["Binary"]) == 8 and len(per_type["Parameters"]) == 8


def test_shared_parameter(registry: SearchParameterRegistry) -> None:
    code = registry.get("Observation", "code")
    assert code is not None
    assert code.url == "http://hl7.org/fhir/SearchParameter/clinical-code"
    assert len(code.base) == 14 and "Condition" in code.base
    assert registry.get("Condition", "code") is code
    assert registry.by_url(code.url) is code
    assert registry.by_url(code.url + "|4.0.1") is code


def test_parameter_fields(registry: SearchParameterRegistry) -> None:
    subject = registry.get("Observation", "subject")
    assert subject == SearchParameter(
        url="http://hl7.org/fhir/SearchParameter/Observation-subject",
        code="subject",
        base=("Observation",),
        type="reference",
        expression="Observation.subject",
        targets=("Group", "Device", "Patient", "Location"),
        id="Observation-subject",
        name="subject",
    )
    date = registry.get("Observation", "date")
    assert date is not None and date.comparators == (
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "sa",
        "eb",
        "ap",
    )
    composite = registry.get("Observation", "component-code-value-quantity")
    assert composite is not None and composite.components == (
        ("http://hl7.org/fhir/SearchParameter/Observation-component-code", "code"),
        (
            "http://hl7.org/fhir/SearchParameter/Observation-component-value-quantity",
            "value.as(Quantity)",
        ),
    )


def test_document_reference_relationship_components_are_fixed(
    registry: SearchParameterRegistry,
) -> None:
    """The official file maps relatesto -> code and relation -> target; the build swaps."""
    relationship = registry.get("DocumentReference", "relationship")
    assert relationship is not None
    assert relationship.components == (
        ("http://hl7.org/fhir/SearchParameter/DocumentReference-relatesto", "target"),
        ("http://hl7.org/fhir/SearchParameter/DocumentReference-relation", "code"),
    )
    relatesto = registry.by_url(relationship.components[0][0])
    relation = registry.by_url(relationship.components[1][0])
    assert relatesto is not None and relatesto.type == "reference"
    assert relation is not None and relation.type == "token"


def test_implicit_code_systems(registry: SearchParameterRegistry) -> None:
    status = registry.get("Observation", "status")
    assert status is not None
    assert status.code_system_for("Observation") == "http://hl7.org/fhir/observation-status"
    gender = registry.get("Patient", "gender")
    assert gender is not None
    assert gender.code_system_for("Patient") == "http://hl7.org/fhir/administrative-gender"
    shared = registry.get("MedicationRequest", "status")
    assert shared is not None and len(shared.base) == 4
    assert shared.code_system_for("MedicationRequest") == (
        "http://hl7.org/fhir/CodeSystem/medicationrequest-status"
    )
    assert shared.code_system_for("MedicationDispense") == (
        "http://terminology.hl7.org/CodeSystem/medicationdispense-status"
    )
    # task-intent draws from two code systems: no implicit system
    intent = registry.get("Task", "intent")
    assert intent is not None and intent.code_system_for("Task") is None
    # CodeableConcept-valued tokens carry their systems themselves
    code = registry.get("Observation", "code")
    assert code is not None and code.code_systems == ()


def test_lookups_of_unknown_things(registry: SearchParameterRegistry) -> None:
    assert registry.get("Observation", "no-such-param") is None
    assert registry.get("NoSuchType", "code") is None
    with pytest.raises(KeyError):
        registry.for_type("NoSuchType")
    with pytest.raises(TypeError):
        registry.for_type("Patient")["x"] = None  # type: ignore[index]


def test_default_registry_is_cached() -> None:
    assert default_registry() is default_registry()
    assert SearchParameterRegistry.official() is not default_registry()


# --- custom parameters -----------------------------------------------------------------


def custom(**changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "SearchParameter",
        "url": "https://samhandling.example/SearchParameter/patient-municipality",
        "name": "municipality",
        "status": "active",
        "code": "municipality",
        "base": ["Patient"],
        "type": "token",
        "expression": "Patient.address.district.extension("
        "'http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode').value",
    }
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def test_add_custom_parameter(registry: SearchParameterRegistry) -> None:
    generation = registry.generation
    before = len(registry.for_type("Patient"))
    added = registry.add(custom())
    assert added.code == "municipality" and added.base == ("Patient",)
    assert registry.generation == generation + 1
    assert registry.get("Patient", "municipality") is added
    assert len(registry.for_type("Patient")) == before + 1
    assert registry.by_url(added.url) is added
    assert len(registry) == 1376


def test_add_no_basis_middlename(registry: SearchParameterRegistry, shared_data: Path) -> None:
    path = shared_data / "no-basis/json/SearchParameter"
    [resource] = [json.loads(p.read_text()) for p in path.glob("*.json")]
    added = registry.add(resource)
    for resource_type in ("Patient", "Practitioner", "Person"):
        assert registry.get(resource_type, "middlename") is added


def test_custom_parameter_replaces_same_code(registry: SearchParameterRegistry) -> None:
    replacement = registry.add(
        custom(
            url="https://samhandling.example/SearchParameter/gender",
            code="gender",
            expression="Patient.gender",
        )
    )
    assert registry.get("Patient", "gender") is replacement
    assert registry.get("Practitioner", "gender") is not replacement  # other bases keep theirs
    official = registry.get("Practitioner", "gender")
    assert official is not None and official.url.endswith("individual-gender")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"resourceType": "Patient"}, "resourceType"),
        ({"url": None}, "url"),
        ({"code": None}, "code"),
        ({"code": "has space"}, "code"),
        ({"base": None}, "base"),
        ({"base": []}, "base"),
        ({"base": ["NoSuchType"]}, "base"),
        ({"type": None}, "type"),
        ({"type": "text"}, "type"),
        ({"expression": None}, "expression"),
        ({"expression": "  "}, "expression"),
        ({"expression": "Patient.name.where("}, "does not compile"),
        ({"expression": "Patient..name"}, "does not compile"),
        ({"expression": "Patient.name)"}, "does not compile"),
        ({"type": "composite"}, "components"),
        (
            {
                "type": "composite",
                "component": [
                    {"definition": "http://nowhere/SearchParameter/x", "expression": "a"}
                ],
            },
            "not a known parameter",
        ),
        (
            {
                "type": "composite",
                "component": [
                    {
                        "definition": "http://hl7.org/fhir/SearchParameter/individual-gender",
                        "expression": "gender.(",
                    },
                ],
            },
            "does not compile",
        ),
    ],
)
def test_invalid_custom_parameters_are_rejected(
    registry: SearchParameterRegistry, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidSearchParameterError, match=message):
        registry.add(custom(**changes))
    assert registry.get("Patient", "municipality") is None
    assert registry.generation == 0


def test_valid_composite_custom_parameter(registry: SearchParameterRegistry) -> None:
    added = registry.add(
        custom(
            url="https://samhandling.example/SearchParameter/name-family-given",
            code="family-given",
            type="composite",
            expression="Patient.name",
            component=[
                {
                    "definition": "http://hl7.org/fhir/SearchParameter/individual-family",
                    "expression": "family",
                },
                {
                    "definition": "http://hl7.org/fhir/SearchParameter/individual-given",
                    "expression": "given",
                },
            ],
        )
    )
    assert added.components[1] == ("http://hl7.org/fhir/SearchParameter/individual-given", "given")


# --- the packaged definitions ------------------------------------------------------------


def test_packaged_definitions_are_up_to_date(shared_data: Path, tmp_path: Path) -> None:
    """Rebuilding from the shared data reproduces the checked-in files byte for byte."""
    spec = importlib.util.spec_from_file_location(
        "build_search_definitions", ROOT / "tools/build_search_definitions.py"
    )
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    built = tool.build(shared_data, tmp_path)
    packaged = ROOT / "src/samhandling/fhir/definitions"
    for path in built:
        assert path.read_bytes() == (packaged / path.name).read_bytes(), path.name
    data = json.loads(gzip.decompress((packaged / "r4-search-parameters.json.gz").read_bytes()))
    assert len(data["parameters"]) == 1375
