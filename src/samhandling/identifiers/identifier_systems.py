"""FHIR ``Identifier.system`` URIs of Norwegian identifiers, their aliases, and value checks.

Canonical systems are the OIDs of the no-basis NamingSystems. Aliases accepted on input
and normalised: the ``http://hl7.no/fhir/NamingSystem/...`` URIs listed in those
NamingSystems, and the wrong organisation-number and RESH OIDs (``...4.1.2.101``,
``...4.1.2.102``) that older no-basis versions and examples used. The ``urn:oid:`` prefix
is matched case-insensitively (URN scheme and namespace are case-insensitive).

``check_identifier`` accepts synthetic test-environment numbers (month + 65 / + 80) under
the FNR and D-number systems: they are the population of the national test environments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from samhandling.identifiers.common import InvalidIdentifier
from samhandling.identifiers.person_numbers import PersonNumberKind, classify_person_number
from samhandling.identifiers.register_numbers import (
    validate_her_id,
    validate_hpr_number,
    validate_organisation_number,
    validate_resh_id,
)

OID_PREFIX = "urn:oid:"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
FHN_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.3"
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
DUF_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.5"
ORGANISATION_NUMBER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
RESH_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.102"
HER_ID_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2"
H_NUMBER_TYPE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.8327"
"""Code system of identifier types; code ``HNR`` marks a local H-number (no national system)."""

_NAMING_SYSTEM_BASE = "http://hl7.no/fhir/NamingSystem/"
SYSTEM_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "urn:oid:2.16.578.1.12.4.1.2.101": ORGANISATION_NUMBER_SYSTEM,
        "urn:oid:2.16.578.1.12.4.1.2.102": RESH_SYSTEM,
        _NAMING_SYSTEM_BASE + "FNR": FNR_SYSTEM,
        _NAMING_SYSTEM_BASE + "DNR": DNR_SYSTEM,
        _NAMING_SYSTEM_BASE + "FHNR": FHN_SYSTEM,
        _NAMING_SYSTEM_BASE + "HPR": HPR_SYSTEM,
        _NAMING_SYSTEM_BASE + "DUFN": DUF_SYSTEM,
    }
)
"""Accepted non-canonical system URIs and the canonical system each stands for."""

_PERSON_NUMBER_SYSTEMS = MappingProxyType(
    {
        FNR_SYSTEM: PersonNumberKind.FNR,
        DNR_SYSTEM: PersonNumberKind.DNR,
        FHN_SYSTEM: PersonNumberKind.FHN,
    }
)
_REGISTER_NUMBER_SYSTEMS: Mapping[str, tuple[str, Callable[[str], str]]] = MappingProxyType(
    {
        HPR_SYSTEM: ("HPR number", validate_hpr_number),
        ORGANISATION_NUMBER_SYSTEM: ("organisation number", validate_organisation_number),
        RESH_SYSTEM: ("RESH id", validate_resh_id),
        HER_ID_SYSTEM: ("HER-id", validate_her_id),
    }
)
_PERSON_NUMBER_NAMES = MappingProxyType(
    {
        PersonNumberKind.FNR: "fødselsnummer (FNR)",
        PersonNumberKind.DNR: "D-number (DNR)",
        PersonNumberKind.HNR: "local H-number (HNR)",
        PersonNumberKind.FHN: "felles hjelpenummer (FHN)",
    }
)


def normalise_system(system: str) -> str:
    """The canonical form of an identifier system URI; unknown systems come back as given."""
    if system[: len(OID_PREFIX)].lower() == OID_PREFIX:
        system = OID_PREFIX + system[len(OID_PREFIX) :]
    return SYSTEM_ALIASES.get(system, system)


def check_identifier(system: str | None, value: str | None) -> str | None:
    """Why ``value`` is invalid under ``system``, or None if it is fine.

    None also when the system is missing or has no rule here (e.g. DUF numbers, local
    systems), and when the value is missing (FHIR allows an Identifier without a value).
    """
    if system is None or value is None:
        return None
    canonical = normalise_system(system)
    kind = _PERSON_NUMBER_SYSTEMS.get(canonical)
    if kind is not None:
        return _check_person_number(kind, value)
    if canonical in _REGISTER_NUMBER_SYSTEMS:
        name, validate = _REGISTER_NUMBER_SYSTEMS[canonical]
        try:
            validate(value)
        except InvalidIdentifier as exc:
            return f"not a valid {name}: {exc}"
    return None


def _check_person_number(kind: PersonNumberKind, value: str) -> str | None:
    """Why ``value`` is not a valid person number of ``kind``, or None."""
    name = _PERSON_NUMBER_NAMES[kind]
    try:
        found = classify_person_number(value)
    except InvalidIdentifier as exc:
        return f"not a valid {name}: {exc}"
    if found.kind is not kind:
        return (
            f"not a valid {name}: the value is a {_PERSON_NUMBER_NAMES[found.kind]}, "
            f"and the {kind} system requires kind {kind}"
        )
    return None
