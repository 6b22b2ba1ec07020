"""Organisation numbers (Enhetsregisteret) and the register numbers of health care.

* Organisation number: 9 digits, the last a mod-11 check digit over the first eight with
  weights 3,2,7,6,5,4,3,2 (arithmetic from ``stdnum.no.orgnr``); a computed check digit
  of 10 means no valid number has those eight digits.
* HPR number (Helsepersonellregisteret): a positive integer of at most 9 digits. No check
  digit is published, so only the form can be checked.
* RESH id (Register for enheter i spesialisthelsetjenesten) and HER-id (NHN's
  Adresseregister, messaging addresses): positive integers assigned by their registers,
  no published check digit or length. We accept 1-9 digits: the bound is our own sanity
  limit (it keeps the value within a signed 32-bit integer).

HPR, RESH and HER-id values must be written without leading zeros: they are compared as
exact strings, and "0123" would silently fail to match the register's "123".
"""

from __future__ import annotations

from collections.abc import Callable

from stdnum.no import orgnr as _stdnum_orgnr

from samhandling.identifiers.common import InvalidIdentifier, require_digits

REGISTER_NUMBER_MAX_DIGITS = 9


def validate_organisation_number(value: str) -> str:
    """Return ``value`` if it is a valid organisation number, else raise InvalidIdentifier."""
    digits = require_digits(value, 9)
    if _stdnum_orgnr.checksum(digits) != 0:
        expected = (11 - _stdnum_orgnr.checksum(digits[:8] + "0")) % 11
        if expected == 10:
            raise InvalidIdentifier("check digit would be 10, which no valid number has")
        raise InvalidIdentifier("check digit does not match")
    return digits


def is_valid_organisation_number(value: str) -> bool:
    """True if ``value`` is a valid organisation number."""
    return _is_valid(validate_organisation_number, value)


def validate_hpr_number(value: str) -> str:
    """Return ``value`` if it has the form of an HPR number (no check digit exists)."""
    return _validate_register_number(value)


def is_valid_hpr_number(value: str) -> bool:
    """True if ``value`` has the form of an HPR number."""
    return _is_valid(validate_hpr_number, value)


def validate_resh_id(value: str) -> str:
    """Return ``value`` if it has the form of a RESH id (a positive integer)."""
    return _validate_register_number(value)


def validate_her_id(value: str) -> str:
    """Return ``value`` if it has the form of a HER-id (a positive integer)."""
    return _validate_register_number(value)


def _validate_register_number(value: str) -> str:
    """A positive integer of 1-9 digits written without leading zeros."""
    digits = require_digits(value, 1, REGISTER_NUMBER_MAX_DIGITS)
    if digits[0] == "0":
        raise InvalidIdentifier("leading zeros are not allowed")
    return digits


def _is_valid(validate: Callable[[str], str], value: str) -> bool:
    """True if ``validate`` accepts ``value``."""
    try:
        validate(value)
    except InvalidIdentifier:
        return False
    return True
