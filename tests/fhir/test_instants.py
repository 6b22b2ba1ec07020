"""Instants as written out: a FHIR `instant` from integer microseconds, and an HTTP-date."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samhandling.fhir import instants
from samhandling.fhir.instants import datetime_to_us, format_http_date, format_instant, now_us

_EPOCH = datetime(1970, 1, 1)
MIN_US = datetime_to_us(datetime(1, 1, 1, tzinfo=UTC))
MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z


@pytest.mark.parametrize(
    ("value_us", "written"),
    [
        (0, "1970-01-01T00:00:00.000000Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (1_764_900_000_123_456, "2025-12-05T02:00:00.123456Z"),
        (253_402_300_799_999_999, "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_an_instant_is_written_to_the_microsecond_in_utc(value_us: int, written: str) -> None:
    assert format_instant(value_us) == written


def isoformat_instant(value_us: int) -> str:
    """The former `format_instant`: the whole instant by `datetime.isoformat`."""
    return (_EPOCH + timedelta(microseconds=value_us)).isoformat(timespec="microseconds") + "Z"


@settings(max_examples=500)
@given(st.lists(st.integers(MIN_US, MAX_US), min_size=1, max_size=8), st.integers(0, 3))
def test_an_instant_is_written_as_isoformat_writes_it(values: list[int], near: int) -> None:
    """Whatever second the last instant was in: runs within one second (the kept second's
    text reused) and jumps between seconds and across the epoch give isoformat's text."""
    for value in values:
        for moment in (value, value + near, value - near * 1_000_000):
            if MIN_US <= moment <= MAX_US:
                assert format_instant(moment) == isoformat_instant(moment)


def test_the_kept_second_is_the_last_one_written() -> None:
    format_instant(1_764_900_000_123_456)
    assert instants._last_second == (1_764_900_000, "2025-12-05T02:00:00.")
    assert format_instant(1_764_900_000_999_999) == "2025-12-05T02:00:00.999999Z"
    assert format_instant(1_764_900_001_000_000) == "2025-12-05T02:00:01.000000Z"
    assert instants._last_second[0] == 1_764_900_001


def test_an_instant_beyond_year_9999_is_refused_as_before() -> None:
    with pytest.raises(OverflowError):
        isoformat_instant(MAX_US + 1)
    with pytest.raises(OverflowError):
        format_instant(MAX_US + 1)


def test_an_instant_reads_back_as_the_same_microsecond() -> None:
    value_us = 1_733_390_000_000_001
    parsed = datetime.strptime(format_instant(value_us), "%Y-%m-%dT%H:%M:%S.%fZ")
    assert datetime_to_us(parsed.replace(tzinfo=UTC)) == value_us


def test_the_clock_counts_microseconds_since_the_epoch() -> None:
    before = datetime.now(UTC)
    value_us = now_us()
    after = datetime.now(UTC)
    assert datetime_to_us(before) - 1 <= value_us <= datetime_to_us(after) + 1


HTTP_DATE_EDGES = [
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 12, 5, 9, 5, 7, 10, tzinfo=UTC),
    datetime(2099, 12, 31, 0, 0, 0, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", HTTP_DATE_EDGES, ids=str)
def test_an_http_date_is_written_as_strftime_writes_it(moment: datetime) -> None:
    """Field by field, with RFC 9110's English names (strftime's in the C locale)."""
    assert format_http_date(datetime_to_us(moment)) == moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_a_known_http_date() -> None:
    value = datetime_to_us(datetime(2026, 12, 5, 9, 5, 7, 123_456, tzinfo=UTC))
    assert format_http_date(value) == "Sat, 05 Dec 2026 09:05:07 GMT"


def test_any_time_gives_strftime_s_http_date() -> None:
    rng = random.Random(24)
    for _ in range(5_000):
        value = rng.randrange(0, 4_102_444_800_000_000)  # up to 2100
        moment = datetime.fromtimestamp(value / 1_000_000, UTC)
        assert format_http_date(value) == moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_http_dates_are_kept_by_the_second_and_bounded() -> None:
    """One text per second, whatever the microseconds; the kept texts never grow past
    their bound, and what is written after a clearing is the same."""
    second = datetime_to_us(datetime(2026, 12, 6, 7, 30, 1, tzinfo=UTC))
    first = format_http_date(second)
    assert format_http_date(second + 999_999) is first
    assert format_http_date(second + 1_000_000) == "Sun, 06 Dec 2026 07:30:02 GMT"
    for n in range(instants._HTTP_DATES_KEPT + 10):
        format_http_date(n * 1_000_000)
    assert len(instants._http_dates) <= instants._HTTP_DATES_KEPT
    assert format_http_date(second + 5) == first
