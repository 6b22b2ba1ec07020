"""The rules a collaboration service adds to the policy, and the platform's own for the
audit trail.

A service's rule sees the request as the policy does (`AccessRequest`) and may refuse it:
the critical-information service limits who writes its entries; the lab-results service
will delay and block results for citizens. Rules are pure: whatever they need from a
register or a table is looked up before the policy runs and handed in as a fact on the
principal (e.g. `Principal.registers`). `policy.decide` applies them after the platform's
rules allowed the request, so a service can narrow access but never widen it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from samhandling.auth.principal import Principal

Refusal = tuple[str, str]  # (reason, rule id)

AUDIT_EVENT = "AuditEvent"


@dataclass(frozen=True)
class AccessRequest:
    """One interaction as the policy judges it."""

    principal: Principal
    interaction: str  # read, search, create, update, …, operation:<name>
    resource_type: str
    resource: dict[str, Any] | None  # the resource judged (None: the type as a whole)
    reads: bool
    writes: bool
    now: datetime


#: the top-level elements a rule reads of the resource judged, by resource type (`ANY_TYPE`:
#: of every type); a type not named: none
ElementReads = Mapping[str, frozenset[str]]
ANY_TYPE = "*"
NOTHING: ElementReads = {}


class AccessRule(Protocol):
    """A service's access rule: a refusal `(reason, rule id)`, or None to let it pass.

    `reads` declares what `refusal` reads of `request.resource` when it judges a read (a
    read or search, `request.reads` without `request.writes`): a search judges from a
    resource's policy facts, a pruned copy, only when every element read is kept
    (docs/SEARCH.md, "Policy facts"). None: it may read anything, and its types are judged
    on the whole resource. A test runs every rule over the test corpus and holds what it
    reads to its declaration (`tests/auth/test_policy_facts.py`).

    A rule may also say what it reads for each kind of caller, `reads_for(kind) ->
    ElementReads` (within `reads`): a request's guard remembers its decisions by what they
    read (`facts.decision_reads`), and a rule that reads a result's time for citizens only
    would otherwise make every result a decision of its own for a clinician."""

    @property
    def reads(self) -> ElementReads | None:
        """The elements read when judging a read, by type (None: possibly any)."""

    def refusal(self, request: AccessRequest) -> Refusal | None:
        """Why `request` is refused, or None."""


def audit_trail_refusal(principal: Principal, resource_type: str) -> Refusal | None:
    """The audit trail (AuditEvent search, read and `$emergency-report`) is for callers whose
    token names AuditEvent explicitly: a security officer's scope, never a wildcard. Not
    citizens, whatever their token says: they see who looked at their record through
    `Patient/{id}/$access-log`, which shows their own record's accesses only."""
    if resource_type != AUDIT_EVENT:
        return None
    if principal.kind == "citizen":
        return "citizens read their access log with Patient/$access-log", "audit-trail.citizen"
    if any(s.resource_type == AUDIT_EVENT for s in principal.scopes.clinical):
        return None
    return "reading the audit trail needs an AuditEvent scope", "audit-trail.scope"
