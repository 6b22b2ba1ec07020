"""The generators: reproducible from the seed, both FH first digits, clear refusals."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from samhandling.identifiers import generate_fh_number, generate_synthetic_fnr


def test_same_seed_gives_same_numbers():
    assert generate_fh_number(random.Random(7)) == generate_fh_number(random.Random(7))
    first = generate_synthetic_fnr(random.Random(7), dt.date(1985, 5, 15), "female")
    assert first == generate_synthetic_fnr(random.Random(7), dt.date(1985, 5, 15), "female")


def test_fh_numbers_use_both_first_digits_and_vary():
    rng = random.Random(2024)
    numbers = [generate_fh_number(rng) for _ in range(200)]
    assert {n[0] for n in numbers} == {"8", "9"}
    assert len(set(numbers)) == len(numbers)


def test_synthetic_fnr_encodes_date_with_month_plus_80():
    number = generate_synthetic_fnr(random.Random(1), dt.date(1985, 12, 31), "male")
    assert number[:6] == "319285"
    assert int(number[8]) % 2 == 1


@pytest.mark.parametrize("birth_date", [dt.date(1853, 12, 31), dt.date(2040, 1, 1)])
def test_unencodable_birth_years_are_refused(birth_date):
    with pytest.raises(ValueError, match=f"birth year {birth_date.year} cannot be encoded"):
        generate_synthetic_fnr(random.Random(1), birth_date, "female")


def test_unknown_sex_is_refused():
    with pytest.raises(ValueError, match="sex must be 'female' or 'male'"):
        generate_synthetic_fnr(random.Random(1), dt.date(1985, 1, 1), "unknown")  # type: ignore[arg-type]
