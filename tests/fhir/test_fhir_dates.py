"""FHIR date/dateTime/instant/time values as [low, high) UTC ranges by precision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from samhandling.fhir.fhir_dates import (
    MAX_DATETIME,
    MIN_DATETIME,
    parse_date,
    parse_date_range,
    parse_time_range,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type,misc]


@pytest.mark.parametrize(
    ("text", "low", "high", "precision"),
    [
        # partial dates without a zone are Europe/Oslo: CET (+01:00) in winter ...
        ("2024", utc(2023, 12, 31, 23), utc(2024, 12, 31, 23), "year"),
        ("2024-02", utc(2024, 1, 31, 23), utc(2024, 2, 29, 23), "month"),
        ("2024-12", utc(2024, 11, 30, 23), utc(2024, 12, 31, 23), "month"),
        ("2024-03-01", utc(2024, 2, 29, 23), utc(2024, 3, 1, 23), "day"),
        # ... and CEST (+02:00) in summer
        ("2024-07-15", utc(2024, 7, 14, 22), utc(2024, 7, 15, 22), "day"),
        ("2024-04", utc(2024, 3, 31, 22), utc(2024, 4, 30, 22), "month"),
        # the day daylight saving time ends has 25 hours, the day it starts 23
        ("2024-10-27", utc(2024, 10, 26, 22), utc(2024, 10, 27, 23), "day"),
        ("2024-03-31", utc(2024, 3, 30, 23), utc(2024, 3, 31, 22), "day"),
        # minute precision (search syntax), with and without a zone
        ("2024-03-01T10:00Z", utc(2024, 3, 1, 10), utc(2024, 3, 1, 10, 1), "minute"),
        ("2024-03-01T10:00", utc(2024, 3, 1, 9), utc(2024, 3, 1, 9, 1), "minute"),
        # seconds with every kind of zone
        ("2024-03-01T10:00:00Z", utc(2024, 3, 1, 10), utc(2024, 3, 1, 10, 0, 1), "second"),
        ("2024-03-01T10:00:00+01:00", utc(2024, 3, 1, 9), utc(2024, 3, 1, 9, 0, 1), "second"),
        (
            "2024-03-01T10:00:00-05:30",
            utc(2024, 3, 1, 15, 30),
            utc(2024, 3, 1, 15, 30, 1),
            "second",
        ),
        (
            "2024-03-01T00:30:00+14:00",
            utc(2024, 2, 29, 10, 30),
            utc(2024, 2, 29, 10, 30, 1),
            "second",
        ),
        ("2024-07-01T12:00:00", utc(2024, 7, 1, 10), utc(2024, 7, 1, 10, 0, 1), "second"),
        # fractions: the range is one unit of the last digit
        (
            "2024-03-01T10:00:00.5Z",
            utc(2024, 3, 1, 10, 0, 0, 500000),
            utc(2024, 3, 1, 10, 0, 0, 600000),
            "fraction",
        ),
        (
            "2024-03-01T10:00:00.123Z",
            utc(2024, 3, 1, 10, 0, 0, 123000),
            utc(2024, 3, 1, 10, 0, 0, 124000),
            "fraction",
        ),
        (  # beyond microseconds: truncated
            "2024-03-01T10:00:00.1234567Z",
            utc(2024, 3, 1, 10, 0, 0, 123456),
            utc(2024, 3, 1, 10, 0, 0, 123457),
            "fraction",
        ),
        # a leap second is the first second of the next minute
        ("2016-12-31T23:59:60Z", utc(2017, 1, 1), utc(2017, 1, 1, 0, 0, 1), "second"),
        # the ends of the datetime range are clamped
        ("0001", MIN_DATETIME, utc(1, 12, 31, 23, 17), "year"),
        ("9999", utc(9998, 12, 31, 23), MAX_DATETIME, "year"),
        ("9999-12-31", utc(9999, 12, 30, 23), MAX_DATETIME, "day"),
    ],
)
def test_ranges(text: str, low: datetime, high: datetime, precision: str) -> None:
    parsed = parse_date(text)
    assert (parsed.low, parsed.high, parsed.precision) == (low, high, precision)
    assert parse_date_range(text) == (low, high)
    assert parsed.low.tzinfo is UTC and parsed.high.tzinfo is UTC


def test_instant_and_date_of_same_moment_nest() -> None:
    day_low, day_high = parse_date_range("2024-03-01")
    low, high = parse_date_range("2024-03-01T00:30:00+01:00")
    assert day_low <= low < high <= day_high


@pytest.mark.parametrize(
    "text",
    [
        "",
        "24",
        "20240301",
        "2024-3-1",
        "2024-13",
        "2024-00",
        "2024-02-30",
        "2023-02-29",
        "0000",
        "2024-03-01Z",  # a zone needs a time
        "2024-03-01T10Z",  # hours alone
        "2024-03-01T24:00:00Z",
        "2024-03-01T10:60:00Z",
        "2024-03-01T10:00:61Z",
        "2024-03-01T10:00:00+15:00",
        "2024-03-01T10:00:00+14:30",
        "2024-03-01T10:00:00+0100",
        "2024-03-01 10:00:00Z",
        "2024-03-01T10:00:00.Z",
        " 2024",
        "yesterday",
    ],
)
def test_malformed_values_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date_range(text)


def test_non_strings_are_rejected() -> None:
    with pytest.raises(ValueError):
        parse_date_range(20240301)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("10:30:00", timedelta(hours=10, minutes=30), timedelta(hours=10, minutes=30, seconds=1)),
        ("00:00:00", timedelta(0), timedelta(seconds=1)),
        ("23:59:59.5", timedelta(seconds=86399.5), timedelta(seconds=86399.6)),
    ],
)
def test_time_ranges(text: str, low: timedelta, high: timedelta) -> None:
    assert parse_time_range(text) == (low, high)


@pytest.mark.parametrize("text", ["10:30", "24:00:00", "10:60:00", "1:00:00", "10:00:00Z", ""])
def test_malformed_times_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time_range(text)
