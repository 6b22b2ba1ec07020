"""A search decides once per shape of what the policy reads of the resources it judges
(`interactions/decision_memo.py`): a page of the same patient's Observations, alike in
labels and status, is one decision, with the same answer and audit record as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest
from searchkit import BASE, SearchStore

from fixtures.policykit import clinician
from samhandling.auth import Principal, ServiceRules, decide, parse_scopes
from samhandling.auth.labels import NO_9603
from samhandling.interactions import decision_memo, search
from samhandling.interactions.decision_memo import DecisionMemo
from samhandling.interactions.policy_guard import PolicyGuard
from samhandling.services import default_platform
from samhandling.store.database import read_connection

RULES = default_platform().policy_rules()
N = 100  # a first page, and the rest judged to count the `total` (`paging.TOTAL_THRESHOLD`)


def _system() -> Principal:
    return Principal(
        kind="system",
        issuer="https://helseid.test",
        subject=None,
        scopes=parse_scopes("system/*.rs"),
    )


def _clinician() -> Principal:
    """Attested five minutes ago (the guard decides at the time it runs)."""
    principal = clinician()
    assert principal.attestation is not None
    attested = principal.attestation.__class__(
        **{
            **principal.attestation.__dict__,
            "attested_at": datetime.now(UTC) - timedelta(minutes=5),
        }
    )
    return principal.__class__(**{**principal.__dict__, "attestation": attested})


def _observation(n: int, **extra: Any) -> dict[str, Any]:
    """Each its own id, code, time and version; alike in all the policy reads."""
    return {
        "resourceType": "Observation",
        "id": f"o{n:03}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": f"{1000 + n}-{n % 10}"}]},
        "subject": {"reference": "Patient/p1"},
        "issued": f"2026-01-{1 + n % 28:02}T10:00:00Z",
        "valueQuantity": {"value": n, "unit": "/min"},
        **extra,
    }


class Fresh(DecisionMemo):
    """Decides every resource (the guard as it was)."""

    def _key(self, resource: dict[str, Any]) -> bytes | None:
        return None


def _search(store: SearchStore, guard: PolicyGuard, query: str = "") -> dict[str, Any]:
    restriction = guard.search_restriction("Observation")
    with read_connection(store.engine) as connection:
        bundle = search.search(
            connection, "Observation", parse_qsl(query), BASE, restriction=restriction,
            stored_bytes=True,
        )  # fmt: skip
    return bundle


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The resources the memo had `decide` judge."""
    judged: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        judged.append(kwargs["resource"]["id"])
        return decide(*args, **kwargs)

    monkeypatch.setattr(decision_memo, "decide", counted)
    return judged


@pytest.mark.parametrize("principal", [_system(), _clinician()], ids=["system", "clinician"])
def test_a_page_of_alike_resources_is_one_decision(
    store: SearchStore, made: list[str], principal: Principal
) -> None:
    store.put(*(_observation(n) for n in range(N)))
    guard = PolicyGuard(principal, service_rules=RULES)
    bundle = _search(store, guard)
    assert bundle["total"] == N and len(bundle["entry"]) == 50
    assert len(made) == 1  # without the memo: every resource judged (> 100)
    assert len(guard.decisions) > 50 and all(d.allowed for d in guard.decisions)


@pytest.mark.parametrize("rules", [ServiceRules(), RULES], ids=["platform", "services"])
def test_the_answer_and_record_are_those_of_fresh_decisions(
    store: SearchStore, rules: ServiceRules
) -> None:
    blocked = {"meta": {"security": [{"system": NO_9603, "code": "NORS"}]}}
    store.put(
        *(_observation(n) for n in range(N - 30)),
        *(_observation(n, **blocked) for n in range(N - 30, N - 10, 2)),
        *(_observation(n, status="entered-in-error") for n in range(N - 29, N - 10, 2)),
        *(_observation(n, subject={"reference": "Patient/p2"}) for n in range(N - 10, N)),
    )
    made = 0
    for query in ("", "_count=10", "_total=accurate", "_sort=-_id"):
        remembered = PolicyGuard(_system(), service_rules=rules)
        fresh = PolicyGuard(_system(), service_rules=rules)
        fresh.memo = Fresh(fresh.principal, fresh.service_rules)
        answer = orjson.dumps(_search(store, remembered, query))
        assert answer == orjson.dumps(_search(store, fresh, query))
        assert remembered.decisions == fresh.decisions
        assert remembered.entities == fresh.entities
        assert remembered.patients == fresh.patients
        assert fresh.memo.made > 50
        made += remembered.memo.made
    assert made <= 4 * 4  # per search: alike, blocked, entered in error, p2's
