"""Which identifiers of a Patient claim a national identity (one person, one record).

A fødselsnummer, D-number or felles hjelpenummer (their national systems), or a local
H-number (an identifier typed ``HNR``, unique within its issuer's own system), belongs to at
most one active Patient. A Patient replaced by a merge (``link`` type ``replaced-by``) holds
no claim: the surviving record carries the person's numbers.
"""

from __future__ import annotations

from typing import Any

from samhandling.identifiers.identifier_systems import (
    DNR_SYSTEM,
    FHN_SYSTEM,
    FNR_SYSTEM,
    H_NUMBER_TYPE_SYSTEM,
    normalise_system,
)

NATIONAL_SYSTEMS = (FNR_SYSTEM, DNR_SYSTEM, FHN_SYSTEM)

Claim = tuple[str, str]
"""(system, value) of a claimed identity number."""


def is_replaced(patient: dict[str, Any]) -> bool:
    """True when a merge replaced this Patient by another (R5 Patient-merge)."""
    links = patient.get("link") or []
    return any(isinstance(link, dict) and link.get("type") == "replaced-by" for link in links)


def identity_claims(patient: dict[str, Any] | None) -> frozenset[Claim]:
    """The (system, value) pairs this Patient version claims; none when deleted or replaced."""
    if patient is None or is_replaced(patient):
        return frozenset()
    claims = set()
    for identifier in patient.get("identifier") or []:
        if not isinstance(identifier, dict):
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if not isinstance(system, str) or not isinstance(value, str):
            continue
        system = normalise_system(system)
        if system in NATIONAL_SYSTEMS or is_h_number(identifier):
            claims.add((system, value))
    return frozenset(claims)


def is_h_number(identifier: dict[str, Any]) -> bool:
    """True for an identifier typed as a local H-number (HNR)."""
    codings = (identifier.get("type") or {}).get("coding") or []
    return any(
        isinstance(c, dict) and c.get("system") == H_NUMBER_TYPE_SYSTEM and c.get("code") == "HNR"
        for c in codings
    )


def mask_number(value: str) -> str:
    """A number fit for logs: the birth-date digits of an 11-digit number, the rest masked."""
    if len(value) == 11 and (value.isascii() and value.isdigit()):
        return value[:6] + "*****"
    return "*" * len(value)
