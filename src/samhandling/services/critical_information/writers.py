"""Who may register, change or confirm critical information: the service's access rule.

Clinicians only (a person with an HPR number, not a system or a citizen), acting with
purpose of use TREAT, ETREAT or COC (not break-the-glass), with a health-personnel
authorisation in the attestation that the register of health personnel confirms (a fact
looked up before the policy runs: `Principal.registers`). The policy applies the rule to
every write of an entry (`auth.policy.decide`); trusted internal callers (the demo loader,
imports) write without a principal and are not asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from samhandling.auth.access_rules import NOTHING, AccessRequest, Refusal
from samhandling.auth.principal import Principal
from samhandling.services.critical_information.kinds import kind_of

WRITE_PURPOSES = frozenset({"TREAT", "ETREAT", "COC"})
RULE = "critical-information.writer"


@dataclass(frozen=True)
class CriticalInformationWriters:
    """`auth.access_rules.AccessRule`: writes of an entry need a registered clinician."""

    reads = NOTHING  # judges writes only

    def refusal(self, request: AccessRequest) -> Refusal | None:
        if not request.writes or kind_of(request.resource) is None:
            return None
        reason = writer_refusal(request.principal)
        return (f"Critical information: {reason}", RULE) if reason else None


def writer_refusal(principal: Principal) -> str | None:
    """Why `principal` may not write critical information, or None."""
    if principal.kind != "clinician" or not principal.hpr_number:
        return "only health personnel may register or change critical information"
    purpose = principal.purpose_of_use
    if purpose not in WRITE_PURPOSES:
        allowed = ", ".join(sorted(WRITE_PURPOSES))
        return f"purpose of use {purpose or '(none)'} does not permit writing (needs {allowed})"
    attestation = principal.attestation
    if attestation is None or not attestation.authorization_code:
        return "the attestation names no health-personnel authorisation (9060)"
    if principal.registers is None:
        return "the registers of health personnel were not consulted"
    return principal.registers.refusal
