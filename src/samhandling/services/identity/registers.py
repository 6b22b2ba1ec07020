"""The registers of health personnel and organisations, as the trust framework needs them.

`check_principal_registered(connection, principal)` answers whether the people and
organisations a token speaks for exist in the registers held here (Practitioner and
Organization resources, e.g. loaded from `demo/register-bundle.json` or a national extract):

* a clinician: an active Practitioner with the token's HPR number; when the attestation
  names an authorisation (9060 code: LE, SP, FA1 …), the Practitioner holds it as a
  `qualification`;
* for every caller with organisations (clinicians and systems): the legal entity and the
  point of care (organisation numbers) and the department (RESH id) are active
  Organizations, and each lies below the one above it through `partOf` (legal entity →
  point of care → department; a point of care may be the legal entity itself);
* a citizen: nothing to check here (the national ID is resolved elsewhere).

The answer is None when everything is registered, else the reason (for the audit trail and
a 403). The look-ups use the identifier index and are a handful of primary-key reads.
"""

from __future__ import annotations

from typing import Any

from samhandling.auth.principal import Principal
from samhandling.identifiers.identifier_systems import (
    HPR_SYSTEM,
    ORGANISATION_NUMBER_SYSTEM,
    RESH_SYSTEM,
)
from samhandling.services.identity.lookups import current_resource, resources_by_identifier
from samhandling.store.database import Connection

AUTHORIZATION_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.9060"
MAX_HIERARCHY_DEPTH = 10


def check_principal_registered(connection: Connection, principal: Principal) -> str | None:
    """None when the caller's practitioner and organisations are registered, else why not."""
    if principal.kind == "citizen":
        return None
    if principal.kind == "clinician":
        reason = _check_practitioner(connection, principal)
        if reason:
            return reason
    return _check_organisations(connection, principal)


def find_practitioner(connection: Connection, hpr_number: str) -> dict[str, Any] | None:
    """The active Practitioner with this HPR number, or None."""
    found = resources_by_identifier(connection, "Practitioner", HPR_SYSTEM, hpr_number)
    return next((p for p in found if p.get("active", True) is not False), None)


def find_organization(connection: Connection, system: str, value: str) -> dict[str, Any] | None:
    """The active Organization with this identifier (organisation number or RESH), or None."""
    found = resources_by_identifier(connection, "Organization", system, value)
    return next((o for o in found if o.get("active", True) is not False), None)


def has_authorization(practitioner: dict[str, Any], code: str) -> bool:
    """Whether the Practitioner holds the 9060 authorisation `code` as a qualification."""
    for qualification in practitioner.get("qualification") or []:
        for coding in (qualification.get("code") or {}).get("coding") or []:
            if coding.get("system") == AUTHORIZATION_SYSTEM and coding.get("code") == code:
                return True
    return False


def _check_practitioner(connection: Connection, principal: Principal) -> str | None:
    if not principal.hpr_number:
        return "the clinician has no HPR number"
    practitioner = find_practitioner(connection, principal.hpr_number)
    if practitioner is None:
        return f"HPR number {principal.hpr_number} is not a registered, active practitioner"
    code = principal.attestation.authorization_code if principal.attestation else None
    if code and not has_authorization(practitioner, code):
        return f"HPR number {principal.hpr_number} does not hold the authorisation {code}"
    return None


def _check_organisations(connection: Connection, principal: Principal) -> str | None:
    org = principal.organisation
    levels = [
        ("legal entity", ORGANISATION_NUMBER_SYSTEM, org.legal_entity),
        ("point of care", ORGANISATION_NUMBER_SYSTEM, org.point_of_care),
        ("department", RESH_SYSTEM, org.department),
    ]
    above: dict[str, Any] | None = None
    for label, system, value in levels:
        if not value:
            continue
        found = find_organization(connection, system, value)
        if found is None:
            return f"the {label} {value} is not a registered, active organisation"
        if above is not None and not _is_within(connection, found, above["id"]):
            return f"the {label} {value} is not part of organisation {_name(above)}"
        above = found
    if above is None and principal.kind == "system":
        return "the client names no organisation"
    return None


def _is_within(connection: Connection, organisation: dict[str, Any], ancestor_id: str) -> bool:
    """Whether `organisation` is the ancestor itself or lies below it through `partOf`."""
    current: dict[str, Any] | None = organisation
    for _ in range(MAX_HIERARCHY_DEPTH):
        if current is None:
            return False
        if current.get("id") == ancestor_id:
            return True
        parent = _parent_id(current)
        current = current_resource(connection, "Organization", parent) if parent else None
    return False


def _parent_id(organisation: dict[str, Any]) -> str | None:
    reference = (organisation.get("partOf") or {}).get("reference")
    if not isinstance(reference, str) or not reference.startswith("Organization/"):
        return None
    return reference.removeprefix("Organization/").split("/")[0] or None


def _name(organisation: dict[str, Any]) -> str:
    return str(organisation.get("name") or organisation.get("id"))
