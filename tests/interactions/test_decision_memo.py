"""A request's decisions remembered by what they read (`interactions/decision_memo.py`):
over Synthea records × labels × entered in error × principals, with and without the
services' rules, in any order, every remembered decision is the one `decide` makes on the
resource itself, and the guard keeps the same decisions and writes the same audit record."""

from __future__ import annotations

import contextlib
import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.policy_corpus import ALL_RULES, LABELS, PRINCIPALS, RULES, Bundles, policy_corpus
from fixtures.policykit import clinician
from samhandling.audit.records import AuditRecord
from samhandling.auth import Principal, ServiceRules, decide
from samhandling.fhir.outcome import FhirError
from samhandling.interactions.decision_memo import DecisionMemo
from samhandling.interactions.policy_guard import PolicyGuard


def attested_now(principal: Principal) -> Principal:
    """`principal` with its attestation five minutes old now (the guard decides now)."""
    if principal.attestation is None or principal.attestation.attested_at is None:
        return principal
    moment = datetime.now(UTC) - timedelta(minutes=5)
    return replace(principal, attestation=replace(principal.attestation, attested_at=moment))


NOW_PRINCIPALS = [attested_now(p) for p in PRINCIPALS]


class Fresh(DecisionMemo):
    """Decides every resource (the guard as it was)."""

    def _key(self, resource: dict[str, Any]) -> bytes | None:
        return None


def guards(principal: Principal, rules: ServiceRules) -> tuple[PolicyGuard, PolicyGuard]:
    """A guard that remembers, and one that decides every resource."""
    fresh = PolicyGuard(principal, service_rules=rules)
    fresh.memo = Fresh(principal, rules)
    return PolicyGuard(principal, service_rules=rules), fresh


@pytest.fixture
def corpus(shared_data: Path, synthea_resources: Bundles) -> list[dict[str, Any]]:
    return policy_corpus(shared_data, synthea_resources)


@st.composite
def variant(draw: st.DrawFn, corpus: list[dict[str, Any]]) -> dict[str, Any]:
    """A resource of the corpus, perhaps labelled or entered in error (often not: alike)."""
    resource = copy.deepcopy(draw(st.sampled_from(corpus)))
    labels = draw(st.lists(st.sampled_from(LABELS), max_size=2) | st.just([]))
    if labels:
        security = [{"system": s, "code": c} for s, c in labels]
        resource["meta"] = {**resource.get("meta", {}), "security": security}
    if draw(st.integers(0, 5)) == 0:
        resource["status"] = "entered-in-error"
    return resource


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_remembered_decisions_are_fresh_ones(
    corpus: list[dict[str, Any]], data: st.DataObject
) -> None:
    principal = data.draw(st.sampled_from(NOW_PRINCIPALS))
    rules = data.draw(st.sampled_from(RULES))
    remembered, fresh = guards(principal, rules)
    for guard in (remembered, fresh):
        with contextlib.suppress(FhirError):  # a refused search: judged all the same
            guard.search_restriction(None)
    resources = data.draw(st.lists(variant(corpus), min_size=1, max_size=40))
    for resource in resources:
        counting = data.draw(st.booleans())
        for guard in (remembered, fresh):
            judged = guard.would_show if counting else _judged_and_shown(guard)
            assert judged("search", resource) == fresh.would_show("search", resource)
        latest = decide(principal, "search", None, resource=resource, service_rules=rules)
        assert remembered.memo.decide("search", resource) == latest
    assert remembered.decisions == fresh.decisions
    assert _record(remembered) == _record(fresh)


def _judged_and_shown(guard: PolicyGuard) -> Any:
    """The search's `hidden` test, and the resource noted as shown when visible."""

    def judged(_: str, resource: dict[str, Any]) -> bool:
        hidden = guard._hidden_from_search(resource)
        if not hidden:
            guard._observe(resource)
        return not hidden

    return judged


def _record(guard: PolicyGuard) -> AuditRecord:
    record = AuditRecord("search", 200, 0)
    guard.describe(record)
    return record


def test_alike_resources_are_decided_once() -> None:
    observations = [
        {
            "resourceType": "Observation",
            "id": f"o{n}",
            "meta": {"versionId": str(n), "lastUpdated": f"2026-01-01T00:00:{n % 60:02}Z"},
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": str(n)}]},
            "issued": f"2026-01-{1 + n % 28:02}T10:00:00Z",
            "subject": {"reference": "Patient/p1"},
        }
        for n in range(150)
    ]
    for principal in (attested_now(clinician()), *NOW_PRINCIPALS[-2:]):
        guard = PolicyGuard(principal, service_rules=ALL_RULES)
        for resource in observations:
            guard._hidden_from_search(resource)
            guard.would_show("search", resource)
        assert guard.memo.made == 1, principal.kind
        assert len(guard.decisions) == 150


@pytest.mark.parametrize(
    "principal",
    [
        attested_now(clinician(purpose="BTG", reason="akutt")),  # emergency access
        attested_now(clinician("user/Observation.rs?category=laboratory")),  # a scope's query
    ],
    ids=["emergency", "scope-query"],
)
def test_each_resource_is_decided_where_the_policy_may_read_anything(
    principal: Principal,
) -> None:
    guard = PolicyGuard(principal, service_rules=ALL_RULES)
    for n in range(20):
        resource = {"resourceType": "Observation", "id": f"o{n}", "status": "final"}
        guard._hidden_from_search({**resource, "subject": {"reference": "Patient/p1"}})
    assert guard.memo.made == 20


def test_each_resource_is_decided_under_an_undeclared_rule() -> None:
    class Undeclared:
        def refusal(self, request: Any) -> None:
            return None

    rules = ServiceRules(access_rules=(*ALL_RULES.access_rules, Undeclared()))  # type: ignore[arg-type]
    guard = PolicyGuard(attested_now(clinician()), service_rules=rules)
    for n in range(20):
        guard.would_show("search", {"resourceType": "Observation", "id": f"o{n}"})
    assert guard.memo.made == 20
    guard.would_show("search", {"resourceType": "Organization", "id": "org"})
    assert guard.memo.made == 21
