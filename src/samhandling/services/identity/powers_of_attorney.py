"""The register of powers of attorney ("fullmakt"): who may act for whom, as the platform
itself holds it (docs/WEB_VIEWS.md, "The register of powers of attorney").

A grant is a RelatedPerson in the grantor's record: `patient` the grantor, `relationship`
v3 RoleCode `POWATT` (or its kinds `HPOWATT`, `DPOWATT`, `SPOWATT`), `identifier` the
attorney's national ID (fødselsnummer or D-number system), `period` and `active`. It is
*current* at `now` when it is active, names the grantor and its period covers `now`
(R4 Period: "the end value includes any matching date/time", so an end date includes its
whole day).

`confirm_powers_of_attorney` runs for every request before the policy (the API's
`CallerVerifier`, which the web views use too): each `acts_for` entry of a citizen's token
by power of attorney gets the register's answer as a fact (`GrantStanding`); the policy
refuses an entry without a current grant. A revoked or expired grant therefore stops
access with the attorney's next request, whatever her token still says.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from samhandling.auth.principal import ActingFor, GrantStanding, Principal
from samhandling.fhir.fhir_dates import date_or_none
from samhandling.identifiers.identifier_systems import DNR_SYSTEM, FNR_SYSTEM
from samhandling.identifiers.person_numbers import D_NUMBER_DAY_OFFSET
from samhandling.services.identity.lookups import resources_by_identifier
from samhandling.store.database import Connection

ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
#: v3 RoleCode POWATT and its specialisations (health care, durable, special)
POWER_OF_ATTORNEY_CODES = frozenset({"POWATT", "HPOWATT", "DPOWATT", "SPOWATT"})
REVOKED_OR_EXPIRED = "the power of attorney was revoked or has expired"
NOT_GIVEN = "no power of attorney from this person is registered"


def relationship_codes(related: dict[str, Any]) -> set[str]:
    """The v3 RoleCode codes of a RelatedPerson's relationship."""
    return {
        str(coding.get("code"))
        for concept in related.get("relationship") or []
        if isinstance(concept, dict)
        for coding in concept.get("coding") or []
        if isinstance(coding, dict) and coding.get("system") == ROLE_CODE
    }


def is_power_of_attorney(related: dict[str, Any] | None) -> bool:
    """Whether this is a RelatedPerson recording a power of attorney."""
    if not related or related.get("resourceType") != "RelatedPerson":
        return False
    return bool(relationship_codes(related) & POWER_OF_ATTORNEY_CODES)


def grantor_id(grant: dict[str, Any]) -> str | None:
    """The Patient id of the person who gave the power of attorney."""
    reference = (grant.get("patient") or {}).get("reference")
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        return None
    return reference.removeprefix("Patient/") or None


def period_covers(period: dict[str, Any] | None, now: datetime) -> bool:
    """Whether `now` lies within a FHIR Period (open ends; an end date's whole day counts).
    A malformed bound covers nothing."""
    period = period or {}
    if "start" in period:
        start = date_or_none(period["start"])
        if start is None or now < start.low:
            return False
    if "end" in period:
        end = date_or_none(period["end"])
        if end is None or now >= end.high:
            return False
    return True


def is_current(grant: dict[str, Any], grantor: str, now: datetime) -> bool:
    """Whether `grant` is an active power of attorney from Patient `grantor` at `now`."""
    return (
        is_power_of_attorney(grant)
        and grant.get("active") is True
        and grantor_id(grant) == grantor
        and period_covers(grant.get("period"), now)
    )


def grant_refusal(grants: list[dict[str, Any]], grantor: str, now: datetime) -> str | None:
    """None when one of `grants` (the RelatedPersons naming the attorney) is a current power
    of attorney from `grantor`, else why not."""
    mine = [g for g in grants if is_power_of_attorney(g) and grantor_id(g) == grantor]
    if any(is_current(g, grantor, now) for g in mine):
        return None
    return REVOKED_OR_EXPIRED if mine else NOT_GIVEN


def attorney_identifier(pid: str) -> dict[str, str]:
    """The identifier naming the attorney: a D-number (day + 40) in its own system."""
    d_number = pid[:2].isdigit() and int(pid[:2]) > D_NUMBER_DAY_OFFSET
    system = DNR_SYSTEM if d_number else FNR_SYSTEM
    return {"system": system, "value": pid}


def grants_naming(connection: Connection, pid: str) -> list[dict[str, Any]]:
    """The powers of attorney (current or not) whose identifier is the national ID `pid`."""
    identifier = attorney_identifier(pid)
    found = resources_by_identifier(
        connection, "RelatedPerson", identifier["system"], identifier["value"]
    )
    return [g for g in found if is_power_of_attorney(g)]


def confirm_powers_of_attorney(
    connection: Connection, principal: Principal, now: datetime
) -> Principal:
    """The principal with the register's answer on each power of attorney its token
    claims (`ActingFor.grant`); other callers and relations are returned unchanged."""
    if principal.kind != "citizen" or not principal.pid:
        return principal
    claimed = [a for a in principal.acts_for if a.relation == "power-of-attorney"]
    if not claimed:
        return principal
    grants = grants_naming(connection, principal.pid)
    acts = tuple(
        _standing(a, grants, now) if a.relation == "power-of-attorney" else a
        for a in principal.acts_for
    )
    return replace(principal, acts_for=acts)


def _standing(acting: ActingFor, grants: list[dict[str, Any]], now: datetime) -> ActingFor:
    if acting.patient_id is None:
        return replace(acting, grant=GrantStanding("the grantor is not in the Patient register"))
    return replace(acting, grant=GrantStanding(grant_refusal(grants, acting.patient_id, now)))
