"""JSON numbers as Decimals with the implicit precision range of R4 §3.1.1.4.2.

Used for number and quantity index values at write time and for number and quantity search
values at query time, so that both sides agree.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

__all__ = ["number_range", "precision_range", "to_decimal"]


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number as Decimal, keeping the precision the parsed value still shows."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            return None
        return parsed if parsed.is_finite() else None
    return None


def precision_range(value: Decimal) -> tuple[Decimal, Decimal]:
    """``[low, high)`` implied by the written precision: half a unit of the last digit.

    ``100`` -> [99.5, 100.5), ``100.00`` -> [99.995, 100.005), ``1e2`` -> [50, 150).
    (R4 §3.1.1.4.2 calls ``1e2`` one significant figure yet gives [95, 105) as its example;
    the stated rule is followed here, and the same function serves search values.)
    """
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only
    half = _half_unit(exponent)
    return value - half, value + half


@lru_cache(maxsize=128)
def _half_unit(exponent: int) -> Decimal:
    return Decimal((0, (5,), exponent - 1))


def number_range(value: Any) -> tuple[Decimal, Decimal, Decimal] | None:
    """``(value, low, high)`` of a JSON number (int, float or Decimal), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return _number_range(repr(value))
    if isinstance(value, int | Decimal):
        return _number_range(str(value))  # str() keeps a Decimal's exponent
    return None


@lru_cache(maxsize=8192)
def _number_range(text: str) -> tuple[Decimal, Decimal, Decimal] | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    low, high = precision_range(value)
    return value, low, high
