"""Edge cases of person-number classification, with numbers constructed for these tests.

Every number below was built from its date and individual digits with check digits
computed by hand-written arithmetic independent of the code under test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from samhandling.identifiers import (
    InvalidIdentifier,
    PersonNumber,
    PersonNumberKind,
    classify_person_number,
    is_valid_person_number,
)

FNR, DNR, HNR, FHN = (
    PersonNumberKind.FNR,
    PersonNumberKind.DNR,
    PersonNumberKind.HNR,
    PersonNumberKind.FHN,
)
LATER = dt.date(2040, 1, 1)
"""A ``today`` after every encodable birth date, for numbers born from 2027 on."""

VALID = [
    # value, kind, birth date, sex, synthetic
    ("15058510251", FNR, dt.date(1985, 5, 15), "female", False),
    ("15058510170", FNR, dt.date(1985, 5, 15), "male", False),
    # 29 February: 2000 is a leap year (individual 500-999 with year 00-39), 1904 and 2004 too
    ("29020050088", FNR, dt.date(2000, 2, 29), "female", False),
    ("29020400119", FNR, dt.date(1904, 2, 29), "male", False),
    ("29020450132", FNR, dt.date(2004, 2, 29), "male", False),
    ("30048500265", FNR, dt.date(1985, 4, 30), "female", False),
    # century from the individual number
    ("13085450128", FNR, dt.date(1854, 8, 13), "male", False),
    ("13086060064", FNR, dt.date(1860, 8, 13), "female", False),
    ("31129970041", FNR, dt.date(1899, 12, 31), "female", False),
    ("13086095100", FNR, dt.date(1960, 8, 13), "male", False),
    ("31129999147", FNR, dt.date(1999, 12, 31), "male", False),
    ("01012095119", FNR, dt.date(2020, 1, 1), "male", False),
    # D-number: day + 40, day 71 is the 31st
    ("71018500137", DNR, dt.date(1985, 1, 31), "male", False),
    # H-number: month + 40, months 41 and 52
    ("15418500201", HNR, dt.date(1985, 1, 15), "female", False),
    ("31528500164", HNR, dt.date(1985, 12, 31), "male", False),
    # felles hjelpenummer: first digit 8 or 9, no date or sex
    ("81234567802", FHN, None, None, False),
    ("91234567883", FHN, None, None, False),
    # synthetic: Skatteetaten/Tenor month + 80, NHN Persontjenesten month + 65
    ("15898500052", FNR, dt.date(1985, 9, 15), "female", True),
    ("31928500147", FNR, dt.date(1985, 12, 31), "male", True),
    ("55898500127", DNR, dt.date(1985, 9, 15), "male", True),
    ("15748500135", FNR, dt.date(1985, 9, 15), "male", True),
    ("55748500048", DNR, dt.date(1985, 9, 15), "female", True),
    # 2032 rule: weighted sum through K1 leaves remainder 1-3; sex no longer encoded
    ("15058500701", FNR, dt.date(1985, 5, 15), None, False),  # classic K1 would be 10
    ("15058500728", FNR, dt.date(1985, 5, 15), None, False),
    ("15058510278", FNR, dt.date(1985, 5, 15), None, False),  # same person digits as ...251
    ("55898501271", DNR, dt.date(1985, 9, 15), None, True),
]


@pytest.mark.parametrize(("value", "kind", "birth_date", "sex", "synthetic"), VALID)
def test_valid_numbers_classify_exactly(value, kind, birth_date, sex, synthetic):
    assert classify_person_number(value) == PersonNumber(kind, birth_date, sex, synthetic)
    assert is_valid_person_number(value)


INVALID = [
    # format
    ("1505851025", "11 digits required, got 10"),
    ("150585102511", "11 digits required, got 12"),
    ("", "11 digits required, got 0"),
    ("00000000000", "all digits are zero"),
    ("1505851025X", "only the digits 0-9 are allowed, found 'X'"),
    ("150585-10251", "only the digits 0-9 are allowed, found '-'"),
    ("150585 10251", "whitespace is not allowed; 11 digits required"),
    (" 15058510251", "whitespace is not allowed; 11 digits required"),
    ("15058510251\n", "whitespace is not allowed; 11 digits required"),
    ("１５０５８５１０２５１", "only the digits 0-9 are allowed, found '１'"),  # fullwidth
    ("١٥٠٥٨٥١٠٢٥١", "only the digits 0-9 are allowed, found '١'"),  # Arabic-Indic
    # check digits
    ("15058510252", "check digit K2 does not match"),
    ("15058510291", "check digit K1 does not match"),  # remainder 4: not even 2032-valid
    ("15058510294", "check digit K1 does not match"),
    ("15058500370", "check digit K2 would be 10, which no valid number has"),
    # the 2032 rule is for FNR and D-numbers only, not local H-numbers or FH-numbers
    ("15418500805", "check digit K1 would be 10, which no valid number has"),
    ("15418502069", "check digit K1 does not match"),
    ("81234567810", "check digit K1 does not match"),
    # day and month
    ("32018500263", "day 32 is not a valid day"),
    ("00018500000", "day 0 is not a valid day"),
    ("40018500266", "day 40 is not a valid day"),
    ("72018500176", "day 72 is not a valid day"),
    ("01138500078", "month 13 is not a valid month"),
    ("01008500211", "month 0 is not a valid month"),
    ("15538500078", "month 53 is not a valid month"),
    ("15658500187", "month 65 is not a valid month"),
    ("31938500137", "month 93 is not a valid month"),
    ("55418500033", "a number cannot be both a D-number and an H-number"),
    # calendar
    ("29020000064", "day 29 is not a valid day in February 1900 (1900 is not a leap year)"),
    ("29020150260", "day 29 is not a valid day in February 2001 (2001 is not a leap year)"),
    ("30028500013", "day 30 is not a valid day in February 1985"),
    ("31048500032", "day 31 is not a valid day in April 1985"),
    ("71048500107", "day 31 is not a valid day in April 1985"),
    # century
    ("13084560264", "individual number 602 is not used with year 45"),
    ("13084580028", "individual number 800 is not used with year 45"),
]


@pytest.mark.parametrize(("value", "reason"), INVALID)
def test_invalid_numbers_are_rejected_with_the_reason(value, reason):
    with pytest.raises(InvalidIdentifier) as caught:
        classify_person_number(value, today=LATER)
    assert str(caught.value) == reason
    assert not is_valid_person_number(value, today=LATER)


def test_invalid_identifier_is_a_value_error():
    with pytest.raises(ValueError, match="check digit K2"):
        classify_person_number("15058510252")


@pytest.mark.parametrize("value", [15058510251, None, b"15058510251"])
def test_non_string_input_is_rejected(value):
    with pytest.raises(InvalidIdentifier, match="a string of 11 digits is required"):
        classify_person_number(value)


def test_future_birth_date_is_rejected_relative_to_today():
    with pytest.raises(InvalidIdentifier, match="birth date 2031-12-31 is in the future"):
        classify_person_number("31123150190", today=dt.date(2031, 12, 30))
    born = classify_person_number("31123150190", today=dt.date(2031, 12, 31))
    assert born == PersonNumber(FNR, dt.date(2031, 12, 31), "male", False)


def test_default_today_is_the_current_date():
    assert not is_valid_person_number("01013950268")  # born 2039-01-01
    assert classify_person_number("01013950268", today=LATER).birth_date == dt.date(2039, 1, 1)


def test_numbers_born_from_2032_carry_no_sex():
    # same individual digit parity (odd, "male" before 2032) on both sides of the change
    assert classify_person_number("31123150190", today=LATER).sex == "male"
    born_2032 = classify_person_number("01013250150", today=LATER)
    assert born_2032 == PersonNumber(FNR, dt.date(2032, 1, 1), None, False)


def test_result_is_frozen():
    result = classify_person_number("15058510251")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.sex = "male"  # type: ignore[misc]
