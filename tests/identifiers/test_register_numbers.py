"""Organisation numbers (mod 11) and the check-digit-free HPR, RESH and HER-id numbers."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from samhandling.identifiers import (
    InvalidIdentifier,
    is_valid_hpr_number,
    is_valid_organisation_number,
    validate_her_id,
    validate_hpr_number,
    validate_organisation_number,
    validate_resh_id,
)

ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def oracle_orgnr_check_digit(first_eight: str) -> int:
    """The mod-11 check digit, written out independently of the code under test."""
    return (11 - sum(w * int(d) for w, d in zip(ORGNR_WEIGHTS, first_eight, strict=True)) % 11) % 11


# constructed for these tests; check digits computed by hand
@pytest.mark.parametrize("value", ["987654325", "812345672", "912345610"])
def test_valid_organisation_numbers(value):
    assert validate_organisation_number(value) == value
    assert is_valid_organisation_number(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("987654326", "check digit does not match"),
        ("912345670", "check digit would be 10, which no valid number has"),
        ("000000000", "all digits are zero"),
        ("98765432", "9 digits required, got 8"),
        ("9876543250", "9 digits required, got 10"),
        ("987 654 325", "whitespace is not allowed; 9 digits required"),
        ("NO987654325MVA", "only the digits 0-9 are allowed, found 'N'"),
    ],
)
def test_invalid_organisation_numbers(value, reason):
    with pytest.raises(InvalidIdentifier) as caught:
        validate_organisation_number(value)
    assert str(caught.value) == reason
    assert not is_valid_organisation_number(value)


first_eights = st.text(alphabet="0123456789", min_size=8, max_size=8).filter(
    lambda s: s.strip("0") != ""
)


@given(first_eights)
def test_exactly_the_oracle_check_digit_is_accepted(first_eight):
    expected = oracle_orgnr_check_digit(first_eight)
    accepted = [d for d in "0123456789" if is_valid_organisation_number(first_eight + d)]
    assert accepted == ([] if expected == 10 else [str(expected)])


@given(first_eights, st.integers(min_value=0, max_value=8), st.integers(1, 9))
def test_single_digit_changes_to_organisation_numbers_are_rejected(first_eight, position, shift):
    check = oracle_orgnr_check_digit(first_eight)
    assume(check != 10)
    valid = first_eight + str(check)
    changed = valid[:position] + str((int(valid[position]) + shift) % 10) + valid[position + 1 :]
    assert is_valid_organisation_number(valid)
    assert not is_valid_organisation_number(changed)


REGISTER_VALIDATORS = [validate_hpr_number, validate_resh_id, validate_her_id]


@pytest.mark.parametrize("validate", REGISTER_VALIDATORS)
@pytest.mark.parametrize("value", ["1", "720", "4001031", "565501872", "999999999"])
def test_register_numbers_accept_positive_integers_up_to_9_digits(validate, value):
    assert validate(value) == value


@pytest.mark.parametrize("validate", REGISTER_VALIDATORS)
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "1 to 9 digits required, got 0"),
        ("0", "all digits are zero"),
        ("0123456", "leading zeros are not allowed"),
        ("1234567890", "1 to 9 digits required, got 10"),
        ("12345a", "only the digits 0-9 are allowed, found 'a'"),
        ("-123", "only the digits 0-9 are allowed, found '-'"),
        ("123 456", "whitespace is not allowed; 1 to 9 digits required"),
    ],
)
def test_register_numbers_reject_other_forms(validate, value, reason):
    with pytest.raises(InvalidIdentifier) as caught:
        validate(value)
    assert str(caught.value) == reason


def test_is_valid_hpr_number():
    assert is_valid_hpr_number("9144889")
    assert not is_valid_hpr_number("09144889")
