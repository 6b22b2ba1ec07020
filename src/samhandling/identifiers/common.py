"""The rejection type shared by every identifier validator, and the shared format check."""

from __future__ import annotations

import re

_ASCII_DIGITS = re.compile(r"[0-9]*")


class InvalidIdentifier(ValueError):
    """An identifier value that breaks the rules of its kind; ``str(exc)`` is the reason."""


def require_digits(value: object, min_length: int, max_length: int | None = None) -> str:
    """Return ``value`` if it is a string of ASCII digits of the allowed length, else raise.

    No separators, whitespace or non-ASCII digits are tolerated: identifier values are
    compared as exact strings (FHIR token search), so only one spelling is accepted.
    """
    max_length = min_length if max_length is None else max_length
    wanted = (
        f"{min_length} digits"
        if min_length == max_length
        else f"{min_length} to {max_length} digits"
    )
    if not isinstance(value, str):
        raise InvalidIdentifier(f"a string of {wanted} is required, got {type(value).__name__}")
    if any(ch.isspace() for ch in value):
        raise InvalidIdentifier(f"whitespace is not allowed; {wanted} required")
    if not _ASCII_DIGITS.fullmatch(value):
        bad = next(ch for ch in value if ch not in "0123456789")
        raise InvalidIdentifier(f"only the digits 0-9 are allowed, found {bad!r}")
    if not min_length <= len(value) <= max_length:
        raise InvalidIdentifier(f"{wanted} required, got {len(value)}")
    if value.strip("0") == "":
        raise InvalidIdentifier("all digits are zero")
    return value
