"""The Principal built from HelseID- and ID-porten-shaped tokens."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from authkit import CITIZEN_ISSUER, HPR, ISSUER, PID, URL, attestation, claims, settings, token

from samhandling.auth import Authenticator, AuthError, Principal
from samhandling.auth.claims import ACTS_FOR, TRUST_FRAMEWORK, principal_from_claims
from samhandling.auth.principal import birth_date_from_nin, mask_pid


def principal_of(value: str) -> Principal:
    return Authenticator(settings()).authenticate("GET", URL, {"authorization": f"Bearer {value}"})


def test_helseid_token_with_attestation() -> None:
    p = principal_of(token())
    assert p.kind == "clinician"
    assert p.pid == PID
    assert p.masked_pid == "128375*****"
    assert p.hpr_number == HPR
    assert p.security_level == 4
    assert p.network == "helsenett"
    assert p.name == "Henrik Sykehuslege"
    assert p.client.client_id == "epj-1"
    assert p.client.client_name == "Test EPJ"
    assert (p.client.orgnr_parent, p.client.orgnr_child, p.client.orgnr_supplier) == (
        "991000046",
        "991000054",
        "991000100",
    )
    assert p.organisation.legal_entity == "991000046"
    assert p.organisation.point_of_care == "991000054"
    assert p.organisation.department == "4001234"
    att = p.attestation
    assert att is not None
    assert att.purpose_of_use == "TREAT"
    assert att.healthcare_service == "S03"
    assert att.authorization_code == "LE"
    assert att.decision_ref == "5b0c6c7e-0000-4000-8000-000000000001"
    assert att.user_selected is True
    assert att.attested_at == p.issued_at  # no explicit time: the token's iat
    assert att.patients == ()
    assert not p.is_emergency and p.emergency_reason is None
    assert [s.raw for s in p.scopes.clinical] == ["user/*.crus"]
    assert "nhn:kjernejournal/api" in p.scopes.other


def test_pid_never_in_repr() -> None:
    p = principal_of(token())
    assert PID not in repr(p)
    assert PID not in str(p)
    assert PID not in json.dumps(p.audit_agent())
    assert p.audit_agent()["hpr_number"] == HPR


def test_emergency_reason_from_purpose_of_use_details() -> None:
    details = {"code": "AKUTT", "text": "Bevisstløs pasient i akuttmottak"}
    att = attestation("BTG", purpose_of_use_details=details)
    p = principal_from_claims(claims(**{TRUST_FRAMEWORK: att}), settings().issuers[0])
    assert p.is_emergency
    assert p.emergency_reason == "Bevisstløs pasient i akuttmottak"


def test_emergency_reason_is_none_for_treat() -> None:
    att = attestation("TREAT", purpose_of_use_details={"text": "Fastlege"})
    p = principal_from_claims(claims(**{TRUST_FRAMEWORK: att}), settings().issuers[0])
    assert p.emergency_reason is None
    assert p.attestation is not None and p.attestation.reason == "Fastlege"


@pytest.mark.parametrize(
    "shape",
    [
        lambda a: [{"type": "other"}, a],
        lambda a: json.dumps(a),
        lambda a: json.dumps([a]),
    ],
)
def test_attestation_as_authorization_details_list_or_json(shape: object) -> None:
    value = shape(attestation("COC"))  # type: ignore[operator]
    p = principal_from_claims(claims(**{TRUST_FRAMEWORK: value}), settings().issuers[0])
    assert p.purpose_of_use == "COC"


def test_explicit_attested_at_and_patients() -> None:
    att = attestation(attested_at="2025-01-01T10:00:00Z")
    att["patients"] = [
        {"identifier": {"id": "05858540072", "system": "urn:oid:2.16.578.1.12.4.1.4.1"}}
    ]
    p = principal_from_claims(claims(**{TRUST_FRAMEWORK: att}), settings().issuers[0])
    assert p.attestation is not None
    assert p.attestation.attested_at == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert p.patient_pids == ("05858540072",)
    resolved = p.with_patient_ids({"05858540072": "pat-1"})
    assert resolved.attestation is not None
    assert resolved.attestation.patients[0].patient_id == "pat-1"
    assert "05858540072" not in repr(resolved)


def test_system_token_without_person() -> None:
    value = token(
        scope="system/*.cruds",
        **{
            "helseid://claims/identity/pid": None,
            "helseid://claims/hpr/hpr_number": None,
            "name": None,
            TRUST_FRAMEWORK: None,
        },
    )
    p = principal_of(value)
    assert p.kind == "system"
    assert p.pid is None and p.masked_pid is None
    assert p.organisation.legal_entity == "991000046"  # from orgnr_parent


def test_citizen_with_children_and_power_of_attorney() -> None:
    acts = [
        {"pid": "07851950170", "relation": "parent"},
        {"pid": "14851252038", "relation": "parent", "birth_date": "2012-05-14"},
        {"pid": "22891056080", "relation": "power-of-attorney"},
        {"pid": "123", "relation": "parent"},
        {"pid": "03980954055", "relation": "boss"},
    ]
    value = token(
        iss=CITIZEN_ISSUER,
        pid="21908345182",
        acr="idporten-loa-substantial",
        scope="patient/*.rs",
        **{"helseid://claims/identity/pid": None, TRUST_FRAMEWORK: None, ACTS_FOR: acts},
    )
    p = principal_of(value)
    assert p.kind == "citizen"
    assert p.security_level == 3
    assert p.attestation is None
    relations = [(a.relation, a.birth_date) for a in p.acts_for]
    assert relations == [
        ("self", date(1983, 10, 21)),
        ("parent", date(2019, 5, 7)),
        ("parent", date(2012, 5, 14)),
        ("power-of-attorney", date(2010, 9, 22)),
    ]
    assert p.patient_pids[0] == "21908345182"
    assert "07851950170" not in repr(p)


def test_helseid_issuer_is_never_a_citizen() -> None:
    p = principal_from_claims(claims(pid="05858540072"), settings().issuers[0])
    assert p.kind == "clinician" and p.pid == PID
    assert p.issuer == ISSUER


@pytest.mark.parametrize(
    "nin,born",
    [
        ("12837510110", date(1975, 3, 12)),  # synthetic, month + 80
        ("05858540072", date(1985, 5, 5)),
        ("07851950170", date(2019, 5, 7)),  # individual number 500-999, 2000s
        ("41018012345", date(1980, 1, 1)),  # D-number (day + 40)
        ("01418012345", date(1980, 1, 1)),  # H-number (month + 40)
        ("01668012345", date(1980, 1, 1)),  # synthetic, month + 65
        ("81018012345", None),  # felles hjelpenummer
        ("32018012345", None),
        ("0101801234", None),
    ],
)
def test_birth_date_from_nin(nin: str, born: date | None) -> None:
    assert birth_date_from_nin(nin) == born


def test_mask_pid() -> None:
    assert mask_pid("01019012345") == "010190*****"
    assert mask_pid("abc") == "***"
    assert mask_pid(None) is None


def _citizen_acting_for(entry: dict[str, object]) -> str:
    return token(
        iss=CITIZEN_ISSUER,
        pid="21908345182",
        acr="idporten-loa-high",
        scope="patient/*.rs",
        **{"helseid://claims/identity/pid": None, TRUST_FRAMEWORK: None, ACTS_FOR: [entry]},
    )


def test_claimed_birth_date_contradicting_the_national_id_is_refused() -> None:
    """Issue 16 #5: a 'parent' claim with 2020 for an adult born 1975 gave a child's access."""
    adult = {"pid": "12837510110", "relation": "parent", "birth_date": "2020-01-01"}
    with pytest.raises(AuthError) as info:
        principal_of(_citizen_acting_for(adult))
    assert info.value.status == 401
    assert "birth_date contradicts the national ID" in info.value.description


def test_malformed_claimed_birth_date_is_refused() -> None:
    entry = {"pid": "07851950170", "relation": "parent", "birth_date": "yesterday"}
    with pytest.raises(AuthError):
        principal_of(_citizen_acting_for(entry))


def test_claimed_birth_date_agreeing_with_the_national_id_is_accepted() -> None:
    entry = {"pid": "07851950170", "relation": "parent", "birth_date": "2019-05-07"}
    p = principal_of(_citizen_acting_for(entry))
    assert p.acts_for[1].birth_date == date(2019, 5, 7)


def test_claimed_birth_date_is_ignored_without_one_in_the_number() -> None:
    """A felles hjelpenummer encodes no birth date: the claimed one is not trusted either, so
    the age stays unknown (and the policy refuses a parent)."""
    entry = {"pid": "81018012345", "relation": "parent", "birth_date": "2020-01-01"}
    p = principal_of(_citizen_acting_for(entry))
    assert p.acts_for[1].birth_date is None


@pytest.mark.parametrize("digits", ["²", "١٢٨٣٧٥١٠١١٠", "１２８３７５１０１１０"])
def test_digits_that_are_not_ascii_are_refused_not_a_crash(digits: str) -> None:
    """'²'.isdigit() is true and int('²') fails: numbers in claims are ASCII digits only."""
    level = principal_of(token(**{"helseid://claims/identity/security_level": digits}))
    assert level.security_level is None
    with pytest.raises(AuthError):
        principal_of(token(**{"helseid://claims/identity/pid": digits}))
