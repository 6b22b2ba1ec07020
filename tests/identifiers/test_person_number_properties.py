"""Property tests: generated and independently constructed numbers classify back exactly."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from samhandling.identifiers import (
    InvalidIdentifier,
    PersonNumber,
    PersonNumberKind,
    classify_person_number,
    generate_fh_number,
    generate_synthetic_fnr,
)

LATER = dt.date(2040, 1, 1)
K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def oracle_check_digit(digits: str, weights: tuple[int, ...]) -> int:
    """The classic mod-11 check digit, written out independently of the code under test."""
    return (11 - sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11) % 11


def with_check_digits(body: str, k1_remainder: int = 0) -> str | None:
    """``body`` plus K1 (leaving ``k1_remainder``) and K2, or None if a digit would be 10."""
    k1 = (oracle_check_digit(body, K1_WEIGHTS) + k1_remainder) % 11
    if k1 == 10:
        return None
    k2 = oracle_check_digit(body + str(k1), K2_WEIGHTS)
    return None if k2 == 10 else f"{body}{k1}{k2}"


def individual_numbers(year: int) -> list[int]:
    """The individual numbers whose century rule yields ``year``."""
    series = {
        range(1854, 1900): range(500, 750),
        range(1900, 2000): range(0, 500),
        range(1940, 2000): range(900, 1000),
        range(2000, 2040): range(500, 1000),
    }
    return [n for years, numbers in series.items() if year in years for n in numbers]


seeds = st.integers(min_value=0, max_value=2**64)
sexes = st.sampled_from(["female", "male"])
birth_dates = st.dates(min_value=dt.date(1854, 1, 1), max_value=dt.date(2039, 12, 31))


@given(seeds)
def test_generated_fh_numbers_classify_as_fh(seed):
    number = generate_fh_number(random.Random(seed))
    assert number[0] in "89" and len(number) == 11
    assert classify_person_number(number) == PersonNumber(PersonNumberKind.FHN, None, None, False)


@given(seeds, birth_dates, sexes)
def test_generated_synthetic_fnr_classifies_back(seed, birth_date, sex):
    number = generate_synthetic_fnr(random.Random(seed), birth_date, sex)
    assert 81 <= int(number[2:4]) <= 92
    expected_sex = sex if birth_date < dt.date(2032, 1, 1) else None
    expected = PersonNumber(PersonNumberKind.FNR, birth_date, expected_sex, True)
    assert classify_person_number(number, today=LATER) == expected


CLASSIC_REMAINDER = st.just(0)
LAYOUTS = [
    # kind, day offset, month offset
    (PersonNumberKind.FNR, 0, 0),
    (PersonNumberKind.DNR, 40, 0),
    (PersonNumberKind.HNR, 0, 40),
    (PersonNumberKind.FNR, 0, 80),
    (PersonNumberKind.DNR, 40, 80),
    (PersonNumberKind.FNR, 0, 65),
    (PersonNumberKind.DNR, 40, 65),
]


@st.composite
def constructed_numbers(draw, k1_remainders=CLASSIC_REMAINDER):
    """(number, expected classification) for FNR/DNR/HNR/synthetic, built by the oracle."""
    birth_date = draw(birth_dates)
    individual = draw(st.sampled_from(individual_numbers(birth_date.year)))
    kind, day_offset, month_offset = draw(st.sampled_from(LAYOUTS))
    date_digits = (
        f"{birth_date.day + day_offset:02d}{birth_date.month + month_offset:02d}"
        f"{birth_date.year % 100:02d}"
    )
    remainder = draw(k1_remainders)
    number = with_check_digits(f"{date_digits}{individual:03d}", remainder)
    assume(number is not None)
    sex_encoded = remainder == 0 and birth_date < dt.date(2032, 1, 1)
    sex = ("male" if individual % 2 else "female") if sex_encoded else None
    return number, PersonNumber(kind, birth_date, sex, synthetic=month_offset in (65, 80))


@given(constructed_numbers())
def test_constructed_numbers_classify_exactly(case):
    number, expected = case
    assert classify_person_number(number, today=LATER) == expected


@given(constructed_numbers(k1_remainders=st.integers(min_value=1, max_value=3)))
def test_2032_rule_accepts_remainders_1_to_3_for_fnr_and_dnr_only(case):
    number, expected = case
    if expected.kind is PersonNumberKind.HNR:
        with pytest.raises(InvalidIdentifier, match="check digit K1"):
            classify_person_number(number, today=LATER)
    else:
        assert classify_person_number(number, today=LATER) == expected
        assert expected.sex is None


@given(constructed_numbers(k1_remainders=st.integers(min_value=4, max_value=10)))
def test_k1_remainders_above_3_are_rejected(case):
    number, _ = case
    with pytest.raises(InvalidIdentifier, match="check digit K1"):
        classify_person_number(number, today=LATER)


valid_numbers = st.one_of(
    constructed_numbers().map(lambda case: case[0]),
    seeds.map(lambda seed: generate_fh_number(random.Random(seed))),
)


@given(valid_numbers, st.integers(min_value=0, max_value=10), st.integers(1, 9))
def test_any_single_digit_change_is_rejected(number, position, shift):
    # K2's weights (5,4,3,2,7,6,5,4,3,2 and 1 for K2 itself) are all non-zero mod 11, and
    # K2 keeps the classic rule, so every single-digit error must be caught.
    corrupted = (
        number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    )
    assert corrupted != number
    with pytest.raises(InvalidIdentifier):
        classify_person_number(corrupted, today=LATER)


@given(valid_numbers, st.integers(min_value=0, max_value=9))
def test_adjacent_transpositions_of_different_digits_are_rejected(number, position):
    first, second = number[position], number[position + 1]
    assume(first != second)
    swapped = number[:position] + second + first + number[position + 2 :]
    with pytest.raises(InvalidIdentifier):
        classify_person_number(swapped, today=LATER)
