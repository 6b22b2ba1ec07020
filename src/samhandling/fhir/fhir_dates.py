"""FHIR date, dateTime, instant and time values as half-open UTC ranges by precision.

A FHIR date value denotes the whole interval its precision covers (R4 §3.1.1.4.5 "date"):
``2024`` is the year, ``2024-03`` the month, ``2024-03-01`` the day, ``2024-03-01T10:00``
(search syntax) the minute, ``…T10:00:00`` the second and ``…T10:00:00.25`` the hundredth of
a second. ``parse_date_range`` returns that interval as ``[low, high)`` — low inclusive, high
**exclusive** — in timezone-aware UTC datetimes. The same function serves index extraction
(write time) and search-value parsing (query time), so both sides agree exactly.

**Time zone decision.** Values without a time zone — dates, partial dates, and times written
without an offset (allowed in search values only) — are interpreted in the server's local
time, which R4 leaves to the server; this server's local time is ``Europe/Oslo``
(``LOCAL_TZ``), with daylight saving time. ``2024-03-01`` therefore covers
``[2024-02-29T23:00Z, 2024-03-01T23:00Z)``. Values with an offset or ``Z`` use that offset.

Ranges that would leave the ``datetime`` range (years 0001 and 9999 after conversion) are
clamped to ``MIN_DATETIME`` / ``MAX_DATETIME``, which also stand for the open ends of a
Period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "LOCAL_TZ",
    "MAX_DATETIME",
    "MIN_DATETIME",
    "FhirDate",
    "parse_date",
    "parse_date_range",
    "parse_time_range",
]

LOCAL_TZ: tzinfo = ZoneInfo("Europe/Oslo")
MIN_DATETIME = datetime.min.replace(tzinfo=UTC)
MAX_DATETIME = datetime.max.replace(tzinfo=UTC)

PRECISIONS = ("year", "month", "day", "minute", "second", "fraction")

_DATE_RE = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:-(?P<month>[0-9]{2})"
    r"(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?"
    r")?)?)?"
)
_TIME_RE = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?")


@dataclass(frozen=True, slots=True)
class FhirDate:
    """A parsed FHIR date/dateTime/instant: the ``[low, high)`` UTC range and its precision."""

    low: datetime
    high: datetime
    precision: str  # one of PRECISIONS


def parse_date_range(text: str) -> tuple[datetime, datetime]:
    """``[low, high)`` in UTC for a FHIR date, dateTime or instant; ValueError if malformed."""
    parsed = parse_date(text)
    return parsed.low, parsed.high


def date_or_none(value: object) -> FhirDate | None:
    """`parse_date` of a resource's element, or None when it is missing or malformed."""
    if not isinstance(value, str):
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def parse_date(text: str) -> FhirDate:
    """Parse a FHIR date, dateTime or instant (or a search value with minute precision)."""
    match = _DATE_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a FHIR date, dateTime or instant: {text!r}")
    year = int(match["year"])
    if year == 0:
        raise ValueError(f"year 0000 is not a valid FHIR date: {text!r}")
    if match["hour"] is None:
        return _calendar_range(year, match["month"], match["day"], text)
    return _time_range(match, text)


def _calendar_range(year: int, month_text: str | None, day_text: str | None, text: str) -> FhirDate:
    month = int(month_text) if month_text else 1
    day = int(day_text) if day_text else 1
    start = datetime(year, month, day)  # ValueError for month 13, 30 February, ...
    if day_text:
        precision, end = "day", _add(start, timedelta(days=1))
    elif month_text:
        precision = "month"
        end = datetime(year + month // 12, month % 12 + 1, 1) if year < 9999 or month < 12 else None
    else:
        precision, end = "year", datetime(year + 1, 1, 1) if year < 9999 else None
    return FhirDate(_to_utc(start, LOCAL_TZ), _to_utc(end, LOCAL_TZ), precision)


def _time_range(match: re.Match[str], text: str) -> FhirDate:
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise ValueError(f"invalid time of day in {text!r}")
    base = datetime(int(match["year"]), int(match["month"]), int(match["day"]), hour, minute)
    zone = _zone(match["tz"], text)
    if match["second"] is None:
        return FhirDate(
            _to_utc(base, zone), _to_utc(_add(base, timedelta(minutes=1)), zone), "minute"
        )
    second = int(match["second"])
    if second > 60:  # 60 is a leap second
        raise ValueError(f"invalid seconds in {text!r}")
    fraction = match["fraction"]
    micro, step = 0, timedelta(seconds=1)
    if fraction:
        digits = fraction[:6]
        micro = int(digits.ljust(6, "0"))
        step = timedelta(microseconds=10 ** (6 - len(digits)))
    low = _add(base, timedelta(seconds=second, microseconds=micro))
    high = _add(low, step) if low is not None else None
    precision = "fraction" if fraction else "second"
    return FhirDate(_to_utc(low, zone), _to_utc(high, zone), precision)


def _zone(text: str | None, whole: str) -> tzinfo:
    if text is None:
        return LOCAL_TZ
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59 or hours > 14 or (hours == 14 and minutes):
        raise ValueError(f"invalid time-zone offset in {whole!r}")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _add(value: datetime | None, delta: timedelta) -> datetime | None:
    """``value + delta`` or None when the result leaves the datetime range (= unbounded)."""
    if value is None:
        return None
    try:
        return value + delta
    except OverflowError:
        return None


def _to_utc(local: datetime | None, zone: tzinfo) -> datetime:
    """Naive wall-clock time in ``zone`` -> aware UTC; None (overflow) -> MAX_DATETIME."""
    if local is None:
        return MAX_DATETIME
    try:
        return local.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return MIN_DATETIME if local.year == 1 else MAX_DATETIME


def parse_time_range(text: str) -> tuple[timedelta, timedelta]:
    """``[low, high)`` of a FHIR ``time`` (``hh:mm:ss[.fff]``) as offsets from midnight.

    A ``time`` has no date and no time zone, so it cannot be a UTC range; the offsets are
    wall-clock times of day.
    """
    match = _TIME_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a FHIR time: {text!r}")
    hour, minute, second = (int(g) for g in match.groups()[:3])
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"not a FHIR time: {text!r}")
    fraction = (match.group(4) or "")[:6]
    low = timedelta(
        hours=hour, minutes=minute, seconds=second, microseconds=int(fraction.ljust(6, "0") or 0)
    )
    step = timedelta(microseconds=10 ** (6 - len(fraction))) if fraction else timedelta(seconds=1)
    return low, low + step
