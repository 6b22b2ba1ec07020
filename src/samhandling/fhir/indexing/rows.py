"""Index rows: the typed values a resource is indexed by, one row per value and parameter.

Every row names its search parameter by code (``param``); the store keys its narrow index
tables by that string. Rows are frozen, hashable and compare by value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = [
    "CompositeValue",
    "DateValue",
    "IndexValue",
    "NumberValue",
    "QuantityValue",
    "ReferenceValue",
    "ResourceIndex",
    "StringValue",
    "TextValue",
    "TokenValue",
    "UriValue",
]


@dataclass(frozen=True, slots=True)
class TokenValue:
    """A token: ``system|code`` plus the folded text that ``:text`` searches match.

    ``param`` is the parameter code, or ``<code>:of-type`` / ``<code>:identifier`` for the
    extra rows of Identifier types and identifier references (see ``values``).
    """

    param: str
    system: str | None
    code: str | None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class StringValue:
    """A string: ``normalized`` is ``fold(exact)``, ``exact`` the value as written."""

    param: str
    normalized: str
    exact: str


@dataclass(frozen=True, slots=True)
class TextValue:
    """The distinct folded words of a text, space-separated (``_text``, ``_content``; see
    ``text``)."""

    param: str
    words: str


@dataclass(frozen=True, slots=True)
class DateValue:
    """A date range in UTC: ``low`` inclusive, ``high`` exclusive."""

    param: str
    low: datetime
    high: datetime


@dataclass(frozen=True, slots=True)
class NumberValue:
    """A number with its implicit precision range ``[low, high)``."""

    param: str
    value: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class QuantityValue:
    """A quantity: value with precision range ``[low, high)``, plus system, code and unit.

    For a Range, ``value`` is None and ``low``/``high`` are its bounds (None when open).
    """

    param: str
    value: Decimal | None
    low: Decimal | None
    high: Decimal | None
    system: str | None
    code: str | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    """A reference: ``target_type``/``target_id`` for ``Type/id`` (relative, or an absolute
    URL ending in ``Type/id``), ``version`` from ``/_history/v`` or a canonical's ``|v``, and
    ``url`` for absolute and other non-relative references (without ``/_history`` or
    ``|version``)."""

    param: str
    target_type: str | None
    target_id: str | None
    version: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class UriValue:
    """A uri value as written."""

    param: str
    uri: str


IndexValue = (
    TokenValue | StringValue | DateValue | NumberValue | QuantityValue | ReferenceValue | UriValue
)


@dataclass(frozen=True, slots=True)
class CompositeValue:
    """One combination of component values, taken from the same repetition of the base.

    Each component row's ``param`` is the code of the component's own search parameter
    (e.g. ``code`` and ``value-quantity`` for ``code-value-quantity``).
    """

    param: str
    components: tuple[IndexValue, ...]


@dataclass(frozen=True, slots=True)
class ResourceIndex:
    """All index rows of one resource, by kind."""

    resource_type: str
    tokens: tuple[TokenValue, ...] = ()
    strings: tuple[StringValue, ...] = ()
    dates: tuple[DateValue, ...] = ()
    numbers: tuple[NumberValue, ...] = ()
    quantities: tuple[QuantityValue, ...] = ()
    references: tuple[ReferenceValue, ...] = ()
    uris: tuple[UriValue, ...] = ()
    composites: tuple[CompositeValue, ...] = ()
    texts: tuple[TextValue, ...] = ()  # full text (text.py), not part of rows()

    def rows(self) -> Iterator[IndexValue | CompositeValue]:
        """Every row, tokens first and composites last."""
        for group in (self.tokens, self.strings, self.dates, self.numbers):
            yield from group
        for other in (self.quantities, self.references, self.uris, self.composites):
            yield from other

    def params(self) -> frozenset[str]:
        """Codes (incl. ``:of-type``/``:identifier`` forms) that have at least one row."""
        return frozenset(row.param for row in self.rows())


# The kinds of index row in the order of ResourceIndex's fields (a resource's rows are
# bucketed by kind in this order: `values._resource_index`, `vital_signs.direct_index`)
ROW_KINDS = (
    TokenValue,
    StringValue,
    DateValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    UriValue,
    CompositeValue,
)
