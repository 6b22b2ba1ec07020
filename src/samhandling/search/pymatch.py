"""The search comparisons in Python, for values SQL cannot compare (composite keys).

They mirror ``conditions.py`` exactly; tests compare both.
"""

from __future__ import annotations

from decimal import Decimal

from samhandling.fhir.indexing.convert import precision_range
from samhandling.search.conditions import approximate_date, approximate_number
from samhandling.search.values import DateRange, NumberValue, TokenValue


def token_key(key: str, token: TokenValue) -> bool:
    """``system|code`` key of a composite token component against a token search value."""
    system, _, code = key.partition("|")
    if token.system is not None and system != token.system:
        return False
    return token.code is None or code == token.code


def number(value: Decimal, s: NumberValue) -> bool:
    v = float(value)
    lo, hi, exact = float(s.low), float(s.high), float(s.value)
    t_low, t_high = (float(x) for x in precision_range(value))
    prefix = s.prefix
    if prefix == "ap":
        ap_lo, ap_hi = approximate_number(s)
        return ap_lo <= v < ap_hi
    return {
        "eq": lo <= v < hi,
        "ne": not lo <= v < hi,
        "gt": v > exact,
        "lt": v < exact,
        "ge": v >= exact,
        "le": v <= exact,
        "sa": t_low >= hi,
        "eb": t_high <= lo,
    }[prefix]


def date(t_low: int, t_high: int, s: DateRange) -> bool:
    within = t_low >= s.low and t_high <= s.high
    prefix = s.prefix
    if prefix == "ap":
        low, high = approximate_date(s)
        return t_low < high and t_high > low
    return {
        "eq": within,
        "ne": not within,
        "gt": t_high > s.high,
        "lt": t_low < s.low,
        "ge": t_high > s.high or within,
        "le": t_low < s.low or within,
        "sa": t_low >= s.high,
        "eb": t_high <= s.low,
    }[prefix]
