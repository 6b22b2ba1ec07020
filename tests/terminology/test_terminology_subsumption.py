"""Subsumption in the bundled code systems, and value sets read as rules."""

from __future__ import annotations

import pytest

from samhandling.terminology.content import value_set_entry, value_sets
from samhandling.terminology.subsumption import SubsumptionError, above, below
from samhandling.terminology.value_set_rules import CodeRule, membership
from samhandling.terminology.value_sets import ValueSetError

ATC = "http://www.whocc.no/atc"
POU = "urn:oid:2.16.840.1.113883.1.11.20448"
VS = "https://samhandling.no/fhir/ValueSet/"


def test_atc_below_is_a_prefix_also_for_codes_outside_the_bundle() -> None:
    assert below(ATC, "J01C").prefix == "J01C"
    assert below(ATC, "A10BX99").prefix == "A10BX99"  # well-formed, not bundled


def test_atc_above_walks_the_levels() -> None:
    assert above(ATC, "J01CA04").codes == {"J01CA04", "J01CA", "J01C", "J01", "J"}
    assert above(ATC, "J").codes == {"J"}


def test_a_bundled_hierarchy_gives_the_closure() -> None:
    under = below(POU, "HOPERAT").codes
    assert {"HOPERAT", "SYSDEV", "HTEST", "HSYSADMIN", "LABELING"} <= under
    assert "HPAYMT" not in under
    assert above(POU, "HTEST").codes == {"HTEST", "SYSDEV", "HOPERAT"}


@pytest.mark.parametrize(
    ("system", "code", "needle"),
    [
        ("http://snomed.info/sct", "91936005", "not bundled"),
        ("urn:oid:2.16.578.1.12.4.1.1.7651", "8", "not bundled"),  # a flat fragment
        (ATC, "J1", "not a valid ATC code"),
        (POU, "NOSUCH", "has no code"),
        ("http://example.org", "x", "not known"),
    ],
)
def test_what_cannot_be_answered_says_why(system: str, code: str, needle: str) -> None:
    with pytest.raises(SubsumptionError, match=needle):
        below(system, code)


def test_rules_of_a_value_set_with_listed_concepts() -> None:
    rules = membership(f"{VS}kj-procedural-change-type")
    kj_type = "urn:oid:2.16.578.1.12.4.1.1.7651"
    assert rules.includes == (CodeRule(kj_type, frozenset({"8", "9"}), ()),)
    assert rules.excludes == ()


def test_rules_with_an_exclude_and_a_nested_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Evaluated against stored codings in tests/search/test_search_terminology_modifiers.py."""
    url = "https://example.org/fhir/ValueSet/test-atc-without-paracetamol"
    resource = {
        "resourceType": "ValueSet",
        "url": url,
        "status": "active",
        "compose": {
            "include": [{"system": ATC, "valueSet": [f"{VS}kj-allergy-substance"]}],
            "exclude": [{"system": ATC, "concept": [{"code": "N02BE01"}]}],
        },
    }
    monkeypatch.setitem(value_sets(), url, value_set_entry(resource))
    rules = membership(url)
    (include,) = rules.includes
    assert include.system == ATC and include.codes is None
    (nested,) = include.within
    assert {r.system for r in nested.includes} == {
        ATC, "http://snomed.info/sct", "urn:oid:2.16.578.1.12.4.1.1.7514",
    }  # fmt: skip
    assert rules.excludes == (CodeRule(ATC, frozenset({"N02BE01"}), ()),)


def test_unknown_value_set_and_filters_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueSetError, match="not known"):
        membership("https://example.org/ValueSet/none")
    url = "https://example.org/fhir/ValueSet/test-filtered"
    filtered = {"system": ATC, "filter": [{"property": "parent", "op": "=", "value": "J"}]}
    resource = {"resourceType": "ValueSet", "url": url, "compose": {"include": [filtered]}}
    monkeypatch.setitem(value_sets(), url, value_set_entry(resource))
    with pytest.raises(ValueSetError, match="filters"):
        membership(url)
