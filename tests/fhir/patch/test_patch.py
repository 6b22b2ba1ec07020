"""PATCH (R4 §3.1.0.7): the official FHIR Patch and JSON Patch cases, plus our own rules."""

from __future__ import annotations

import bz2
import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samhandling.fhir.outcome import FhirError
from samhandling.fhir.patch import (
    Repeats,
    apply_fhirpath_patch,
    apply_json_patch,
    repeats_from_definitions,
)

SHARED = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
PATCH_CASES = SHARED / "fhir-test-cases" / "r4" / "patch"
DEFINITIONS = SHARED / "fhir-r4"

# Official cases we do not pass, by name, with the reason (each is an xfail(strict=True)).
FHIRPATH_KNOWN_FAILURES: dict[str, str] = {}
JSON_KNOWN_FAILURES: dict[str, str] = {}


def _load_cases(name: str) -> list[dict[str, Any]]:
    path = PATCH_CASES / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _params(cases: list[dict[str, Any]], key: str, failures: dict[str, str]) -> list[Any]:
    if not cases:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no test data in {PATCH_CASES}"))]
    params = []
    for case in cases:
        marks = []
        if case[key] in failures:
            marks.append(pytest.mark.xfail(strict=True, reason=failures[case[key]]))
        params.append(pytest.param(case, id=case[key], marks=marks))
    return params


FHIRPATH_CASES = _load_cases("fhir-patch-tests.from-xml.json")
JSON_CASES = _load_cases("json-patch-tests.json")


@pytest.fixture(scope="module")
def r4_repeats() -> Repeats:
    """Cardinalities from the core R4 StructureDefinitions in the shared data."""
    files = [DEFINITIONS / "profiles-types.json", DEFINITIONS / "profiles-resources.json.bz2"]
    if not all(f.is_file() for f in files):
        pytest.skip(f"no R4 StructureDefinitions in {DEFINITIONS}")

    def definitions() -> Iterator[dict[str, Any]]:
        for file in files:
            raw = file.read_bytes()
            bundle = json.loads(bz2.decompress(raw) if file.suffix == ".bz2" else raw)
            yield from (entry["resource"] for entry in bundle["entry"])

    return repeats_from_definitions(definitions())


# ------------------------------------------------------------------------ official cases


def test_official_case_counts() -> None:
    if not PATCH_CASES.is_dir():
        pytest.skip(f"no test data in {PATCH_CASES}")
    assert len(FHIRPATH_CASES) == 33
    assert len(JSON_CASES) == 16


@pytest.mark.parametrize("case", _params(FHIRPATH_CASES, "name", FHIRPATH_KNOWN_FAILURES))
def test_official_fhirpath_patch(case: dict[str, Any], r4_repeats: Repeats) -> None:
    before = copy.deepcopy(case["input"])
    if "error" in case:
        with pytest.raises(FhirError) as caught:
            apply_fhirpath_patch(case["input"], case["diff"], repeats=r4_repeats)
        assert caught.value.status == 422
        assert caught.value.issues[0].code == "processing"
        assert case["error"] in caught.value.message
        assert "operation 0" in caught.value.message
    else:
        result = apply_fhirpath_patch(case["input"], case["diff"], repeats=r4_repeats)
        assert result == case["output"]
    assert case["input"] == before


@pytest.mark.parametrize("case", _params(JSON_CASES, "comment", JSON_KNOWN_FAILURES))
def test_official_json_patch(case: dict[str, Any]) -> None:
    before = copy.deepcopy(case["doc"])
    if "error" in case:
        with pytest.raises(FhirError) as caught:
            apply_json_patch(case["doc"], case["patch"])
        assert caught.value.status == 422
        assert caught.value.issues[0].code == "processing"
        assert "JSON Patch operation 0" in caught.value.message
    else:
        assert apply_json_patch(case["doc"], case["patch"]) == case["expected"]
    assert case["doc"] == before


# ---------------------------------------------------------------------------- JSON Patch

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "name": [{"family": "Nordmann", "given": ["Ola"]}],
}


def _status(exc: pytest.ExceptionInfo[FhirError]) -> tuple[int, str]:
    return exc.value.status, exc.value.issues[0].code


def test_json_patch_returns_a_new_dict_sharing_nothing() -> None:
    resource = copy.deepcopy(PATIENT)
    result = apply_json_patch(resource, [{"op": "replace", "path": "/active", "value": False}])
    result["name"][0]["given"].append("Kari")
    assert resource == PATIENT
    assert result["active"] is False


@pytest.mark.parametrize(
    ("operations", "fragment"),
    [
        ({"op": "add"}, "must be a JSON array"),
        ([{"op": "add", "path": "/x", "value": 1}, "nope"], "operation 1: an operation must be"),
        ([{"path": "/active"}], "operation 0: unknown or missing 'op'"),
        ([{"op": "frobnicate", "path": "/active"}], "unknown or missing 'op' 'frobnicate'"),
        ([{"op": "remove"}], "needs a string 'path'"),
        ([{"op": "remove", "path": "active"}], "invalid JSON Pointer in 'path'"),
        ([{"op": "remove", "path": "/a~2b"}], "invalid JSON Pointer"),
        ([{"op": "add", "path": "/x"}], "'add' needs a 'value' member"),
        ([{"op": "move", "path": "/x"}], "'move' needs a string 'from'"),
        ([{"op": "copy", "from": 3, "path": "/x"}], "'copy' needs a string 'from'"),
    ],
)
def test_json_patch_malformed_is_400(operations: object, fragment: str) -> None:
    with pytest.raises(FhirError) as caught:
        apply_json_patch(PATIENT, operations)
    assert _status(caught) == (400, "invalid")
    assert fragment in caught.value.message


def test_json_patch_names_the_failing_operation() -> None:
    operations = [
        {"op": "test", "path": "/active", "value": True},
        {"op": "remove", "path": "/birthDate"},
    ]
    with pytest.raises(FhirError) as caught:
        apply_json_patch(PATIENT, operations)
    assert _status(caught) == (422, "processing")
    assert caught.value.message.startswith("JSON Patch operation 1 (remove /birthDate)")


def test_json_patch_failed_test_is_422() -> None:
    with pytest.raises(FhirError) as caught:
        apply_json_patch(PATIENT, [{"op": "test", "path": "/active", "value": False}])
    assert _status(caught) == (422, "processing")
    assert "test failed" in caught.value.message


@pytest.mark.parametrize(
    ("operation", "field"),
    [
        ({"op": "replace", "path": "/id", "value": "p2"}, "id"),
        ({"op": "remove", "path": "/id"}, "id"),
        ({"op": "replace", "path": "/resourceType", "value": "Person"}, "resourceType"),
        ({"op": "move", "from": "/id", "path": "/identifier"}, "id"),
    ],
)
def test_json_patch_refuses_identity_changes(operation: dict[str, Any], field: str) -> None:
    with pytest.raises(FhirError) as caught:
        apply_json_patch(PATIENT, [{"op": "test", "path": "/active", "value": True}, operation])
    assert _status(caught) == (422, "processing")
    assert caught.value.message.startswith(f"JSON Patch operation 1 changes {field} from ")
    assert caught.value.issues[0].expression == (field,)


def test_json_patch_identity_may_be_restated_or_restored() -> None:
    operations = [
        {"op": "replace", "path": "/id", "value": "p1"},
        {"op": "replace", "path": "/id", "value": "tmp"},
        {"op": "replace", "path": "/id", "value": "p1"},
    ]
    assert apply_json_patch(PATIENT, operations) == PATIENT


def test_json_patch_result_must_be_an_object() -> None:
    with pytest.raises(FhirError) as caught:
        apply_json_patch(PATIENT, [{"op": "replace", "path": "", "value": [1]}])
    assert _status(caught) == (422, "processing")


# ------------------------------------------------------------------------ FHIRPath Patch

SMALL_REPEATS: dict[str, bool] = {
    "Patient.identifier": True,
    "Patient.name": True,
    "Patient.telecom": True,
    "Patient.contact": True,
    "Patient.contact.telecom": True,
    "Patient.contact.gender": False,
    "Patient.gender": False,
    "Patient.birthDate": False,
    "Patient.maritalStatus": False,
    "HumanName.given": True,
    "HumanName.family": False,
    "Extension.url": False,
}


def _op(kind: str, path: str, **parts: Any) -> dict[str, Any]:
    """An operation parameter; `value` is given as the value part's content."""
    part: list[dict[str, Any]] = [
        {"name": "type", "valueCode": kind},
        {"name": "path", "valueString": path},
    ]
    for name, given in parts.items():
        if name == "value":
            part.append({"name": "value", **given})
        elif isinstance(given, int):
            part.append({"name": name, "valueInteger": given})
        else:
            part.append({"name": name, "valueString": given})
    return {"name": "operation", "part": part}


def _patch(resource: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    before = copy.deepcopy(resource)
    parameters = {"resourceType": "Parameters", "parameter": list(operations)}
    result = apply_fhirpath_patch(resource, parameters, repeats=SMALL_REPEATS.get)
    assert resource == before
    return result


def _refused(resource: dict[str, Any], *operations: dict[str, Any]) -> FhirError:
    with pytest.raises(FhirError) as caught:
        _patch(resource, *operations)
    return caught.value


RICH: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "s1", "value": "1"}, {"system": "s2", "value": "2"}],
    "name": [{"family": "A", "given": ["a", "b", "c"], "_given": [None, {"id": "g2"}, None]}],
    "gender": "male",
    "birthDate": "2000-01-01",
    "_birthDate": {"extension": [{"url": "u", "valueDateTime": "2000-01-01T10:00:00Z"}]},
}


def _rich(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(RICH)
    for key, value in changes.items():
        if value is None:
            del result[key]
        else:
            result[key] = value
    return result


def test_fhirpath_patch_result_shares_nothing_with_the_parameters() -> None:
    value = {"valueIdentifier": {"system": "s3", "value": "3"}}
    result = _patch(RICH, _op("add", "Patient", name="identifier", value=value))
    result["identifier"][2]["value"] = "changed"
    assert value["valueIdentifier"]["value"] == "3"


def test_delete_indexed_primitive_keeps_extensions_aligned() -> None:
    result = _patch(RICH, _op("delete", "Patient.name[0].given[0]"))
    assert result == _rich(
        name=[{"family": "A", "given": ["b", "c"], "_given": [{"id": "g2"}, None]}]
    )
    result = _patch(RICH, _op("delete", "Patient.name.given[1]"))
    assert result == _rich(name=[{"family": "A", "given": ["a", "c"]}])


def test_index_applies_to_the_whole_collection() -> None:
    two_names = _rich(name=[{"given": ["a"]}, {"given": ["b", "c"]}])
    result = _patch(two_names, _op("delete", "Patient.name.given[1]"))
    assert result["name"] == [{"given": ["a"]}, {"given": ["c"]}]


def test_insert_and_move_keep_extensions_aligned() -> None:
    inserted = _patch(
        RICH, _op("insert", "Patient.name[0].given", index=0, value={"valueString": "Z"})
    )
    assert inserted["name"][0]["given"] == ["Z", "a", "b", "c"]
    assert inserted["name"][0]["_given"] == [None, None, {"id": "g2"}, None]
    moved = _patch(RICH, _op("move", "Patient.name[0].given", source=1, destination=0))
    assert moved["name"][0]["given"] == ["b", "a", "c"]
    assert moved["name"][0]["_given"] == [{"id": "g2"}, None, None]


def test_primitive_and_its_extension_go_together() -> None:
    assert _patch(RICH, _op("delete", "Patient.birthDate")) == _rich(
        birthDate=None, _birthDate=None
    )
    replaced = _patch(RICH, _op("replace", "Patient.birthDate", value={"valueDate": "2001-02-03"}))
    assert replaced == _rich(birthDate="2001-02-03", _birthDate=None)
    with_extension = {"valueDate": "2001-02-03", "_valueDate": {"id": "d"}}
    replaced = _patch(RICH, _op("replace", "Patient.birthDate", value=with_extension))
    assert replaced == _rich(birthDate="2001-02-03", _birthDate={"id": "d"})


def test_delete_extension_of_a_primitive_removes_the_emptied_object() -> None:
    assert _patch(RICH, _op("delete", "Patient.birthDate.extension")) == _rich(_birthDate=None)


def test_paths_ending_in_functions_select_complex_elements() -> None:
    deleted = _patch(RICH, _op("delete", "Patient.identifier.where(system = 's2')"))
    assert deleted["identifier"] == [{"system": "s1", "value": "1"}]
    path = "Patient.identifier.where(system = 's2').value"
    replaced = _patch(RICH, _op("replace", path, value={"valueString": "22"}))
    assert replaced["identifier"][1] == {"system": "s2", "value": "22"}
    error = _refused(RICH, _op("delete", "Patient.name.given.first()"))
    assert error.status == 422
    assert "must select complex elements" in error.message


def test_choice_elements() -> None:
    observation = {"resourceType": "Observation", "id": "o", "valueQuantity": {"value": 1}}
    replaced = _patch(observation, _op("replace", "Observation.value", value={"valueString": "x"}))
    assert replaced == {"resourceType": "Observation", "id": "o", "valueString": "x"}
    assert _patch(observation, _op("delete", "Observation.value")) == {
        "resourceType": "Observation",
        "id": "o",
    }
    empty = {"resourceType": "Observation", "id": "o"}
    added = _patch(empty, _op("add", "Observation", name="value", value={"valueBoolean": True}))
    assert added == {"resourceType": "Observation", "id": "o", "valueBoolean": True}
    error = _refused(
        observation, _op("add", "Observation", name="value", value={"valueString": "x"})
    )
    assert "valueQuantity already has a value; use replace" in error.message
    error = _refused(empty, _op("add", "Observation", name="value", value={"valueAddress": {}}))
    assert "value[x] does not allow type Address" in error.message


def test_add_builds_anonymous_types_from_parts_with_cardinality() -> None:
    parts = [
        {"name": "telecom", "valueContactPoint": {"value": "1"}},
        {"name": "gender", "valueCode": "male"},
    ]
    result = _patch(
        {"resourceType": "Patient", "id": "p"},
        _op("add", "Patient", name="contact", value={"part": parts}),
    )
    assert result["contact"] == [{"telecom": [{"value": "1"}], "gender": "male"}]


def test_add_extension_given_as_parts() -> None:
    parts = [{"name": "url", "valueUri": "http://x"}, {"name": "value", "valueString": "v"}]
    result = _patch(RICH, _op("add", "Patient", name="extension", value={"part": parts}))
    assert result["extension"] == [{"url": "http://x", "valueString": "v"}]


def test_add_resource_value_to_contained() -> None:
    organization = {"resourceType": "Organization", "id": "o1"}
    value = {"resource": organization}
    result = _patch(
        {"resourceType": "Patient", "id": "p"}, _op("add", "Patient", name="contained", value=value)
    )
    assert result["contained"] == [organization]
    renamed = _patch(result, _op("replace", "Patient.contained[0].id", value={"valueId": "o2"}))
    assert renamed["contained"] == [{"resourceType": "Organization", "id": "o2"}]


def test_without_cardinalities_a_new_element_is_single() -> None:
    """The documented fallback when no `repeats` is given."""
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            _op("add", "Patient", name="identifier", value={"valueIdentifier": {"value": "1"}}),
            _op(
                "add",
                "Patient",
                name="extension",
                value={"part": [{"name": "url", "valueUri": "u"}]},
            ),
            _op("add", "Patient.name[0]", name="given", value={"valueString": "x"}),
        ],
    }
    resource = {"resourceType": "Patient", "name": [{"given": ["a"]}]}
    assert apply_fhirpath_patch(resource, parameters) == {
        "resourceType": "Patient",
        "name": [{"given": ["a", "x"]}],
        "identifier": {"value": "1"},
        "extension": [{"url": "u"}],
    }


@pytest.mark.parametrize(
    ("operation", "fragment"),
    [
        (_op("delete", "Patient.identifier"), "selects 2 elements; delete removes one"),
        (
            _op("replace", "Patient.identifier.value", value={"valueString": "x"}),
            "selects 2 elements",
        ),
        (
            _op("replace", "Patient.telecom", value={"valueContactPoint": {}}),
            "No content found at Patient.telecom when replacing",
        ),
        (
            _op("add", "Patient", name="gender", value={"valueCode": "female"}),
            "gender already has a value; use replace",
        ),
        (
            _op("add", "Patient.birthDate", name="x", value={"valueString": "x"}),
            "add needs a complex element",
        ),
        (
            _op("replace", "Patient.gender", value={"valueCoding": {"code": "x"}}),
            "gender is a primitive (code)",
        ),
        (
            _op("add", "Patient", name="maritalStatus", value={"valueString": "x"}),
            "has type CodeableConcept, not a primitive",
        ),
        (
            _op("add", "Patient", name="maritalStatus", value={"valueCoding": {}}),
            "has type CodeableConcept, not Coding",
        ),
        (
            _op(
                "add",
                "Patient",
                name="contact",
                value={"part": [{"name": "gender", "valueCoding": {}}]},
            ),
            "gender is a primitive",
        ),
        (
            _op("insert", "Patient.identifier", index=3, value={"valueIdentifier": {}}),
            "index 3 is outside 0..2",
        ),
        (
            _op("insert", "Patient.gender", index=0, value={"valueCode": "x"}),
            "gender is not a list",
        ),
        (
            _op("insert", "Patient.identifier.first()", index=0, value={"valueIdentifier": {}}),
            "must end in the name of a list",
        ),
        (
            _op("move", "Patient.identifier", source=0, destination=2),
            "destination 2 is outside 0..1",
        ),
        (_op("move", "Patient.identifier", source=-1, destination=0), "source -1 is outside 0..1"),
        (
            _op("move", "Patient.telecom", source=0, destination=0),
            "No list found at Patient.telecom",
        ),
        (_op("delete", "Patient"), "the path selects the resource itself"),
        (
            _op("replace", "Patient", value={"valueString": "x"}),
            "the path selects the resource itself",
        ),
        (_op("delete", "Patient.name.given.where($this = 'a').first()"), "must select complex"),
        (_op("delete", "'a literal'"), "cannot be located in the resource"),
        (
            _op("add", "Patient.name[0]", name="gender", value={"valueCode": "male"}),
            "HumanName has no element 'gender'",
        ),
        (
            _op(
                "add", "Patient", name="contact", value={"part": [{"name": "x", "valueCode": "y"}]}
            ),
            "Patient.contact has no element 'x'",
        ),
        (_op("delete", "Patient.name.first(1)"), "evaluating the path failed"),
    ],
)
def test_fhirpath_patch_unapplicable_is_422(operation: dict[str, Any], fragment: str) -> None:
    error = _refused(RICH, _op("delete", "Patient.telecom"), operation)
    assert (error.status, error.issues[0].code) == (422, "processing")
    assert error.message.startswith("FHIRPath Patch operation 1 (")
    assert fragment in error.message
    assert error.issues[0].expression == ("Parameters.parameter[1]",)


def test_resource_variables_are_available() -> None:
    result = _patch(RICH, _op("replace", "%resource.gender", value={"valueCode": "female"}))
    assert result == _rich(gender="female")
    result = _patch(RICH, _op("delete", "%rootResource.identifier[0]"))
    assert result["identifier"] == [{"system": "s2", "value": "2"}]


def test_delete_of_nothing_is_not_an_error() -> None:
    assert (
        _patch(RICH, _op("delete", "Patient.telecom"), _op("delete", "Patient.name.given[7]"))
        == RICH
    )


@pytest.mark.parametrize(
    ("operation", "fragment"),
    [
        (_op("replace", "Patient.id", value={"valueId": "p2"}), "changes id from 'p1' to 'p2'"),
        (_op("delete", "Patient.id"), "changes id from 'p1' to None"),
        (
            _op("replace", "Patient.resourceType", value={"valueString": "X"}),
            "changes resourceType",
        ),
    ],
)
def test_fhirpath_patch_refuses_identity_changes(operation: dict[str, Any], fragment: str) -> None:
    error = _refused(RICH, _op("delete", "Patient.telecom"), operation)
    assert (error.status, error.issues[0].code) == (422, "processing")
    assert error.message.startswith(f"FHIRPath Patch operation 1 {fragment}")


def test_fhirpath_patch_may_restore_the_id() -> None:
    set_id = [_op("replace", "Patient.id", value={"valueId": v}) for v in ("tmp", "p1")]
    assert _patch(RICH, *set_id) == RICH


def _doc(*operations: object) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(operations)}


def _operation(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"name": "operation", "part": list(parts)}


TYPE_ADD = {"name": "type", "valueCode": "add"}
PATH = {"name": "path", "valueString": "Patient"}
NAME = {"name": "name", "valueString": "gender"}
VALUE = {"name": "value", "valueCode": "male"}


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ({"resourceType": "Bundle"}, "must be a Parameters resource"),
        ([], "must be a Parameters resource"),
        ({"resourceType": "Parameters", "parameter": {}}, "must be an array"),
        (_doc({"name": "op"}), "named 'operation'"),
        (_doc({"name": "operation"}), "needs parts"),
        (_doc(_operation({"valueCode": "add"})), "needs a name"),
        (_doc(_operation(PATH, NAME, VALUE)), "part 'type' needs a non-empty string"),
        (
            _doc(_operation({"name": "type", "valueCode": "upsert"}, PATH)),
            "unknown operation type 'upsert'",
        ),
        (_doc(_operation(TYPE_ADD, PATH, NAME)), "'add' needs a 'value' part"),
        (
            _doc(_operation(TYPE_ADD, PATH, NAME, VALUE, {"name": "index", "valueInteger": 0})),
            "part 'index' is not used by 'add'",
        ),
        (_doc(_operation(TYPE_ADD, PATH, NAME, VALUE, VALUE)), "part 'value' appears twice"),
        (
            _doc(_operation(TYPE_ADD, PATH, NAME, {"name": "value"})),
            "exactly one of value[x], resource, part",
        ),
        (
            _doc(
                _operation(
                    TYPE_ADD, PATH, NAME, {"name": "value", "valueCode": "a", "valueString": "b"}
                )
            ),
            "has several values",
        ),
        (
            _doc(_operation(TYPE_ADD, PATH, NAME, {"name": "value", "part": []})),
            "empty or invalid 'part'",
        ),
        (
            _doc(_operation(TYPE_ADD, PATH, NAME, {"name": "value", "part": [{"valueCode": "x"}]})),
            "needs a name",
        ),
        (
            _doc(_op("move", "Patient.identifier", source="0", destination=1)),
            "part 'source' needs an integer",
        ),
        (_doc(_op("delete", "Patient.name[")), "invalid FHIRPath 'Patient.name['"),
        (_doc(_op("delete", "Patient..name")), "invalid FHIRPath"),
        (_doc(_op("delete", "Patient.name )")), "invalid FHIRPath"),
    ],
)
def test_fhirpath_patch_malformed_is_400(parameters: object, fragment: str) -> None:
    with pytest.raises(FhirError) as caught:
        apply_fhirpath_patch(RICH, parameters)
    assert (caught.value.status, caught.value.issues[0].code) == (400, "invalid")
    assert fragment in caught.value.message


def test_malformed_operation_is_named_by_index() -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [_op("delete", "Patient.gender"), {"name": "x"}],
    }
    with pytest.raises(FhirError) as caught:
        apply_fhirpath_patch(RICH, parameters)
    assert caught.value.message.startswith("FHIRPath Patch operation 1: ")
    assert caught.value.issues[0].expression == ("Parameters.parameter[1]",)


def test_narrative_div_may_be_written_without_backticks() -> None:
    resource = {
        "resourceType": "Patient",
        "id": "p",
        "text": {"status": "generated", "div": "<div/>"},
    }
    new_div = '<div xmlns="http://www.w3.org/1999/xhtml">x.div</div>'
    for path in ("Patient.text.div", "Patient.text.`div`"):
        result = _patch(resource, _op("replace", path, value={"valueString": new_div}))
        assert result["text"]["div"] == new_div
    where = "Patient.identifier.where(value = 'a.div').system"
    result = _patch(RICH, _op("delete", where))
    assert result == RICH
