"""Value-set evaluation: the bundled kj-* sets, includes of other sets, excludes, expansion."""

from __future__ import annotations

from typing import Any

import pytest

from samhandling.terminology import (
    ATC_SYSTEM,
    SNOMED_SYSTEM,
    VALUE_SET_BASE,
    ValueSetError,
    expand,
    validate_in_value_set,
    value_set,
    volven_system,
)
from samhandling.terminology.content import value_set_entry, value_sets

V7497, V7498, V7514, V7651 = (volven_system(n) for n in (7497, 7498, 7514, 7651))
REACTION = VALUE_SET_BASE + "kj-reaction-manifestation"
SUBSTANCE = VALUE_SET_BASE + "kj-allergy-substance"
TEST_BASE = "https://test.invalid/ValueSet/"


def install(monkeypatch: pytest.MonkeyPatch, name: str, compose: dict[str, Any]) -> str:
    """Make a ValueSet with this compose known for one test; returns its url."""
    url = TEST_BASE + name
    resource = {"resourceType": "ValueSet", "url": url, "name": name, "compose": compose}
    monkeypatch.setitem(value_sets(), url, value_set_entry(resource))
    return url


REQUIRED_SETS = {
    "kj-reaction-manifestation": {V7497},
    "kj-information-source": {V7498},
    "kj-allergy-substance": {ATC_SYSTEM, SNOMED_SYSTEM, V7514},
    "kj-critical-condition-reason": {volven_system(7513)},
    "kj-ongoing-treatment": {volven_system(7517), SNOMED_SYSTEM},
    "kj-implant": {volven_system(7518), SNOMED_SYSTEM},
    "kj-procedural-change": {volven_system(7522), SNOMED_SYSTEM},
    "kj-category": {volven_system(7650)},
    "kj-type": {V7651},
}


@pytest.mark.parametrize(("name", "systems"), sorted(REQUIRED_SETS.items()))
def test_the_critical_information_value_sets_are_bundled(name: str, systems: set[str]) -> None:
    resource = value_set(VALUE_SET_BASE + name)
    assert resource is not None and resource["resourceType"] == "ValueSet"
    assert {i["system"] for i in resource["compose"]["include"]} == systems


def test_a_whole_volven_system_is_included() -> None:
    for code in [str(n) for n in range(1, 21)]:
        assert validate_in_value_set(REACTION, V7497, code).valid, code
    check = validate_in_value_set(REACTION, V7497, "21")
    assert not check.valid and check.message == "7497 has no code '21'"


def test_a_code_of_another_system_is_not_in_the_set() -> None:
    check = validate_in_value_set(REACTION, V7498, "1")
    assert not check.valid
    assert check.message is not None and "is not in the value set" in check.message


def test_the_allergy_substance_set_takes_atc_snomed_and_other_allergens() -> None:
    assert validate_in_value_set(SUBSTANCE, ATC_SYSTEM, "J01CE02").display == (
        "phenoxymethylpenicillin"
    )
    assert validate_in_value_set(SUBSTANCE, V7514, "14", "Latex").valid
    assert validate_in_value_set(SUBSTANCE, SNOMED_SYSTEM, "764146007").valid
    structural = validate_in_value_set(SUBSTANCE, SNOMED_SYSTEM, "22298006")
    assert structural.valid and "structure only" in str(structural.message)
    bad = validate_in_value_set(SUBSTANCE, SNOMED_SYSTEM, "22298007")
    assert not bad.valid and "Verhoeff" in str(bad.message)
    assert not validate_in_value_set(SUBSTANCE, V7497, "1").valid


def test_a_wrong_display_is_a_warning_in_a_value_set_too() -> None:
    check = validate_in_value_set(SUBSTANCE, V7514, "14", "Melk")
    assert check.valid and check.display == "Latex"
    assert "expected 'Latex'" in str(check.warning)
    norwegian = validate_in_value_set(SUBSTANCE, ATC_SYSTEM, "J01CE02", "Fenoksymetylpenicillin")
    assert norwegian.valid and norwegian.warning is None


def test_a_concept_list_include_takes_only_the_listed_codes() -> None:
    url = VALUE_SET_BASE + "kj-procedural-change-type"
    assert validate_in_value_set(url, V7651, "8").valid
    assert validate_in_value_set(url, V7651, "9").valid
    assert not validate_in_value_set(url, V7651, "1").valid


def test_an_unknown_value_set_is_refused_clearly() -> None:
    check = validate_in_value_set(VALUE_SET_BASE + "nope", V7497, "1")
    assert not check.valid and "'https://samhandling.no/fhir/ValueSet/nope' is not known" in str(
        check.message
    )


def test_an_exclude_removes_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = {
        "include": [{"system": V7497}],
        "exclude": [{"system": V7497, "concept": [{"code": "20"}, {"code": "19"}]}],
    }
    url = install(monkeypatch, "severe-reactions", compose)
    assert validate_in_value_set(url, V7497, "1").valid
    assert not validate_in_value_set(url, V7497, "20").valid
    assert [c.code for c in expand(url).concepts] == [str(n) for n in range(1, 19)]


def test_a_value_set_include_takes_the_codes_of_that_set(monkeypatch: pytest.MonkeyPatch) -> None:
    url = install(monkeypatch, "reactions-again", {"include": [{"valueSet": [REACTION]}]})
    assert validate_in_value_set(url, V7497, "3").valid
    assert not validate_in_value_set(url, V7498, "3").valid
    assert len(expand(url).concepts) == 20


def test_several_value_sets_in_one_include_intersect(monkeypatch: pytest.MonkeyPatch) -> None:
    first = install(
        monkeypatch,
        "first",
        {"include": [{"system": V7497, "concept": [{"code": "1"}, {"code": "2"}]}]},
    )
    second = install(
        monkeypatch,
        "second",
        {"include": [{"system": V7497, "concept": [{"code": "2"}, {"code": "3"}]}]},
    )
    url = install(monkeypatch, "both", {"include": [{"valueSet": [first, second]}]})
    assert [c.code for c in expand(url).concepts] == ["2"]
    assert validate_in_value_set(url, V7497, "2").valid
    assert not validate_in_value_set(url, V7497, "1").valid


def test_a_system_include_narrowed_by_a_value_set(monkeypatch: pytest.MonkeyPatch) -> None:
    subset = install(
        monkeypatch, "subset", {"include": [{"system": V7497, "concept": [{"code": "4"}]}]}
    )
    url = install(monkeypatch, "narrowed", {"include": [{"system": V7497, "valueSet": [subset]}]})
    assert validate_in_value_set(url, V7497, "4").valid
    assert not validate_in_value_set(url, V7497, "5").valid


def test_an_exclude_of_a_value_set(monkeypatch: pytest.MonkeyPatch) -> None:
    url = install(
        monkeypatch,
        "not-reactions",
        {"include": [{"system": V7497}, {"system": V7498}], "exclude": [{"valueSet": [REACTION]}]},
    )
    assert validate_in_value_set(url, V7498, "1").valid
    assert not validate_in_value_set(url, V7497, "1").valid
    assert {c.system for c in expand(url).concepts} == {V7498}


def test_a_display_given_by_the_value_set_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = {"include": [{"system": V7497, "concept": [{"code": "5", "display": "Asthma"}]}]}
    url = install(monkeypatch, "english", compose)
    assert validate_in_value_set(url, V7497, "5", "asthma").valid
    assert validate_in_value_set(url, V7497, "5", "Astma").valid
    assert validate_in_value_set(url, V7497, "5", "asthma").warning is None
    assert validate_in_value_set(url, V7497, "5", "Eksem").warning is not None
    assert expand(url).concepts[0].display == "Asthma"


def test_filters_cannot_be_evaluated_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = {
        "include": [
            {"system": ATC_SYSTEM, "filter": [{"property": "concept", "op": "is-a", "value": "J"}]}
        ]
    }
    url = install(monkeypatch, "filtered", compose)
    check = validate_in_value_set(url, ATC_SYSTEM, "J01CA04")
    assert not check.valid and "filters are not supported" in str(check.message)
    with pytest.raises(ValueSetError) as refused:
        expand(url)
    assert refused.value.code == "not-supported"


def test_cyclic_value_sets_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, "a", {"include": [{"valueSet": [TEST_BASE + "b"]}]})
    url = install(monkeypatch, "b", {"include": [{"valueSet": [TEST_BASE + "a"]}]})
    assert not validate_in_value_set(url, V7497, "1").valid
    with pytest.raises(ValueSetError):
        expand(url)


def test_expanding_a_volven_set_lists_every_bundled_code() -> None:
    expansion = expand(VALUE_SET_BASE + "kj-type")
    assert expansion.closed
    assert [(c.code, c.display) for c in expansion.concepts][:2] == [
        ("1", "Legemiddelreaksjon"),
        ("2", "Annen allergi"),
    ]
    assert len(expansion.concepts) == 10


def test_expanding_atc_or_snomed_wholesale_is_refused() -> None:
    with pytest.raises(ValueSetError) as refused:
        expand(SUBSTANCE)
    assert refused.value.code == "too-costly"
    with pytest.raises(ValueSetError):
        expand(VALUE_SET_BASE + "kj-critical-condition")


def test_a_filter_narrows_a_wholesale_expansion_to_bundled_concepts() -> None:
    expansion = expand(SUBSTANCE, "  PENICILLIN ")
    assert not expansion.closed
    codes = {(c.system, c.code) for c in expansion.concepts}
    assert (ATC_SYSTEM, "J01CE02") in codes  # phenoxymethylpenicillin
    assert (SNOMED_SYSTEM, "764146007") in codes  # Penicillin (substance)
    assert (ATC_SYSTEM, "J01CA04") not in codes  # amoxicillin does not contain the text
    assert all("penicillin" in c.display.lower() for c in expansion.concepts if c.display)


def test_a_filter_matches_codes_and_designations() -> None:
    assert [c.code for c in expand(SUBSTANCE, "J01CA0").concepts] == [
        "J01CA01",
        "J01CA04",
        "J01CA08",
    ]
    latex = expand(SUBSTANCE, "latex").concepts
    assert (V7514, "14") in {(c.system, c.code) for c in latex}


def test_expanding_an_unknown_value_set_is_an_error() -> None:
    with pytest.raises(ValueSetError) as refused:
        expand(VALUE_SET_BASE + "nope")
    assert refused.value.code == "not-found"
