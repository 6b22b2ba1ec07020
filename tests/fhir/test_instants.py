"""Instants as written out: a FHIR `instant` from integer microseconds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from samhandling.fhir.instants import datetime_to_us, format_instant, now_us


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


def test_an_instant_reads_back_as_the_same_microsecond() -> None:
    value_us = 1_733_390_000_000_001
    parsed = datetime.strptime(format_instant(value_us), "%Y-%m-%dT%H:%M:%S.%fZ")
    assert datetime_to_us(parsed.replace(tzinfo=UTC)) == value_us


def test_the_clock_counts_microseconds_since_the_epoch() -> None:
    before = datetime.now(UTC)
    value_us = now_us()
    after = datetime.now(UTC)
    assert datetime_to_us(before) - 1 <= value_us <= datetime_to_us(after) + 1
