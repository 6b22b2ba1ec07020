"""Classify Norwegian 11-digit person numbers: FNR, D-number, H-number, felles hjelpenummer.

Layout ``DDMMYY III K1 K2``. The kind is read from offsets on the date digits:

* first digit 8 or 9: felles hjelpenummer (FHN, NHN's national auxiliary number); the
  other nine digits carry no birth date or sex.
* day + 40 (41-71): D-number (DNR). Its date may be a registration date (UDI/Skatteetaten
  use one when a birth date has no free numbers left); we report it as encoded.
* month + 40 (41-52): local H-number (HNR). NAV's synthetic test numbers ("Dolly") use the
  same offset and cannot be told apart, so they classify as HNR.
* month + 80 (81-92): Skatteetaten's synthetic population (Tenor, "syntetisk
  folkeregister"); month + 65 (66-77): the test population of NHN's Persontjenesten.
  Both are test-environment numbers: ``synthetic=True``, kind FNR or DNR.

Century from the individual number III: 000-499 → 1900-1999; 500-749 with year 54-99 →
1854-1899; 500-999 with year 00-39 → 2000-2039; 900-999 with year 40-99 → 1940-1999.

Check digits (weights 3,7,6,1,8,9,4,5,2 and 5,4,3,2,7,6,5,4,3,2; arithmetic from
``stdnum.no.fodselsnummer``). Let r = (weighted sum of the first ten digits, K1 weighted 1)
mod 11. The classic rule needs r = 0, so a computed K1 of 10 makes the number impossible.
The 2032 rule (Skatteetaten: numbers issued from 1 January 2032) accepts r in {0, 1, 2, 3};
K2 is unchanged (remainder 0 only). We read the published text as applying to FNR and
D-numbers, including their synthetic variants; H-numbers (local) and FH-numbers (NHN)
keep the classic rule. New numbers are sex-neutral, so ``sex`` is None for a number that is
valid only under the 2032 rule and for an encoded date on or after 2032-01-01 (such a
number cannot have been issued before 2032); otherwise the ninth digit gives the sex
(even: female, odd: male). A birth date after ``today`` is rejected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from stdnum.no import fodselsnummer as _stdnum_fnr

from samhandling.identifiers.common import InvalidIdentifier, require_digits

Sex = Literal["female", "male"]

SEX_NEUTRAL_FROM = dt.date(2032, 1, 1)
"""Numbers issued from this date no longer encode sex; K1 follows the 2032 rule."""

SYNTHETIC_MONTH_OFFSETS = (65, 80)
"""Month offsets of the test-environment populations (NHN Persontjenesten, Skatteetaten)."""

H_NUMBER_MONTH_OFFSET = 40
D_NUMBER_DAY_OFFSET = 40
_MONTH_OFFSETS = (0, H_NUMBER_MONTH_OFFSET, *SYNTHETIC_MONTH_OFFSETS)
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip


class PersonNumberKind(StrEnum):
    """The kinds of 11-digit person numbers."""

    FNR = "FNR"
    """Fødselsnummer (national identity number)."""
    DNR = "DNR"
    """D-number (temporary national number, day + 40)."""
    HNR = "HNR"
    """Local H-number (month + 40); unique only within the issuing organisation."""
    FHN = "FHN"
    """Felles hjelpenummer (national auxiliary number, first digit 8 or 9)."""


@dataclass(frozen=True, slots=True)
class PersonNumber:
    """The classification of a valid person number."""

    kind: PersonNumberKind
    birth_date: dt.date | None
    sex: Sex | None
    synthetic: bool


@dataclass(frozen=True, slots=True)
class _Layout:
    kind: PersonNumberKind
    day: int
    month: int
    synthetic: bool


def classify_person_number(value: str, *, today: dt.date | None = None) -> PersonNumber:
    """Classify an 11-digit person number; raise InvalidIdentifier with the reason if invalid.

    ``today`` (default: the current date) bounds the birth date from above.
    """
    digits = require_digits(value, 11)
    if digits[0] in "89":
        _check_digits(digits, rule_2032=False)
        return PersonNumber(PersonNumberKind.FHN, None, None, synthetic=False)
    layout = _decode_layout(digits)
    rule_2032 = layout.kind in (PersonNumberKind.FNR, PersonNumberKind.DNR)
    new_rule_only = _check_digits(digits, rule_2032=rule_2032)
    birth_date = _birth_date(digits, layout)
    if birth_date > (today or dt.date.today()):
        raise InvalidIdentifier(f"birth date {birth_date.isoformat()} is in the future")
    sex: Sex | None = None
    if not new_rule_only and birth_date < SEX_NEUTRAL_FROM:
        sex = "male" if int(digits[8]) % 2 else "female"
    return PersonNumber(layout.kind, birth_date, sex, layout.synthetic)


def is_valid_person_number(value: str, *, today: dt.date | None = None) -> bool:
    """True if ``value`` is a valid person number of any kind."""
    try:
        classify_person_number(value, today=today)
    except InvalidIdentifier:
        return False
    return True


def _check_digits(digits: str, *, rule_2032: bool) -> bool:
    """Verify K1 and K2 of 11 digits; return True if only the 2032 rule makes K1 valid."""
    expected_k1 = _stdnum_fnr.calc_check_digit1(digits[:9])
    remainder = (int(digits[9]) - int(expected_k1)) % 11
    if remainder != 0 and not (rule_2032 and remainder <= 3):
        if expected_k1 == "10" and not rule_2032:
            raise InvalidIdentifier("check digit K1 would be 10, which no valid number has")
        raise InvalidIdentifier("check digit K1 does not match")
    expected_k2 = _stdnum_fnr.calc_check_digit2(digits[:10])
    if expected_k2 == "10":
        raise InvalidIdentifier("check digit K2 would be 10, which no valid number has")
    if digits[10] != expected_k2:
        raise InvalidIdentifier("check digit K2 does not match")
    return remainder != 0


def _decode_layout(digits: str) -> _Layout:
    """Read the kind and the real day and month from the date digits."""
    raw_day, raw_month = int(digits[0:2]), int(digits[2:4])
    is_d_number = raw_day > D_NUMBER_DAY_OFFSET
    day = raw_day - D_NUMBER_DAY_OFFSET if is_d_number else raw_day
    if not 1 <= day <= 31:
        raise InvalidIdentifier(f"day {raw_day} is not a valid day")
    offset = next((o for o in _MONTH_OFFSETS if 1 <= raw_month - o <= 12), None)
    if offset is None:
        raise InvalidIdentifier(f"month {raw_month} is not a valid month")
    if offset == H_NUMBER_MONTH_OFFSET:
        if is_d_number:
            raise InvalidIdentifier("a number cannot be both a D-number and an H-number")
        kind = PersonNumberKind.HNR
    else:
        kind = PersonNumberKind.DNR if is_d_number else PersonNumberKind.FNR
    return _Layout(kind, day, raw_month - offset, offset in SYNTHETIC_MONTH_OFFSETS)


def _birth_year(two_digit_year: int, individual_number: int) -> int:
    """The four-digit birth year from the year digits and the individual number."""
    if individual_number <= 499:
        return 1900 + two_digit_year
    if individual_number <= 749 and two_digit_year >= 54:
        return 1800 + two_digit_year
    if two_digit_year <= 39:
        return 2000 + two_digit_year
    if individual_number >= 900:
        return 1900 + two_digit_year
    raise InvalidIdentifier(
        f"individual number {individual_number:03d} is not used with year {two_digit_year:02d}"
    )


def _birth_date(digits: str, layout: _Layout) -> dt.date:
    """The encoded birth date; the century comes from the individual number."""
    year = _birth_year(int(digits[4:6]), int(digits[6:9]))
    try:
        return dt.date(year, layout.month, layout.day)
    except ValueError:
        reason = f"day {layout.day} is not a valid day in {_MONTH_NAMES[layout.month - 1]} {year}"
        if layout.month == 2 and layout.day == 29:
            reason += f" ({year} is not a leap year)"
        raise InvalidIdentifier(reason) from None
