"""Bindings, references, nested resources, primitive extensions, Extension and Narrative."""

from __future__ import annotations

from typing import Any

import pytest

from samhandling.fhir.outcome import Issue
from samhandling.fhir.validation import checks, validate_resource
from samhandling.fhir.validation.model import COMPLEX, ElementDef, load_model

SNOMED = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def errors(resource: Any) -> list[tuple[str, str]]:
    """(code, expression) of the error-severity issues, in order."""
    return [(i.code, i.expression[0]) for i in validate_resource(resource) if i.severity == "error"]


def observation(**changes: Any) -> dict[str, Any]:
    """A small valid Observation with `changes` applied."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "heart rate"},
    }
    resource.update(changes)
    return resource


def condition(clinical_status: dict[str, Any]) -> dict[str, Any]:
    """A Condition with the given clinicalStatus."""
    return {
        "resourceType": "Condition",
        "clinicalStatus": clinical_status,
        "subject": {"reference": "Patient/p"},
    }


# --- required bindings ------------------------------------------------------------------------


def test_code_not_in_required_value_set() -> None:
    issues = validate_resource(observation(status="bogus"))
    assert [(i.code, i.expression) for i in issues] == [("code-invalid", ("Observation.status",))]
    assert "http://hl7.org/fhir/ValueSet/observation-status" in issues[0].diagnostics


def test_codes_are_case_sensitive_and_checked_in_arrays() -> None:
    assert errors(observation(status="Final")) == [("code-invalid", "Observation.status")]
    resource = {"resourceType": "Patient", "telecom": [{"system": "phone", "use": "hom"}]}
    assert errors(resource) == [("code-invalid", "Patient.telecom[0].use")]
    resource = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "subjectType": ["Patient", "Bot"],
    }
    assert errors(resource) == [("code-invalid", "Questionnaire.subjectType[1]")]


def test_detectedissue_status_uses_the_r4_binding() -> None:
    # Medplum rebinds DetectedIssue.status to a 5.0.0 value set with "mitigated"; R4 uses
    # observation-status.
    resource = {"resourceType": "DetectedIssue", "status": "mitigated"}
    assert errors(resource) == [("code-invalid", "DetectedIssue.status")]
    assert errors({"resourceType": "DetectedIssue", "status": "final"}) == []


def test_codeable_concept_required_binding() -> None:
    good = {"coding": [{"system": CLINICAL, "code": "active"}]}
    assert validate_resource(condition(good)) == []
    bad = {"coding": [{"system": CLINICAL, "code": "bogus"}, {"system": SNOMED, "code": "1"}]}
    expected = [("code-invalid", "Condition.clinicalStatus.coding[0].code")]
    assert errors(condition(bad)) == expected
    # One coding from the value set is enough; other codings are translations.
    mixed = {
        "coding": [{"system": CLINICAL, "code": "bogus"}, {"system": CLINICAL, "code": "active"}]
    }
    assert errors(condition(mixed)) == []


def test_codeable_concept_without_value_set_coding_is_a_warning() -> None:
    issues = validate_resource(condition({"coding": [{"system": SNOMED, "code": "55561003"}]}))
    assert [(i.severity, i.code, i.expression) for i in issues] == [
        ("warning", "code-invalid", ("Condition.clinicalStatus",))
    ]
    assert errors(condition({"text": "active"})) == []


# --- references ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/p1",
        "Group/g1/_history/2",
        "#contained",
        "urn:uuid:c0a8015e-0000-0000-0000-000000000000",
        "urn:oid:1.2.3",
        "http://example.org/fhir/Medication/1",
        "Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|13116900216",
        "Medication?code=123",
    ],
)
def test_accepted_references(reference: str) -> None:
    assert errors(observation(subject={"reference": reference})) == []


def test_wrong_reference_target_type() -> None:
    issues = validate_resource(observation(subject={"reference": "Medication/1"}))
    assert [(i.code, i.expression) for i in issues] == [
        ("invalid", ("Observation.subject.reference",))
    ]
    assert "Medication" in issues[0].diagnostics
    resource = observation(subject={"reference": "Medication/1/_history/3"})
    assert errors(resource) == [("invalid", "Observation.subject.reference")]
    resource = observation(performer=[{"reference": "Practitioner/a"}, {"reference": "Location/b"}])
    assert errors(resource) == [("invalid", "Observation.performer[1].reference")]


def test_reference_to_an_unknown_type() -> None:
    assert errors(observation(subject={"reference": "Bot/1"})) == [
        ("invalid", "Observation.subject.reference")
    ]


def test_any_resource_target_and_reference_type() -> None:
    assert errors(observation(focus=[{"reference": "Medication/1"}])) == []
    resource = observation(subject={"reference": "Patient/1", "type": "Group"})
    assert errors(resource) == [("invalid", "Observation.subject.type")]
    assert errors(observation(subject={"type": "Medication", "display": "x"})) == [
        ("invalid", "Observation.subject.type")
    ]


def test_audit_event_observer_targets_are_r4() -> None:
    resource = {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "recorded": "2020-01-01T00:00:00Z",
        "agent": [{"requestor": True, "who": {"reference": "Practitioner/a"}}],
        "source": {"observer": {"reference": "Subscription/s"}},
    }
    assert errors(resource) == [("invalid", "AuditEvent.source.observer.reference")]
    resource["source"]["observer"] = {"reference": "Device/d"}
    assert errors(resource) == []


# --- nested resources ----------------------------------------------------------------------


def test_contained_resources_are_validated() -> None:
    resource = observation(
        contained=[
            {"resourceType": "Organization", "id": "o"},
            {"resourceType": "Medication", "foo": 1},
        ]
    )
    assert errors(resource) == [("structure", "Observation.contained[1].ofType(Medication).foo")]
    resource = observation(contained=[{"id": "x"}])
    assert errors(resource) == [("required", "Observation.contained[0].resourceType")]


def test_bundle_entries_are_validated() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient"}},
            {"resource": {"resourceType": "Patient", "gender": "x"}},
            {"resource": observation(status="bogus", subject={"reference": "Medication/1"})},
            {
                "resource": {
                    "resourceType": "Bundle",
                    "type": "batch",
                    "entry": [{"resource": observation(foo=1)}],
                }
            },
        ],
    }
    assert errors(bundle) == [
        ("code-invalid", "Bundle.entry[1].resource.ofType(Patient).gender"),
        ("code-invalid", "Bundle.entry[2].resource.ofType(Observation).status"),
        ("invalid", "Bundle.entry[2].resource.ofType(Observation).subject.reference"),
        (
            "structure",
            "Bundle.entry[3].resource.ofType(Bundle).entry[0].resource.ofType(Observation).foo",
        ),
    ]


def test_bundle_response_outcome_and_parameters_resources() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "200", "outcome": {"resourceType": "OperationOutcome"}}}],
    }
    assert errors(bundle) == [
        ("required", "Bundle.entry[0].response.outcome.ofType(OperationOutcome).issue")
    ]
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "a", "part": [{"name": "b", "resource": {"resourceType": "Patient", "x": 1}}]}
        ],
    }
    assert errors(parameters) == [
        ("structure", "Parameters.parameter[0].part[0].resource.ofType(Patient).x")
    ]


def test_content_reference_elements() -> None:
    resource = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [
            {"linkId": "1", "type": "group", "item": [{"linkId": "1.1", "type": "bogus", "foo": 1}]}
        ],
    }
    assert errors(resource) == [
        ("code-invalid", "Questionnaire.item[0].item[0].type"),
        ("structure", "Questionnaire.item[0].item[0].foo"),
    ]


# --- primitive extensions --------------------------------------------------------------------

EXT = {"extension": [{"url": "http://example.org/x", "valueString": "v"}]}


def test_primitive_extension_companions() -> None:
    name = {"given": ["Ola", None], "_given": [None, EXT]}
    assert errors({"resourceType": "Patient", "name": [name], "_birthDate": EXT}) == []
    name = {"given": ["Ola", None]}
    assert errors({"resourceType": "Patient", "name": [name]}) == [
        ("structure", "Patient.name[0].given[1]")
    ]
    name = {"given": ["Ola"], "_given": [None, EXT]}
    assert errors({"resourceType": "Patient", "name": [name]}) == [
        ("structure", "Patient.name[0].given")
    ]
    name = {"given": ["Ola", None], "_given": [None, None]}
    assert errors({"resourceType": "Patient", "name": [name]}) == [
        ("structure", "Patient.name[0].given[1]")
    ]
    name = {"_given": [None, EXT]}
    assert errors({"resourceType": "Patient", "name": [name]}) == [
        ("structure", "Patient.name[0].given[0]")
    ]
    assert errors({"resourceType": "Patient", "_birthDate": [EXT]}) == [
        ("structure", "Patient.birthDate")
    ]
    assert errors({"resourceType": "Patient", "_birthDate": {}}) == [
        ("structure", "Patient.birthDate")
    ]


def test_no_companions_for_attributes_and_complex_types() -> None:
    resource = {"resourceType": "Patient", "name": [{"id": "n", "_id": EXT}]}
    assert errors(resource) == [("structure", "Patient.name[0]._id")]
    resource = {
        "resourceType": "Patient",
        "extension": [{"url": "http://e", "_url": EXT, "valueCode": "a"}],
    }
    assert errors(resource) == [("structure", "Patient.extension[0]._url")]


# --- Extension and Narrative -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        ({"valueString": "x"}, ("required", "Patient.extension[0].url")),
        (
            {"url": "http://e", "valueString": "x", "extension": [{"url": "a", "valueCode": "b"}]},
            ("structure", "Patient.extension[0]"),
        ),
        ({"url": "http://e", "id": "only-id"}, ("structure", "Patient.extension[0]")),
        ({"url": "http://e", "valueFoo": "x"}, ("structure", "Patient.extension[0].valueFoo")),
        (
            {"url": "http://e", "extension": [{"url": "a"}]},
            ("structure", "Patient.extension[0].extension[0]"),
        ),
        (
            {"url": "http://e", "valueReference": {"reference": "Foo/1"}},
            ("invalid", "Patient.extension[0].value.ofType(Reference).reference"),
        ),
    ],
)
def test_extension_structure(extension: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in errors({"resourceType": "Patient", "extension": [extension]})


def test_modifier_extension_structure() -> None:
    resource = {
        "resourceType": "Patient",
        "contact": [{"modifierExtension": [{"url": "http://e"}]}],
    }
    assert errors(resource) == [("structure", "Patient.contact[0].modifierExtension[0]")]


def test_narrative() -> None:
    assert errors({"resourceType": "Patient", "text": {"status": "generated"}}) == [
        ("required", "Patient.text.div")
    ]
    div = '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'
    assert errors({"resourceType": "Patient", "text": {"status": "made-up", "div": div}}) == [
        ("code-invalid", "Patient.text.status")
    ]
    assert errors({"resourceType": "Patient", "text": {"status": "generated", "div": div}}) == []


def test_coding_required_binding() -> None:
    # No R4 core element binds a Coding with required strength; profiles may.
    element = ElementDef("c", {"t": "Coding", "min": 0, "max": 1}, COMPLEX)
    element.valueset = load_model().valuesets["http://hl7.org/fhir/ValueSet/administrative-gender"]
    system = "http://hl7.org/fhir/administrative-gender"
    found: list[Issue] = []
    checks.coding({"system": system, "code": "male"}, element, "X.c", found)
    checks.coding({"system": system, "display": "no code"}, element, "X.c", found)
    assert found == []
    checks.coding({"system": system, "code": "man"}, element, "X.c", found)
    checks.coding({"system": "http://other", "code": "male"}, element, "X.c", found)
    checks.coding({"system": ["not", "a", "string"], "code": "male"}, element, "X.c", found)
    assert [(i.code, i.expression) for i in found] == [("code-invalid", ("X.c.code",))] * 3
