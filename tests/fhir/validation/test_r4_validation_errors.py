"""Targeted invalid (and borderline valid) resources: the exact issue code and expression."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from samhandling.fhir.validation import validate_resource

DIV = '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'


def errors(resource: Any) -> list[tuple[str, str]]:
    """(code, expression) of the error-severity issues, in order."""
    issues = validate_resource(resource)
    assert all(len(i.expression) == 1 for i in issues)
    return [(i.code, i.expression[0]) for i in issues if i.severity == "error"]


def observation(**changes: Any) -> dict[str, Any]:
    """A small valid Observation with `changes` applied (None removes a key)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {"value": 72, "unit": "/min"},
    }
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def patient(**changes: Any) -> dict[str, Any]:
    """A small valid Patient with `changes` applied."""
    resource: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "active": True}
    resource.update(changes)
    return resource


def test_valid_resources_have_no_issues() -> None:
    assert validate_resource(observation()) == []
    assert validate_resource(patient(name=[{"family": "Nordmann", "given": ["Ola"]}])) == []


# --- resourceType ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"id": "x"}, [("required", "Resource.resourceType")]),
        ({"resourceType": "Foo"}, [("structure", "Resource.resourceType")]),
        ({"resourceType": "SubscriptionStatus"}, [("structure", "Resource.resourceType")]),
        ({"resourceType": "DomainResource"}, [("structure", "Resource.resourceType")]),
        ({"resourceType": 7}, [("structure", "Resource.resourceType")]),
        (["Patient"], [("structure", "Resource")]),
    ],
)
def test_resource_type(resource: Any, expected: list[tuple[str, str]]) -> None:
    assert errors(resource) == expected


# --- unknown elements and JSON types --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"foo": 1}, ("structure", "Patient.foo")),
        ({"contact": [{"foo": "x"}]}, ("structure", "Patient.contact[0].foo")),
        ({"name": [{"family": "N", "foo": "x"}]}, ("structure", "Patient.name[0].foo")),
        ({"meta": {"project": "p"}}, ("structure", "Patient.meta.project")),
        (
            {"meta": {"compartment": [{"reference": "Patient/1"}]}},
            ("structure", "Patient.meta.compartment"),
        ),
        ({"active": "true"}, ("structure", "Patient.active")),
        ({"birthDate": 19800101}, ("structure", "Patient.birthDate")),
        ({"name": {"family": "N"}}, ("structure", "Patient.name")),
        ({"gender": ["male"]}, ("structure", "Patient.gender")),
        ({"name": [{"family": ["N"]}]}, ("structure", "Patient.name[0].family")),
        ({"name": ["N"]}, ("structure", "Patient.name[0]")),
        ({"maritalStatus": "M"}, ("structure", "Patient.maritalStatus")),
        ({"gender": None}, ("structure", "Patient.gender")),
        ({"meta": {}}, ("structure", "Patient.meta")),
        ({"name": []}, ("structure", "Patient.name")),
        ({"name": [{}]}, ("structure", "Patient.name[0]")),
        ({"name": [{"family": ""}]}, ("value", "Patient.name[0].family")),
        ({"_birthDate": {"id": "a", "foo": 1}}, ("structure", "Patient.birthDate.foo")),
        ({"_name": {"id": "a"}}, ("structure", "Patient._name")),
    ],
)
def test_structure(changes: dict[str, Any], expected: tuple[str, str]) -> None:
    assert errors(patient(**changes)) == [expected]


# --- primitive formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"birthDate": "1980-13-01"}, "Patient.birthDate"),
        ({"birthDate": "2019-02-29"}, "Patient.birthDate"),
        ({"birthDate": "1980-1-1"}, "Patient.birthDate"),
        ({"birthDate": "1980-01-01T10:00:00Z"}, "Patient.birthDate"),
        ({"deceasedDateTime": "2020-01-01T10:00:00"}, "Patient.deceased.ofType(dateTime)"),
        ({"deceasedDateTime": "2020-04-31"}, "Patient.deceased.ofType(dateTime)"),
        ({"id": "has space"}, "Patient.id"),
        ({"id": "x" * 65}, "Patient.id"),
        ({"meta": {"lastUpdated": "2020-01-01"}}, "Patient.meta.lastUpdated"),
        ({"meta": {"versionId": "1 2"}}, "Patient.meta.versionId"),
        ({"implicitRules": "http://a b"}, "Patient.implicitRules"),
        ({"language": "en  US"}, "Patient.language"),
        ({"language": " en"}, "Patient.language"),
        ({"multipleBirthInteger": 2147483648}, "Patient.multipleBirth.ofType(integer)"),
        ({"multipleBirthInteger": 1.5}, "Patient.multipleBirth.ofType(integer)"),
        ({"photo": [{"data": "abc"}]}, "Patient.photo[0].data"),
        ({"photo": [{"size": -1}]}, "Patient.photo[0].size"),
        ({"photo": [{"creation": "2020-01-01T25:00:00Z"}]}, "Patient.photo[0].creation"),
        ({"text": {"status": "generated", "div": "<p>x</p>"}}, "Patient.text.div"),
        ({"text": {"status": "generated", "div": "<div>no namespace</div>"}}, "Patient.text.div"),
        ({"identifier": [{"system": "urn:oid:1.2.03"}]}, None),  # uri: any non-blank text
    ],
)
def test_bad_primitive_format(changes: dict[str, Any], expected: str | None) -> None:
    assert errors(patient(**changes)) == ([("value", expected)] if expected else [])


@pytest.mark.parametrize(
    ("element", "value", "code"),
    [
        ("oid", "urn:oid:1.02", "value"),
        ("oid", "1.2.3", "value"),
        ("uuid", "urn:uuid:C0A8015E-0000-0000-0000-000000000000", "value"),
        ("uuid", "urn:uuid:c0a8015e-0000-0000-0000-000000000000", None),
        ("positiveInt", 0, "value"),
        ("positiveInt", 1, None),
        ("unsignedInt", -1, "value"),
        ("decimal", float("nan"), "value"),
        ("decimal", "1.0", "structure"),
        ("decimal", Decimal("1.50"), None),
        ("boolean", 1, "structure"),
        ("time", "24:00:00", "value"),
        ("time", "23:59:60.5", None),
        ("instant", "2020-01-01T00:00:00.123+14:00", None),
        ("instant", "2020-01-01T00:00:00+15:00", "value"),
        ("canonical", "http://x y", "value"),
        ("url", "", "value"),
        ("markdown", "  *x*  ", None),
        ("base64Binary", "YWJj\nZGVm", None),
        ("base64Binary", "YW Jj", "value"),
        ("string", "tab\tand\nnewline", None),
        ("string", "form\ffeed", "value"),
        ("code", "a b", None),
    ],
)
def test_primitive_types_in_extensions(element: str, value: Any, code: str | None) -> None:
    key = "value" + element[0].upper() + element[1:]
    resource = patient(extension=[{"url": "http://example.org/x", key: value}])
    expected = [(code, f"Patient.extension[0].value.ofType({element})")] if code else []
    assert errors(resource) == expected


def test_decimal_from_a_decimal_preserving_parser() -> None:
    text = json.dumps(observation(valueQuantity={"value": 0})).replace(
        '"value": 0', '"value": 1.10'
    )
    assert validate_resource(json.loads(text, parse_float=Decimal)) == []


# --- cardinality and required elements -------------------------------------------------------


def test_missing_required_elements() -> None:
    assert errors(observation(status=None, code=None)) == [
        ("required", "Observation.status"),
        ("required", "Observation.code"),
    ]


def test_required_primitive_may_be_present_as_extension_only() -> None:
    absent = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "unknown",
            }
        ]
    }
    assert errors(observation(status=None, _status=absent)) == []


def test_required_in_backbone_and_datatype() -> None:
    resource = observation(component=[{"valueString": "x"}], referenceRange=[{"low": {"value": 1}}])
    resource["code"] = {"coding": [{"system": "http://loinc.org", "code": "1"}], "text": "t"}
    assert errors(resource) == [("required", "Observation.component[0].code")]
    assert errors(patient(link=[{"type": "seealso"}])) == [("required", "Patient.link[0].other")]


def test_required_choice() -> None:
    resource = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationReference": {"reference": "Medication/m"},
        "subject": {"reference": "Patient/p"},
    }
    assert errors(resource) == [("required", "MedicationAdministration.effective[x]")]
    resource["effectiveDateTime"] = "2020-01-01"
    assert errors(resource) == []


def test_max_cardinality_exceeded() -> None:
    assert errors(patient(gender=["male", "female"])) == [("value", "Patient.gender")]
    assert errors(observation(code=[{"text": "a"}, {"text": "b"}])) == [
        ("value", "Observation.code")
    ]


def test_forbidden_element_in_simple_quantity() -> None:
    resource = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "x"},
        "subject": {"reference": "Patient/p"},
        "dispenseRequest": {"quantity": {"value": 1, "comparator": "<"}},
    }
    expected = [("structure", "MedicationRequest.dispenseRequest.quantity.comparator")]
    assert errors(resource) == expected
    resource["dispenseRequest"]["quantity"].pop("comparator")
    assert errors(resource) == []


# --- choice types ------------------------------------------------------------------------------


def test_unknown_choice_suffix() -> None:
    issues = validate_resource(observation(valueQuantity=None, valueFoo="x"))
    assert [(i.code, i.expression) for i in issues] == [("structure", ("Observation.valueFoo",))]
    assert "Observation.value[x]" in issues[0].diagnostics


def test_two_choice_variants() -> None:
    resource = observation(valueString="x")
    assert errors(resource) == [("structure", "Observation.value[x]")]
    resource = observation(_valueString={"extension": [{"url": "http://e", "valueCode": "x"}]})
    assert errors(resource) == [("structure", "Observation.value[x]")]


def test_choice_variant_path_uses_of_type() -> None:
    resource = observation(valueQuantity=None, valueDateTime="2020-02-30")
    assert errors(resource) == [("value", "Observation.value.ofType(dateTime)")]
    resource = observation(valueQuantity={"value": "1"})
    assert errors(resource) == [("structure", "Observation.value.ofType(Quantity).value")]
