"""Token :below, :above, :in and :not-in, answered with the bundled terminology.

The data is chosen so that a wrong implementation fails: codes of another system that
share the ATC prefix, the matching coding second in its CodeableConcept, a code that
shares a prefix only as text (`J01CA04` is not under `J01CE`), resources without a code.
"""

from __future__ import annotations

from typing import Any

import pytest
from searchkit import SearchStore

from samhandling.fhir.outcome import FhirError
from samhandling.terminology.content import value_set_entry, value_sets

ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
POU = "urn:oid:2.16.840.1.113883.1.11.20448"
KJ_TYPE = "urn:oid:2.16.578.1.12.4.1.1.7651"
VS = "https://samhandling.no/fhir/ValueSet/"


def allergy(rid: str, *codings: tuple[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {"resourceType": "AllergyIntolerance", "id": rid}
    found["patient"] = {"reference": "Patient/p"}
    if codings:
        found["code"] = {"coding": [{"system": s, "code": c} for s, c in codings]}
    return found


@pytest.fixture
def reactions(store: SearchStore) -> SearchStore:
    store.put(
        allergy("amoxicillin", (ATC, "J01CA04")),
        allergy("penicillin-v", (SNOMED, "294505008"), (ATC, "J01CE02")),  # ATC second
        allergy("penicillins", (ATC, "J01C")),
        allergy("cefalexin", (ATC, "J01DB01")),
        allergy("paracetamol", (ATC, "N02BE01")),
        allergy("not-atc", ("http://example.org/codes", "J01CA04")),
        allergy("peanut", (SNOMED, "762952008")),
        allergy("uncoded"),
    )
    return store


def test_below_atc_takes_the_code_and_everything_under_it(reactions: SearchStore) -> None:
    found = reactions.found("AllergyIntolerance", f"code:below={ATC}|J01C")
    assert found == {"amoxicillin", "penicillin-v", "penicillins"}
    assert reactions.found("AllergyIntolerance", f"code:below={ATC}|J01CE") == {"penicillin-v"}
    assert reactions.found("AllergyIntolerance", f"code:below={ATC}|J") == {
        "amoxicillin",
        "penicillin-v",
        "penicillins",
        "cefalexin",
    }


def test_above_atc_takes_the_code_and_its_ancestors(reactions: SearchStore) -> None:
    found = reactions.found("AllergyIntolerance", f"code:above={ATC}|J01CA04")
    assert found == {"amoxicillin", "penicillins"}


def test_below_or_values_and_a_combination(reactions: SearchStore) -> None:
    query = f"code:below={ATC}|J01CE,{ATC}|N02"
    assert reactions.found("AllergyIntolerance", query) == {"penicillin-v", "paracetamol"}
    both = f"code:below={ATC}|J01&code:below={ATC}|J01C"
    assert reactions.found("AllergyIntolerance", both) == {
        "amoxicillin",
        "penicillin-v",
        "penicillins",
    }


def test_below_walks_a_bundled_hierarchy(store: SearchStore) -> None:
    def observation(rid: str, code: str) -> dict[str, Any]:
        coding = {"coding": [{"system": POU, "code": code}]}
        return {"resourceType": "Observation", "id": rid, "status": "final", "code": coding}

    store.put(
        observation("operations", "HOPERAT"),
        observation("development", "SYSDEV"),
        observation("testing", "HTEST"),  # HOPERAT > SYSDEV > HTEST
        observation("payment", "HPAYMT"),
    )
    below = store.found("Observation", f"code:below={POU}|SYSDEV")
    assert below == {"development", "testing"}
    assert store.found("Observation", f"code:below={POU}|HOPERAT") == {
        "operations",
        "development",
        "testing",
    }
    above = store.found("Observation", f"code:above={POU}|HTEST")
    assert above == {"operations", "development", "testing"}


def test_in_a_value_set_of_whole_systems(reactions: SearchStore) -> None:
    found = reactions.found("AllergyIntolerance", f"code:in={VS}kj-allergy-substance")
    assert found == {
        "amoxicillin",
        "penicillin-v",
        "penicillins",
        "cefalexin",
        "paracetamol",
        "peanut",
    }


def test_not_in_is_the_complement_with_resources_without_a_code(reactions: SearchStore) -> None:
    found = reactions.found("AllergyIntolerance", f"code:not-in={VS}kj-allergy-substance")
    assert found == {"not-atc", "uncoded"}


def test_in_a_value_set_listing_concepts(store: SearchStore) -> None:
    def observation(rid: str, code: str) -> dict[str, Any]:
        coding = {"coding": [{"system": KJ_TYPE, "code": code}]}
        return {"resourceType": "Observation", "id": rid, "status": "final", "code": coding}

    store.put(observation("limit", "8"), observation("other", "9"), observation("implant", "6"))
    query = f"code:in={VS}kj-procedural-change-type"
    assert store.found("Observation", query) == {"limit", "other"}
    not_in = f"code:not-in={VS}kj-procedural-change-type"
    assert store.found("Observation", not_in) == {"implant"}


def test_in_honours_excludes_and_nested_value_sets(
    reactions: SearchStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value set with an exclude, intersected with a bundled one (not shipped: added here)."""
    url = "https://example.org/fhir/ValueSet/test-antibacterials-without-cefalexin"
    resource = {
        "resourceType": "ValueSet",
        "url": url,
        "status": "active",
        "compose": {
            "include": [{"system": ATC, "valueSet": [f"{VS}kj-allergy-substance"]}],
            "exclude": [{"system": ATC, "concept": [{"code": "J01DB01"}, {"code": "N02BE01"}]}],
        },
    }
    monkeypatch.setitem(value_sets(), url, value_set_entry(resource))
    found = reactions.found("AllergyIntolerance", f"code:in={url}")
    assert found == {"amoxicillin", "penicillin-v", "penicillins"}


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        (f"code:below={SNOMED}|91936005", "hierarchy of SNOMED CT is not bundled"),
        (f"code:below={ATC}|j01c", "not a valid ATC code"),
        ("code:below=J01C", "system|code"),
        (f"code:above={POU}|NOSUCH", "has no code 'NOSUCH'"),
        ("code:below=http://example.org/codes|A", "not known to this server"),
        ("code:in=https://example.org/ValueSet/nope", "not known to this server"),
    ],
)
def test_questions_the_terminology_cannot_answer_are_refused(
    reactions: SearchStore, query: str, needle: str
) -> None:
    with pytest.raises(FhirError) as caught:
        reactions.bundle("AllergyIntolerance", query)
    assert caught.value.status == 400
    assert caught.value.issues[0].code == "not-supported"
    assert needle in caught.value.issues[0].diagnostics


def test_lenient_ignores_an_unanswerable_modifier_and_says_so(reactions: SearchStore) -> None:
    query = f"code:below={SNOMED}|91936005&code={ATC}|N02BE01"
    bundle = reactions.bundle("AllergyIntolerance", query, lenient=True)
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in bundle["entry"]]
    assert ("match", "AllergyIntolerance") in modes
    assert sum(1 for mode, _ in modes if mode == "match") == 1
    outcome = next(e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome")
    assert outcome["issue"][0]["expression"] == ["code:below"]
