"""Real-world R4 content validates: official examples, IPS, no-basis and Synthea.

Where an example is genuinely not valid R4, the test asserts the precise issues instead.
"""

from __future__ import annotations

import bz2
import json
from pathlib import Path
from typing import Any

import pytest

from samhandling.fhir.validation import validate_resource

# Official R4 examples (fhir-test-cases/r4/examples) that break the R4 StructureDefinitions.
# Each value is the exact set of (code, expression) errors expected.
INVALID_R4_EXAMPLES: dict[str, set[tuple[str, str]]] = {
    # DeviceMetric.parent is Reference(Device); the example points at a DeviceDefinition.
    "devicemetric-example.json": {("invalid", "DeviceMetric.parent.reference")},
    # DeviceUseStatement.reasonReference allows Condition | Observation | DiagnosticReport |
    # DocumentReference | Media; the example refers to a Procedure.
    "deviceusestatement-example.json": {
        ("invalid", "DeviceUseStatement.reasonReference[0].reference")
    },
    # MedicationRequest.dispenseRequest.performer is Reference(Organization), not Practitioner.
    "medicationrequest0301.json": {
        ("invalid", "MedicationRequest.dispenseRequest.performer.reference")
    },
}


def load_json(path: Path) -> Any:
    """Parse a JSON or bz2-compressed JSON file."""
    if path.suffix == ".bz2":
        with bz2.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    return json.loads(path.read_text(encoding="utf-8"))


def errors(resource: dict[str, Any]) -> set[tuple[str, str]]:
    """(code, expression) of every error-severity issue."""
    return {(i.code, i.expression[0]) for i in validate_resource(resource) if i.severity == "error"}


def questionnaire_items_without_link_id(items: list[dict[str, Any]], path: str) -> set[str]:
    """Expressions of the Questionnaire items that have no linkId (recursively)."""
    found: set[str] = set()
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        if "linkId" not in item:
            found.add(f"{here}.linkId")
        found |= questionnaire_items_without_link_id(item.get("item", []), f"{here}.item")
    return found


def test_fhir_test_case_example(r4_example_path: Path) -> None:
    resource = load_json(r4_example_path)
    expected = INVALID_R4_EXAMPLES.get(r4_example_path.name, set())
    if r4_example_path.name == "bundle-questionnaire.json":
        # The display items of this generated Questionnaire have no linkId, which is 1..1 in R4.
        missing = questionnaire_items_without_link_id(resource["item"], "Questionnaire.item")
        assert len(missing) == 50
        expected = {("required", path) for path in missing}
    assert errors(resource) == expected


def test_ips_example(ips_example_path: Path) -> None:
    assert errors(load_json(ips_example_path)) == set()


def test_no_basis_resource(no_basis_path: Path) -> None:
    resource = load_json(no_basis_path)
    issues = [i for i in validate_resource(resource) if i.severity == "error"]
    if no_basis_path.name == "no-basis-HealthcareService-example.json":
        # Its id "no-basis-HealthcareService example" contains a space (invalid upstream too).
        assert [(i.code, i.expression) for i in issues] == [("value", ("HealthcareService.id",))]
        assert "is not a valid id" in issues[0].diagnostics
    else:
        assert issues == []


@pytest.mark.slow
def test_synthea_bundle(synthea_bundle_path: Path) -> None:
    bundle = load_json(synthea_bundle_path)
    assert bundle["resourceType"] == "Bundle"
    assert errors(bundle) == set()
    failing = {}
    for index, entry in enumerate(bundle["entry"]):
        if found := errors(entry["resource"]):
            failing[index] = found
    assert failing == {}


def test_data_sets_are_complete(shared_data: Path) -> None:
    # Guards against the parametrized tests above silently covering less.
    examples = list((shared_data / "fhir-test-cases/r4/examples").glob("*.json"))
    assert len(examples) == 72
    assert len(list((shared_data / "ips/examples").glob("*.json"))) == 36
    assert len(list((shared_data / "no-basis/json").rglob("*.json"))) == 70
    assert len(list((shared_data / "synthea").glob("*.json.bz2"))) >= 22
