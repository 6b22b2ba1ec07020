"""validate_resource never raises: arbitrary JSON gives issues, not exceptions."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from samhandling.fhir.outcome import Issue
from samhandling.fhir.validation import validate_resource

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["Patient/1", "final", "2020-02-30", "urn:uuid:x", "http://loinc.org"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["url", "valueString", "_given", "given", "coding", "system", "code"])
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)

SEED: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "1"}]},
    "subject": {"reference": "Patient/1"},
    "component": [{"code": {"text": "x"}, "valueQuantity": {"value": 1}}],
    "extension": [{"url": "http://e", "valueString": "v"}],
    "contained": [{"resourceType": "Patient", "name": [{"given": ["a"]}]}],
}


def replace_at(value: Any, path: list[int], new: Any) -> Any:
    """A copy of `value` with one nested node (chosen by `path` indexes) replaced by `new`."""
    if not path or not isinstance(value, dict | list) or not value:
        return new
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = keys[path[0] % len(keys)]
    copied = dict(value) if isinstance(value, dict) else list(value)
    copied[key] = replace_at(value[key], path[1:], new)
    return copied


def assert_issues(issues: Any) -> None:
    assert isinstance(issues, list)
    for issue in issues:
        assert isinstance(issue, Issue) and issue.severity in ("error", "warning")
        assert len(issue.expression) == 1 and issue.expression[0]


@settings(max_examples=300, deadline=None)
@given(path=st.lists(st.integers(min_value=0), max_size=5), new=json_values)
def test_mutated_resources_never_raise(path: list[int], new: Any) -> None:
    assert_issues(validate_resource(replace_at(SEED, path, new)))


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_arbitrary_json_never_raises(value: Any) -> None:
    assert_issues(validate_resource(value))
    if isinstance(value, dict):
        assert_issues(validate_resource({**value, "resourceType": "Patient"}))


def test_very_deep_nesting_is_an_issue_not_a_crash() -> None:
    item: dict[str, Any] = {"linkId": "leaf", "type": "display"}
    for depth in range(5000):
        item = {"linkId": str(depth), "type": "group", "item": [item]}
    resource = {"resourceType": "Questionnaire", "status": "draft", "item": [item]}
    issues = validate_resource(resource)
    assert [(i.code, i.expression) for i in issues] == [("structure", ("Questionnaire",))]


def test_non_string_property_names() -> None:
    issues = validate_resource({"resourceType": "Patient", 1: "x"})  # type: ignore[dict-item]
    assert [(i.code, i.expression) for i in issues] == [("structure", ("Patient",))]
