"""The public API surface and the generated R4 model (no shared data needed)."""

from __future__ import annotations

import gzip
import importlib.util
import json
from importlib import resources
from pathlib import Path
from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.fhir.validation import RESOURCE_TYPES, is_resource_type, validate_resource
from samhandling.fhir.validation.model import load_model

MODEL = resources.files("samhandling.fhir.definitions").joinpath("r4-structure.json.gz")


def raw_model() -> dict[str, Any]:
    """The generated model as written by tools/build_r4_definitions.py."""
    result: dict[str, Any] = json.loads(gzip.decompress(MODEL.read_bytes()))
    return result


def test_resource_types() -> None:
    assert isinstance(RESOURCE_TYPES, frozenset)
    assert len(RESOURCE_TYPES) == 146
    assert set(raw_model()["resources"]) == RESOURCE_TYPES
    assert is_resource_type("Patient") and is_resource_type("MedicinalProductPackaged")
    for name in ("Resource", "DomainResource", "MetadataResource", "SubscriptionStatus", "patient"):
        assert not is_resource_type(name)


def test_model_is_small_r4_and_loaded_once() -> None:
    assert len(MODEL.read_bytes()) < 2_000_000
    model = raw_model()
    assert model["fhirVersion"] == "4.0.1"
    assert "project" not in model["structs"]["Meta"]
    assert "url" not in model["structs"]["Binary"]
    assert "classification" not in model["structs"]["DeviceDefinition"]
    assert "definitionReference" in model["structs"]["EvidenceVariable.characteristic"]
    assert load_model() is load_model()


def test_skipped_value_sets_are_recorded() -> None:
    skipped = raw_model()["skippedValueSets"]
    assert set(skipped) == {
        "http://hl7.org/fhir/ValueSet/currencies",
        "http://hl7.org/fhir/ValueSet/mimetypes",
        "http://hl7.org/fhir/ValueSet/ucum-units",
        "http://loinc.org/vs/LL379-9",
    }
    # Unexpandable bindings are not checked: any syntactically valid code passes.
    attachment = {"contentType": "made/up", "data": "YWJj"}
    resource = {"resourceType": "Patient", "photo": [attachment]}
    assert validate_resource(resource) == []


def test_issues_are_outcome_issues_with_fhirpath_expressions() -> None:
    issues = validate_resource({"resourceType": "Patient", "gender": "x", "foo": []})
    assert all(isinstance(i, Issue) for i in issues)
    assert [(i.severity, i.code, i.expression) for i in issues] == [
        ("error", "code-invalid", ("Patient.gender",)),
        ("error", "structure", ("Patient.foo",)),
    ]
    assert issues[0].to_fhir()["expression"] == ["Patient.gender"]


def test_generated_model_is_up_to_date(shared_data: Path) -> None:
    # The checked-in model must be what tools/build_r4_definitions.py makes of the shared data.
    tool = Path(__file__).resolve().parents[3] / "tools" / "build_r4_definitions.py"
    spec = importlib.util.spec_from_file_location("build_r4_definitions", tool)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model, summary = module.build_model(shared_data / "fhir-r4")
    assert json.loads(json.dumps(model)) == raw_model()
    assert set(summary["skipped"]) == set(model["skippedValueSets"])
    assert "Meta.project: only in snapshot" in summary["edits"]["Meta"]
