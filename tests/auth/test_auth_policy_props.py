"""Property tests of `decide`: whatever the request, a citizen never reaches a patient
outside their compartment and nobody is allowed without a granting scope."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.policykit import (
    CHILD11,
    CHILD13,
    CHILD16,
    NOW,
    OTHER,
    POA,
    SELF,
    WARD,
    citizen,
    clinician,
)
from samhandling.auth import decide

INTERACTIONS = ["read", "vread", "history", "search", "create", "update", "patch", "delete"]
TYPES = ["Observation", "AllergyIntolerance", "DocumentReference", "Patient", "Condition", "Binary"]
IDS = [SELF, CHILD11, CHILD13, CHILD16, POA, WARD, OTHER]


@settings(max_examples=300, deadline=None)
@given(
    interaction=st.sampled_from(INTERACTIONS),
    rtype=st.sampled_from(TYPES),
    targets=st.none() | st.frozensets(st.sampled_from(IDS), min_size=1, max_size=3),
)
def test_citizen_stays_in_compartment(
    interaction: str, rtype: str, targets: frozenset[str] | None
) -> None:
    decision = decide(citizen("patient/*.cruds"), interaction, rtype, patient_ids=targets, now=NOW)
    if not decision.allowed:
        return
    assert interaction not in ("create", "update", "patch", "delete")
    reached = targets if targets is not None else decision.patient_ids
    assert reached is not None
    assert not reached & {OTHER, CHILD16}
    if rtype in ("Observation", "DocumentReference", "Binary"):
        assert CHILD13 not in reached


@settings(max_examples=200, deadline=None)
@given(
    interaction=st.sampled_from(INTERACTIONS),
    rtype=st.sampled_from(TYPES),
    perms=st.sampled_from(["r", "s", "rs", "c", "cu", "d"]),
)
def test_allowed_only_with_a_granting_scope(interaction: str, rtype: str, perms: str) -> None:
    from samhandling.auth.scopes import INTERACTION_PERMISSION

    decision = decide(clinician(f"user/Observation.{perms}"), interaction, rtype, now=NOW)
    if decision.allowed:
        assert rtype == "Observation"
        assert INTERACTION_PERMISSION[interaction] in perms
