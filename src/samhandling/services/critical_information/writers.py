"""Who may register, change or confirm critical information.

Clinicians only (a person with an HPR number, not a system or a citizen), acting with
purpose of use TREAT, ETREAT or COC (not break-the-glass), with a health-personnel
authorisation in the attestation that the register of health personnel confirms. Trusted
internal callers (no principal: the demo loader, imports) are not asked.
"""

from __future__ import annotations

from samhandling.access_guard import AccessGuard
from samhandling.auth.principal import Principal
from samhandling.fhir.outcome import FhirError, error
from samhandling.services.identity.common import principal_of
from samhandling.services.identity.registers import check_principal_registered
from samhandling.store.database import Connection

WRITE_PURPOSES = frozenset({"TREAT", "ETREAT", "COC"})


def writing_principal(connection: Connection, guard: AccessGuard) -> Principal | None:
    """The clinician allowed to write critical information; None for internal callers."""
    principal = principal_of(guard)
    if principal is None:
        return None
    reason = _refusal(connection, principal)
    if reason:
        raise FhirError(403, error("forbidden", f"Critical information: {reason}"))
    return principal


def _refusal(connection: Connection, principal: Principal) -> str | None:
    if principal.kind != "clinician" or not principal.hpr_number:
        return "only health personnel may register or change critical information"
    purpose = principal.purpose_of_use
    if purpose not in WRITE_PURPOSES:
        allowed = ", ".join(sorted(WRITE_PURPOSES))
        return f"purpose of use {purpose or '(none)'} does not permit writing (needs {allowed})"
    attestation = principal.attestation
    if attestation is None or not attestation.authorization_code:
        return "the attestation names no health-personnel authorisation (9060)"
    return check_principal_registered(connection, principal)
