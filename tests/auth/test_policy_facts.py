"""Policy facts (`store/policy_facts.py`): judged from the pruned copy, every decision and
every audit naming equals the one on the whole resource, and the policy, the services'
access rules and the naming read nothing their declarations do not name."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.policy_corpus import (
    ALL_RULES,
    LABELS,
    PRINCIPALS,
    RULES,
    Bundles,
    Recording,
    codings,
    policy_corpus,
    variants,
)
from fixtures.policykit import NOW, clinician
from samhandling.auth import Principal, ServiceRules, decide
from samhandling.auth.facts import decision_reads, policy_reads
from samhandling.auth.labels import META_READS
from samhandling.fhir.json_codec import parse
from samhandling.interactions.audit_patients import patients_of
from samhandling.interactions.policy_guard import PolicyGuard
from samhandling.store.policy_facts import facts_of, kept_elements, read_facts


@pytest.fixture
def corpus(shared_data: Path, synthea_resources: Bundles) -> list[dict[str, Any]]:
    return policy_corpus(shared_data, synthea_resources)


def _facts(resource: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The facts of `resource` whatever their size (`MAX_SHARE` aside); a resource whose
    every element is kept has none and is judged as it is."""
    document = facts_of(resource["resourceType"], resource, sys.maxsize)
    if document is None:
        kept = kept_elements(resource["resourceType"])
        assert set(resource) <= kept
        return sorted(kept), resource
    kept, pruned = read_facts(resource["resourceType"], document)
    assert kept is not None and kept == kept_elements(resource["resourceType"])
    return sorted(kept), pruned


def _naming(resource: dict[str, Any]) -> tuple[Any, ...]:
    """What `PolicyGuard._observe` takes of a resource shown."""
    version = resource.get("meta", {}).get("versionId")
    return resource.get("resourceType"), resource.get("id"), version, patients_of(resource)


def _judgement(principal: Principal, rules: ServiceRules, resource: dict[str, Any]) -> Any:
    decision = decide(principal, "search", None, resource=resource, service_rules=rules, now=NOW)
    return decision, _naming(resource)


def test_every_decision_and_naming_is_the_same_on_the_facts(corpus: list[dict[str, Any]]) -> None:
    judged = 0
    for number, resource in enumerate(corpus):
        for variant in variants(resource, number):
            kept, pruned = _facts(variant)
            assert set(pruned) <= set(kept)
            for principal in PRINCIPALS:
                for rules in RULES:
                    whole = _judgement(principal, rules, variant)
                    assert _judgement(principal, rules, pruned) == whole, variant["id"]
                    judged += 1
    assert judged > 20_000


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_decisions_on_facts_equal_those_on_whole_resources(
    corpus: list[dict[str, Any]], data: st.DataObject
) -> None:
    resource = copy.deepcopy(data.draw(st.sampled_from(corpus)))
    meta = resource.setdefault("meta", {})
    meta["security"] = data.draw(st.lists(st.sampled_from(LABELS), max_size=3).map(codings))
    resource["status"] = data.draw(st.sampled_from(["final", "entered-in-error", "active"]))
    resource["issued"] = data.draw(st.sampled_from(["2025-05-01T10:00:00Z", "2025-06-01", 3]))
    principal = data.draw(st.sampled_from(PRINCIPALS))
    stored = parse(json.dumps(resource).encode())  # as a search reads it back
    _, pruned = _facts(stored)
    assert _judgement(principal, ALL_RULES, pruned) == _judgement(principal, ALL_RULES, stored)


Reader = Callable[[Recording], object]


def test_the_policy_rules_and_naming_read_only_what_they_declare(
    corpus: list[dict[str, Any]],
) -> None:
    for principal in PRINCIPALS:
        guard = PolicyGuard(principal, service_rules=ALL_RULES)
        for number, resource in enumerate(corpus):
            for variant in variants(resource, number):
                rtype = variant["resourceType"]
                declared = guard.judged_elements(rtype)
                assert declared is not None  # no shipped rule reads anything
                assert declared <= kept_elements(rtype)  # the writer keeps them all
                recording = Recording(variant)
                _judgement(principal, ALL_RULES, recording)
                assert recording.read <= declared, (rtype, recording.read - declared)


def test_a_decision_reads_only_its_precise_elements(corpus: list[dict[str, Any]]) -> None:
    """What `decide` reads, by type and kind of caller, lies within `decision_reads` (a
    Patient's `id`, no other type's; of `meta` only its labels), itself within
    `policy_reads`: a request's guard remembers decisions by those elements
    (`interactions/decision_memo.py`), so nothing else may tell two resources apart."""
    judged = 0
    for number, resource in enumerate(corpus):
        for variant in variants(resource, number):
            for principal in PRINCIPALS:
                for rules in RULES:
                    _check_precise_reads(principal, rules, variant)
                    judged += 1
    assert judged > 20_000


def _check_precise_reads(principal: Principal, rules: ServiceRules, resource: Any) -> None:
    rtype = resource["resourceType"]
    precise = decision_reads(principal, rtype, rules.access_rules)
    assert precise is not None
    assert precise <= (policy_reads(principal, rtype, rules.access_rules) or set())
    assert "id" not in precise or rtype == "Patient"
    recording = Recording(resource, nested=("meta",))
    decide(principal, "search", None, resource=recording, service_rules=rules, now=NOW)
    read = recording.read - {f"meta.{name}" for name in META_READS}
    assert read <= precise, (rtype, principal.kind, read - precise)


def test_a_scope_with_a_query_needs_the_whole_resource() -> None:
    narrowed = clinician("user/Observation.rs?category=" + "laboratory")
    guard = PolicyGuard(narrowed, service_rules=ALL_RULES)
    assert guard.judged_elements("Observation") is None
    assert guard.judged_elements("Condition") is not None


def test_a_rule_that_does_not_declare_makes_its_types_unfactored() -> None:
    class Undeclared:
        def refusal(self, request: Any) -> None:
            return None

    rules = ServiceRules(access_rules=(*ALL_RULES.access_rules, Undeclared()))  # type: ignore[arg-type]
    assert PolicyGuard(clinician(), service_rules=rules).judged_elements("Observation") is None


def test_facts_are_kept_only_when_much_smaller_than_the_content() -> None:
    """An Observation under the lab-results rule keeps nearly all of itself: no facts
    (judged from its content); with a narrative beside it, its facts are kept."""
    bare = {
        "resourceType": "Observation",
        "id": "o1",
        "meta": {"versionId": "1", "lastUpdated": "2026-12-06T00:00:00Z"},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {"value": 72, "unit": "/min"},
    }
    assert facts_of("Observation", bare, len(orjson.dumps(bare))) is None
    narrated = {**bare, "text": {"status": "generated", "div": "<div>" + "puls " * 80 + "</div>"}}
    document = facts_of("Observation", narrated, len(orjson.dumps(narrated)))
    assert document is not None
    assert "text" not in read_facts("Observation", document)[1]
    everything_kept = {"resourceType": "Patient", "id": "p1"}
    assert facts_of("Patient", everything_kept, 10_000) is None


def test_facts_kept_by_another_set_of_elements_are_not_used() -> None:
    """A document whose tag names another kept set (an older release's, a compartment
    parameter changed since) tells nothing of what it lacks: the reader gets no kept set."""
    narrated = {
        "resourceType": "Encounter",
        "id": "e1",
        "subject": {"reference": "Patient/p1"},
        "text": {"status": "generated", "div": "<div>" + "besøk " * 80 + "</div>"},
    }
    document = facts_of("Encounter", narrated, len(orjson.dumps(narrated)))
    assert document is not None
    assert read_facts("Encounter", document)[0] == kept_elements("Encounter")
    _, pruned = orjson.loads(document)
    foreign = orjson.dumps(["000000000000", pruned])
    assert read_facts("Encounter", foreign)[0] is None
