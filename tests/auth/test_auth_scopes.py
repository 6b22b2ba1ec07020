"""SMART v1/v2 scope parsing and matching, and the WWW-Authenticate challenge."""

from __future__ import annotations

import pytest

from samhandling.auth import parse_scopes
from samhandling.auth.errors import AuthError, challenge, forbidden, www_authenticate
from samhandling.auth.scopes import grant, parse_scope


@pytest.mark.parametrize(
    "text,context,rtype,perms,version",
    [
        ("patient/Observation.rs", "patient", "Observation", "rs", 2),
        ("user/*.cruds", "user", "*", "cruds", 2),
        ("system/Patient.c", "system", "Patient", "c", 2),
        ("patient/Observation.read", "patient", "Observation", "rs", 1),
        ("user/MedicationStatement.write", "user", "MedicationStatement", "cud", 1),
        ("user/*.*", "user", "*", "cruds", 1),
    ],
)
def test_parse_clinical_scopes(
    text: str, context: str, rtype: str, perms: str, version: int
) -> None:
    scope = parse_scope(text)
    assert scope is not None
    assert (scope.context, scope.resource_type, scope.permissions, scope.version) == (
        context,
        rtype,
        frozenset(perms),
        version,
    )


@pytest.mark.parametrize(
    "text",
    [
        "openid",
        "launch/patient",
        "nhn:kjernejournal/api",
        "user/*.sr",
        "user/*.x",
        "user/obs.r",
        "doctor/*.r",
        "user/*.",
        "patient/Observation.read?category=x",
    ],
)
def test_non_clinical_or_invalid_scopes_are_not_parsed(text: str) -> None:
    assert parse_scope(text) is None


def test_query_scopes() -> None:
    scope = parse_scope("patient/Observation.rs?category=http://x|laboratory&status=final")
    assert scope is not None
    assert scope.query == (("category", "http://x|laboratory"), ("status", "final"))


def test_parse_scopes_from_string_or_list() -> None:
    assert str(parse_scopes("openid user/*.rs")) == "user/*.rs openid"
    assert [s.raw for s in parse_scopes(["user/*.rs", "user/*.rs system/*.c"]).clinical] == [
        "user/*.rs",
        "system/*.c",
    ]
    assert parse_scopes(None).clinical == ()


def test_grant_combines_letters_and_contexts() -> None:
    scopes = parse_scopes("patient/Observation.r user/Observation.s")
    assert grant(scopes, ("user", "patient"), "Observation", "rs").ok
    assert grant(scopes, ("user", "patient"), "Observation", "rs").patient_context_only
    assert not grant(scopes, ("user",), "Observation", "rs").ok
    assert not grant(scopes, ("system",), "Observation", "s").ok


def test_challenges() -> None:
    assert challenge("Bearer") == 'Bearer realm="samhandling"'
    value = www_authenticate(
        ("Bearer", "DPoP"),
        error="invalid_dpop_proof",
        description='bad "proof"\n',
        error_scheme="DPoP",
    )
    assert value == (
        'Bearer realm="samhandling", DPoP realm="samhandling", algs="ES256 PS256 RS256", '
        'error="invalid_dpop_proof", error_description="bad proof"'
    )


def test_forbidden_error() -> None:
    error = forbidden("no scope grants 'r' on Observation")
    assert isinstance(error, AuthError)
    assert error.status == 403 and error.headers == {}
    assert error.outcome()["issue"][0]["code"] == "forbidden"


def test_a_remembered_grant_answers_only_its_own_scopes_contexts_type_and_permissions() -> None:
    reader = parse_scopes("user/Observation.rs")
    other = parse_scopes("user/Condition.rs")
    assert grant(reader, ("user",), "Observation", "r").ok
    assert grant(reader, ("user",), "Observation", "r").ok  # remembered
    assert reader.grants  # the proof that it was remembered
    assert not grant(other, ("user",), "Observation", "r").ok  # another token's scopes
    assert not grant(reader, ("system",), "Observation", "r").ok  # another context
    assert not grant(reader, ("user",), "Condition", "r").ok  # another type
    assert not grant(reader, ("user",), "Observation", "c").ok  # another permission
    assert grant(reader, ("user",), "Observation", "rs").scopes == ("user/Observation.rs",)
    assert not other.grants.get((("user",), "Condition", "rs"))  # not yet asked
    assert grant(other, ("user",), "Condition", "rs").ok


def test_a_grant_judged_on_the_resource_is_never_remembered() -> None:
    scopes = parse_scopes("patient/Observation.rs?category=laboratory")
    lab = {"resourceType": "Observation", "category": [{"coding": [{"code": "laboratory"}]}]}
    vital = {"resourceType": "Observation", "category": [{"coding": [{"code": "vital-signs"}]}]}
    assert grant(scopes, ("patient",), "Observation", "r", lab).ok
    assert not grant(scopes, ("patient",), "Observation", "r", vital).ok
    assert grant(scopes, ("patient",), "Observation", "r", lab).ok
    assert grant(scopes, ("patient",), "Observation", "s").filters == (
        (("category", "laboratory"),),
    )
    assert scopes.grants == {}


def test_a_scope_set_remembers_a_bounded_number_of_grants() -> None:
    from samhandling.auth.scopes import GRANTS_REMEMBERED

    scopes = parse_scopes("user/*.rs")
    for n in range(GRANTS_REMEMBERED + 10):
        assert grant(scopes, ("user",), f"Type{n}", "r").ok
    assert len(scopes.grants) == GRANTS_REMEMBERED
    assert parse_scopes("user/*.rs") == scopes  # what it remembers is not part of its value
