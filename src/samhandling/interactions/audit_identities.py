"""How people are named on the audit trail: who acted (`audit_agent`, made once per
principal; a citizen acting for someone else as that person's `representative`), and the
national IDs in a record's free text (a query, a reason) masked to their birth-date part
(`mask_national_ids`): no full national ID is stored.
"""

from __future__ import annotations

import re
from typing import Any

from samhandling.auth import Principal

REPRESENTATIVE = "representative"  # the audit agent kind of a citizen acting for another
# An 11-digit run is masked as a national ID unless it lies inside a UUID (a server-assigned
# id's last group, 12 hex characters, holds 11 digits in a row about once in 250 ids).
NATIONAL_ID = re.compile(
    r"(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?<!\d)(?P<birth>\d{6})\d{5}(?!\d)"
)
MAX_KEPT_AGENTS = 10_000
_AGENTS: dict[int, tuple[Principal, dict[str, Any]]] = {}  # `audit_agent`'s, by principal


def audit_agent(principal: Principal) -> dict[str, Any]:
    """Who acted, for the audit trail (no token, no full national ID), with the role: made
    once per principal (a remembered token's is the same object on each request), a copy
    given to each record."""
    kept = _AGENTS.get(id(principal))
    if kept is None or kept[0] is not principal:
        agent = principal.audit_agent()
        if principal.attestation and principal.attestation.authorization_code:
            agent["authorization_code"] = principal.attestation.authorization_code
        if len(_AGENTS) >= MAX_KEPT_AGENTS:
            _AGENTS.clear()
        # the principal itself is kept in the entry, so its id cannot be reused meanwhile
        kept = _AGENTS[id(principal)] = (principal, agent)
    return dict(kept[1])


def representative(
    agent: dict[str, Any], principal: Principal, patients: set[str]
) -> dict[str, Any]:
    """A citizen's access to the record of someone they act for (a child, a person who gave
    them a power of attorney) is a representative's: the agent's kind says so, with the
    relation, so that the access is in that person's access log (a citizen's look at their
    own record is not)."""
    if principal.kind != "citizen":
        return agent
    for acting in principal.acts_for:
        if acting.relation != "self" and acting.patient_id in patients:
            return {**agent, "kind": REPRESENTATIVE, "relation": acting.relation}
    return agent


def mask_national_ids(text: str) -> str:
    """Keep the birth date part of 11-digit numbers only (never store full national IDs)."""
    return NATIONAL_ID.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    return match["uuid"] or match["birth"] + "*****"
