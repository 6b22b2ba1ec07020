"""The register of powers of attorney: when a grant is current (fixed clock), and the policy
acting on the register's answer — a token's power-of-attorney claim alone opens nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fixtures.policykit import CHILD11, POA, SELF, citizen, res
from samhandling.auth import ActingFor, GrantStanding, decide
from samhandling.identifiers.identifier_systems import DNR_SYSTEM, FNR_SYSTEM
from samhandling.services.identity.powers_of_attorney import (
    NOT_GIVEN,
    REVOKED_OR_EXPIRED,
    attorney_identifier,
    grant_refusal,
    is_current,
    period_covers,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


def grant(
    grantor: str = "g",
    *,
    code: str = "POWATT",
    active: bool = True,
    period: dict[str, str] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "id": "rp",
        "active": active,
        "patient": {"reference": f"Patient/{grantor}"},
        "identifier": [{"system": FNR_SYSTEM, "value": "14836815271"}],
        "relationship": [{"coding": [{"system": ROLE, "code": code}]}],
    }
    if period is not None:
        resource["period"] = period
    return resource


@pytest.mark.parametrize(
    ("period", "covers"),
    [
        ({}, True),
        ({"start": "2025-06-01T11:59:59Z"}, True),
        ({"start": "2025-06-01T12:00:01Z"}, False),  # not begun yet
        ({"end": "2025-06-01"}, True),  # an end date includes its whole day (R4 Period)
        ({"end": "2025-05-31"}, False),  # expired yesterday
        ({"end": "2025-06-01T12:00:00Z"}, True),  # the end instant itself still counts
        ({"end": "2025-06-01T11:59:59Z"}, False),
        ({"start": "2025-01-01", "end": "2025-12-31"}, True),
        ({"start": "not a date"}, False),  # a malformed bound covers nothing
        ({"end": "2025-13-01"}, False),
    ],
)
def test_a_period_covers_now(period: dict[str, str], covers: bool) -> None:
    assert period_covers(period, NOW) is covers


def test_a_grant_is_current_only_active_from_the_grantor_as_a_power_of_attorney() -> None:
    assert is_current(grant(), "g", NOW)
    assert is_current(grant(code="HPOWATT"), "g", NOW)  # a kind of POWATT
    assert not is_current(grant(active=False), "g", NOW)  # revoked
    assert not is_current({**grant(), "active": None}, "g", NOW)  # active must be true
    assert not is_current(grant("someone-else"), "g", NOW)
    assert not is_current(grant(code="NBOR"), "g", NOW)  # a neighbour acts for nobody
    assert not is_current(grant(code="PRN"), "g", NOW)
    assert not is_current(grant(period={"end": "2025-05-31"}), "g", NOW)


def test_the_refusal_says_whether_a_grant_lapsed_or_never_existed() -> None:
    assert grant_refusal([grant()], "g", NOW) is None
    lapsed = [grant(active=False), grant(period={"end": "2025-05-31"})]
    assert grant_refusal(lapsed, "g", NOW) == REVOKED_OR_EXPIRED
    assert grant_refusal([*lapsed, grant()], "g", NOW) is None  # a newer grant counts
    assert grant_refusal([grant("other")], "g", NOW) == NOT_GIVEN
    assert grant_refusal([], "g", NOW) == NOT_GIVEN
    # the same grant is current on its last day and refused the day after
    bounded = [grant(period={"end": "2025-06-01"})]
    assert grant_refusal(bounded, "g", NOW) is None
    assert grant_refusal(bounded, "g", NOW + timedelta(days=1)) == REVOKED_OR_EXPIRED


def test_a_d_number_is_named_in_its_own_system() -> None:
    assert attorney_identifier("14836815271")["system"] == FNR_SYSTEM
    assert attorney_identifier("41018012345")["system"] == DNR_SYSTEM


def _with_grant(standing: GrantStanding | None) -> Any:
    principal = citizen()
    acts = tuple(
        replace(a, grant=standing) if a.relation == "power-of-attorney" else a
        for a in principal.acts_for
    )
    return replace(principal, acts_for=acts)


def test_the_policy_allows_a_power_of_attorney_only_on_the_registers_word() -> None:
    document = res("DocumentReference", POA)
    confirmed = decide(
        _with_grant(GrantStanding(None)), "read", "DocumentReference", resource=document, now=NOW
    )
    assert confirmed.allowed
    unchecked = decide(_with_grant(None), "read", "DocumentReference", resource=document, now=NOW)
    assert not unchecked.allowed and unchecked.rule == "citizen.representation"
    assert "not consulted" in unchecked.reason
    lapsed = _with_grant(GrantStanding(REVOKED_OR_EXPIRED))
    refused = decide(lapsed, "read", "DocumentReference", resource=document, now=NOW)
    assert not refused.allowed and refused.reason == REVOKED_OR_EXPIRED
    assert refused.conceal  # answered as if it did not exist
    search = decide(lapsed, "search", "Observation", now=NOW)
    assert search.patient_ids is not None and POA not in search.patient_ids
    assert SELF in search.patient_ids  # the citizen's own record stays reachable


def test_a_parents_rights_do_not_depend_on_the_register_of_powers_of_attorney() -> None:
    principal = _with_grant(None)  # no power of attorney confirmed
    child = res("Observation", CHILD11)
    assert decide(principal, "read", "Observation", resource=child, now=NOW).allowed
    parent = next(a for a in principal.acts_for if a.relation == "parent")
    assert parent.grant is None and isinstance(parent, ActingFor)
    # and a young child's age still rules: the same parent from the child's 16th birthday
    older = replace(parent, birth_date=date(2009, 6, 1))
    aged = replace(principal, acts_for=(principal.acts_for[0], older))
    assert not decide(aged, "read", "Observation", resource=child, now=NOW).allowed
