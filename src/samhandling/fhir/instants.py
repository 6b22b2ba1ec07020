"""Points in time as the platform keeps them: microseconds since the Unix epoch (UTC).

The clock (`now_us`), conversions to and from `datetime` (a date range's open ends
clamped: `date_to_us`), and the two ways such a time is written out: a FHIR `instant` and
an HTTP-date.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1)  # naive: the instants' own UTC, without a time zone to print

# English names, as RFC 9110 has them (strftime's %a and %b follow the locale, and take
# twice the time of formatting the fields: one HTTP-date is written for every read).
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def now_us() -> int:
    """The current time as microseconds since the Unix epoch (UTC)."""
    return time.time_ns() // 1000  # a tenth of `datetime.now(UTC)`'s cost (one per write)


def us_to_datetime(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def datetime_to_us(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


# A date range's open ends (`datetime.min`/`max`, fhir_dates) lie beyond what timestamp()
# can express on every platform: they map to these extremes, as the index rows keep them.
MIN_US = -(2**62)
MAX_US = 2**62


def date_to_us(value: datetime) -> int:
    """`value` in microseconds, its year 1 and 9999 as the open ends MIN_US and MAX_US."""
    if value.year <= 1:
        return MIN_US
    if value.year >= 9999:
        return MAX_US
    return datetime_to_us(value)


# The last second formatted: (seconds since the epoch, its text up to the '.'). One tuple,
# replaced whole, so threads that race on it each read a consistent pair.
_last_second: tuple[int, str] = (0, "1970-01-01T00:00:00.")


def format_instant(value_us: int) -> str:
    """A FHIR `instant` (R4 §2.24.0.1) in UTC with microseconds: 2026-01-02T03:04:05.123456Z."""
    # Several per write (the stored meta.lastUpdated, the answer's lastModified, the audit
    # records), nearly all in the same second: the second's text is kept from the last
    # call, and only the microseconds are printed (a seventh of a `datetime`'s isoformat).
    global _last_second
    seconds, micro = divmod(value_us, 1_000_000)
    last = _last_second
    if last[0] != seconds:
        last = (seconds, (_EPOCH + timedelta(seconds=seconds)).isoformat() + ".")
        _last_second = last
    return f"{last[1]}{str(micro).zfill(6)}Z"  # zfill: cheaper than a format spec


# HTTP-dates by their second: a read's Last-Modified is that of a stored version, and the
# versions read are few seconds' worth (a load, a burst of writes). Cleared when full.
_http_dates: dict[int, str] = {}
_HTTP_DATES_KEPT = 4096


def format_http_date(value_us: int) -> str:
    """An RFC 9110 HTTP-date for Last-Modified."""
    second = value_us // 1_000_000
    found = _http_dates.get(second)
    if found is None:
        t = _EPOCH + timedelta(seconds=second)
        found = (
            f"{DAY_NAMES[t.weekday()]}, {t.day:02d} {MONTH_NAMES[t.month - 1]} {t.year:04d}"
            f" {t.hour:02d}:{t.minute:02d}:{t.second:02d} GMT"
        )
        if len(_http_dates) >= _HTTP_DATES_KEPT:
            _http_dates.clear()
        _http_dates[second] = found
    return found
