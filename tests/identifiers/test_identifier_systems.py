"""Identifier systems: canonical OIDs, accepted aliases, and per-system value checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samhandling.identifiers import (
    DNR_SYSTEM,
    FHN_SYSTEM,
    FNR_SYSTEM,
    HER_ID_SYSTEM,
    HPR_SYSTEM,
    ORGANISATION_NUMBER_SYSTEM,
    RESH_SYSTEM,
    SYSTEM_ALIASES,
    check_identifier,
    normalise_system,
)


def test_canonical_oids():
    assert FNR_SYSTEM == "urn:oid:2.16.578.1.12.4.1.4.1"
    assert DNR_SYSTEM == "urn:oid:2.16.578.1.12.4.1.4.2"
    assert FHN_SYSTEM == "urn:oid:2.16.578.1.12.4.1.4.3"
    assert HPR_SYSTEM == "urn:oid:2.16.578.1.12.4.1.4.4"
    assert ORGANISATION_NUMBER_SYSTEM == "urn:oid:2.16.578.1.12.4.1.4.101"
    assert RESH_SYSTEM == "urn:oid:2.16.578.1.12.4.1.4.102"
    assert HER_ID_SYSTEM == "urn:oid:2.16.578.1.12.4.1.2"


@pytest.mark.parametrize(
    ("given_system", "canonical"),
    [
        ("urn:oid:2.16.578.1.12.4.1.2.101", ORGANISATION_NUMBER_SYSTEM),
        ("urn:oid:2.16.578.1.12.4.1.2.102", RESH_SYSTEM),
        ("URN:OID:2.16.578.1.12.4.1.2.101", ORGANISATION_NUMBER_SYSTEM),
        ("Urn:Oid:2.16.578.1.12.4.1.4.1", FNR_SYSTEM),
        ("http://hl7.no/fhir/NamingSystem/FNR", FNR_SYSTEM),
        ("http://hl7.no/fhir/NamingSystem/DNR", DNR_SYSTEM),
        ("http://hl7.no/fhir/NamingSystem/FHNR", FHN_SYSTEM),
        ("http://hl7.no/fhir/NamingSystem/HPR", HPR_SYSTEM),
        (FNR_SYSTEM, FNR_SYSTEM),
        (HER_ID_SYSTEM, HER_ID_SYSTEM),
        ("urn:oid:2.16.578.1.12.4.1.2.1", "urn:oid:2.16.578.1.12.4.1.2.1"),
        ("http://example.org/mrn", "http://example.org/mrn"),
        ("http://hl7.no/fhir/NamingSystem/fnr", "http://hl7.no/fhir/NamingSystem/fnr"),
    ],
)
def test_normalise_system(given_system, canonical):
    assert normalise_system(given_system) == canonical


def test_aliases_point_at_canonical_systems():
    for alias, canonical in SYSTEM_ALIASES.items():
        assert normalise_system(alias) == canonical
        assert normalise_system(canonical) == canonical
        assert canonical not in SYSTEM_ALIASES


@given(st.text())
def test_normalise_system_is_idempotent(system):
    once = normalise_system(system)
    assert normalise_system(once) == once


ACCEPTED = [
    (FNR_SYSTEM, "15058510251"),
    (FNR_SYSTEM, "15898500052"),  # synthetic (Tenor, month + 80): the test population
    (FNR_SYSTEM, "15748500135"),  # synthetic (NHN Persontjenesten, month + 65)
    (FNR_SYSTEM, "15058510278"),  # valid only under the 2032 rule
    ("http://hl7.no/fhir/NamingSystem/FNR", "15058510251"),
    (DNR_SYSTEM, "71018500137"),
    (DNR_SYSTEM, "55898500127"),  # synthetic D-number
    (FHN_SYSTEM, "81234567802"),
    (FHN_SYSTEM, "91234567883"),
    (HPR_SYSTEM, "9144889"),
    (ORGANISATION_NUMBER_SYSTEM, "987654325"),
    ("urn:oid:2.16.578.1.12.4.1.2.101", "987654325"),
    (RESH_SYSTEM, "4001031"),
    (HER_ID_SYSTEM, "720"),
    # no rule for these systems: nothing to say
    ("http://example.org/mrn", "anything at all"),
    ("urn:oid:2.16.578.1.12.4.1.4.5", "not checked"),  # DUF number
    (None, "15058510252"),
    (FNR_SYSTEM, None),
]


@pytest.mark.parametrize(("system", "value"), ACCEPTED)
def test_accepted_identifiers(system, value):
    assert check_identifier(system, value) is None


REJECTED = [
    (
        FNR_SYSTEM,
        "15058510252",
        "not a valid fødselsnummer (FNR): check digit K2 does not match",
    ),
    (
        FNR_SYSTEM,
        "71018500137",
        "not a valid fødselsnummer (FNR): the value is a D-number (DNR), "
        "and the FNR system requires kind FNR",
    ),
    (
        FNR_SYSTEM,
        "15418500201",
        "not a valid fødselsnummer (FNR): the value is a local H-number (HNR), "
        "and the FNR system requires kind FNR",
    ),
    (
        "http://hl7.no/fhir/NamingSystem/FNR",
        "81234567802",
        "not a valid fødselsnummer (FNR): the value is a felles hjelpenummer (FHN), "
        "and the FNR system requires kind FNR",
    ),
    (
        DNR_SYSTEM,
        "15058510251",
        "not a valid D-number (DNR): the value is a fødselsnummer (FNR), "
        "and the DNR system requires kind DNR",
    ),
    (
        FHN_SYSTEM,
        "15058510251",
        "not a valid felles hjelpenummer (FHN): the value is a fødselsnummer (FNR), "
        "and the FHN system requires kind FHN",
    ),
    (
        FHN_SYSTEM,
        "8123456780",
        "not a valid felles hjelpenummer (FHN): 11 digits required, got 10",
    ),
    (HPR_SYSTEM, "09144889", "not a valid HPR number: leading zeros are not allowed"),
    (
        ORGANISATION_NUMBER_SYSTEM,
        "987654326",
        "not a valid organisation number: check digit does not match",
    ),
    (
        "urn:oid:2.16.578.1.12.4.1.2.101",
        "test",
        "not a valid organisation number: only the digits 0-9 are allowed, found 't'",
    ),
    (RESH_SYSTEM, "", "not a valid RESH id: 1 to 9 digits required, got 0"),
    (HER_ID_SYSTEM, "0", "not a valid HER-id: all digits are zero"),
]


@pytest.mark.parametrize(("system", "value", "reason"), REJECTED)
def test_rejected_identifiers_give_the_reason(system, value, reason):
    assert check_identifier(system, value) == reason


KNOWN_SYSTEMS = [
    FNR_SYSTEM,
    DNR_SYSTEM,
    FHN_SYSTEM,
    HPR_SYSTEM,
    ORGANISATION_NUMBER_SYSTEM,
    RESH_SYSTEM,
    HER_ID_SYSTEM,
    *SYSTEM_ALIASES,
]


@given(st.sampled_from(KNOWN_SYSTEMS), st.text())
def test_check_identifier_never_raises_on_arbitrary_text(system, value):
    reason = check_identifier(system, value)
    assert reason is None or reason.startswith("not a valid ")
