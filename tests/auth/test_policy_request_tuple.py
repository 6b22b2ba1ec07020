"""The policy's judged request is a tuple (issue 24: made twice for every read by id), and
a resource without security labels shares one `Labels` value: the same answers as before."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fixtures.policykit import NOW, clinician, res, system
from samhandling.auth import policy
from samhandling.auth.labels import NO_LABELS, Labels, labels_of
from samhandling.auth.policy import ServiceRules, _Request, decide
from samhandling.auth.scopes import INTERACTION_PERMISSION

PERMISSION_LETTERS = "cruds"
permissions = st.text(alphabet=PERMISSION_LETTERS, max_size=5) | st.sampled_from(
    sorted(set(INTERACTION_PERMISSION.values()))
)


def _request(permissions: str) -> _Request:
    return _Request(None, "read", "Patient", permissions, None, None, ServiceRules(), None)  # type: ignore[arg-type]


@given(permissions)
def test_reads_and_writes_are_the_permission_sets_as_before(permissions: str) -> None:
    request = _request(permissions)
    assert request.reads == (bool(set(permissions) & {"r", "s"}) or not permissions)
    assert request.writes == bool(set(permissions) & {"c", "u", "d"})


def test_the_request_is_immutable() -> None:
    request = _request("r")
    try:
        request.permissions = "c"  # type: ignore[misc]
    except AttributeError:
        return
    raise AssertionError("the judged request could be changed")


codings = st.lists(
    st.fixed_dictionaries(
        {
            "system": st.sampled_from(
                [
                    "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                    "urn:oid:2.16.578.1.12.4.1.1.9603",
                    "http://example.org/other",
                ]
            ),
            "code": st.sampled_from(["NOPAT", "R", "V", "N", "NORS", "NORN_FORANS", "NORU"]),
        }
    ),
    max_size=3,
)


@given(codings)
def test_labels_are_those_of_the_codings_and_none_gives_the_shared_value(
    security: list[dict[str, Any]],
) -> None:
    resource = {"resourceType": "Observation", "meta": {"security": security}}
    found = labels_of(resource)
    if found == Labels():
        assert found is NO_LABELS
    assert labels_of({"resourceType": "Observation"}) is NO_LABELS
    assert labels_of(None) == Labels()


def test_an_allowing_decision_is_shared_by_the_requests_that_come_to_it() -> None:
    """Kept by everything it holds: the same request gets the same (frozen) value, one that
    differs in anything its own, and the values are those made afresh."""
    first = decide(system(), "read", "Observation", resource=res(), now=NOW)
    assert decide(system(), "read", "Observation", resource=res(), now=NOW) is first
    emergency = decide(
        clinician(purpose="BTG", reason="r1"), "read", "Observation", resource=res(), now=NOW
    )
    other = decide(
        clinician(purpose="BTG", reason="r2"), "read", "Observation", resource=res(), now=NOW
    )
    assert (emergency.emergency_reason, other.emergency_reason) == ("r1", "r2")
    policy._ALLOWED.clear()
    fresh = decide(system(), "read", "Observation", resource=res(), now=NOW)
    assert fresh is not first
    assert [getattr(fresh, f.name) for f in fields(fresh)] == [
        getattr(first, f.name) for f in fields(first)
    ]
    for n in range(policy._ALLOWED_KEPT + 5):
        policy._allow(
            policy._Request(system(), "read", "Observation", "r", None, None, ServiceRules(), NOW),
            policy.Grant(True),
            None,
            f"why {n}",
        )  # type: ignore[arg-type]
    assert len(policy._ALLOWED) <= policy._ALLOWED_KEPT
