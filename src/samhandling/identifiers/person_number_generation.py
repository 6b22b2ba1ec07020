"""Generate felles hjelpenummer and synthetic test-environment fødselsnummer.

Both generators return numbers valid under the classic check-digit rule (remainder 0), so
they classify the same before and after 2032. Uniqueness is the caller's business (the
allocation service checks the database); the generators only draw from ``rng``.
"""

from __future__ import annotations

import datetime as dt
import random

from stdnum.no import fodselsnummer as _stdnum_fnr

from samhandling.identifiers.person_numbers import Sex

SYNTHETIC_FNR_MONTH_OFFSET = 80
"""Skatteetaten's synthetic population (Tenor): month + 80."""

_EARLIEST_YEAR, _LATEST_YEAR = 1854, 2039


def generate_fh_number(rng: random.Random) -> str:
    """A random felles hjelpenummer: first digit 8 or 9, eight random digits, K1, K2."""
    while True:
        body = rng.choice("89") + "".join(rng.choice("0123456789") for _ in range(8))
        number = _with_check_digits(body)
        if number is not None:
            return number


def generate_synthetic_fnr(rng: random.Random, birth_date: dt.date, sex: Sex) -> str:
    """A random synthetic fødselsnummer (month + 80) for ``birth_date`` and ``sex``.

    Birth years 1854-2039 can be encoded. Numbers with a birth date from 2032 on classify
    with sex None (new numbers are sex-neutral), and a future date is rejected by
    ``classify_person_number`` unless it is given a later ``today``.
    """
    if sex not in ("female", "male"):
        raise ValueError(f"sex must be 'female' or 'male', got {sex!r}")
    if not _EARLIEST_YEAR <= birth_date.year <= _LATEST_YEAR:
        raise ValueError(
            f"birth year {birth_date.year} cannot be encoded ({_EARLIEST_YEAR}-{_LATEST_YEAR})"
        )
    parity = 1 if sex == "male" else 0
    candidates = [n for r in _individual_numbers(birth_date.year) for n in r if n % 2 == parity]
    month = birth_date.month + SYNTHETIC_FNR_MONTH_OFFSET
    date_digits = f"{birth_date.day:02d}{month:02d}{birth_date.year % 100:02d}"
    while True:
        number = _with_check_digits(f"{date_digits}{rng.choice(candidates):03d}")
        if number is not None:
            return number


def _individual_numbers(year: int) -> tuple[range, ...]:
    """The individual-number series used for births in ``year`` (1854-2039)."""
    if year < 1900:
        return (range(500, 750),)
    if year < 1940:
        return (range(0, 500),)
    if year < 2000:
        return (range(0, 500), range(900, 1000))
    return (range(500, 1000),)


def _with_check_digits(body: str) -> str | None:
    """``body`` (nine digits) with K1 and K2 appended, or None if either would be 10."""
    k1 = _stdnum_fnr.calc_check_digit1(body)
    if k1 == "10":
        return None
    k2 = _stdnum_fnr.calc_check_digit2(body + k1)
    return None if k2 == "10" else body + k1 + k2
