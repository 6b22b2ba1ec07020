"""The authorisation policy: one pure function, deny by default.

`decide(principal, interaction, resource_type, ...)` → `Decision` (allow / deny / narrow,
with a reason for the audit trail). The rules, in order:

1. The interaction is known (read, vread, history, history-type, search, create, update,
   patch, delete, operation:<name> with a permission from `ServiceRules.operations`).
   The audit trail (AuditEvent) only for a scope naming it, never for citizens
   (`access_rules.audit_trail_refusal`).
2. SMART scopes grant the permission on the type: clinicians `user/` or `patient/`
   (`patient/` needs the launch patient and narrows to it), citizens `patient/` or `user/`,
   systems `system/`. v2 scopes with a query narrow searches to matching resources.
3. Security level at least the service's minimum (persons only).
4. Clinicians, for patient data: an attestation with a purpose of use the service accepts,
   at most 60 minutes old; ETREAT/BTG need a documented reason and are flagged as
   emergency access; the attested patients (when named) bound the reachable patients.
5. Citizens: read-only except the types the service lets them write (never delete); only
   their own compartment and those they act for: children under 12; children aged 12–15
   only for types the service opens (documents and lab results never); nobody from 16;
   power of attorney and guardianship as recorded; never an entry entered in error.
6. Security labels (see `labels`): withheld-from-patient, parent/youth withholding,
   blocked-for-personnel, restricted and very restricted.
7. The services' access rules (`ServiceRules.access_rules`), once 1–6 allowed: each may
   only refuse (e.g. who writes critical information, a result's delay for citizens).

A citizen refused a read is answered as if the resource did not exist (`Decision.conceal`).

`patient_ids` are the Patient ids the request targets (taken from `resource` when not
given); None for a search without a patient parameter, which is then narrowed. The caller
first resolves `principal.patient_pids` to Patient ids with `principal.with_patient_ids`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from samhandling.auth.access_rules import (
    AccessRequest,
    AccessRule,
    audit_trail_refusal,
)
from samhandling.auth.compartment import holds_patient_data, patient_ids_of
from samhandling.auth.labels import labels_of
from samhandling.auth.policy_rules import (
    ALWAYS_CLOSED_TO_PARENTS_OF_TEENS,
    Context,
    check_clinician_labels,
    check_purpose,
    citizen_reach,
    citizen_target_refusal,
)
from samhandling.auth.principal import PURPOSES, Principal
from samhandling.auth.scopes import INTERACTION_PERMISSION, Grant, grant
from samhandling.fhir.entry_status import is_entered_in_error

__all__ = [
    "ALWAYS_CLOSED_TO_PARENTS_OF_TEENS",
    "AccessRequest",
    "AccessRule",
    "Decision",
    "ServiceRules",
    "decide",
    "deny",
    "filter_resources",
]

Effect = Literal["allow", "deny", "narrow"]


@dataclass(frozen=True)
class ServiceRules:
    """What the collaboration services allow beyond the defaults, and what they add.

    `operations`: the permission each `$operation` needs, by name (from the services'
    `Operation.permission`; an operation not named here is denied). `access_rules`: the
    services' own refusals (`access_rules.AccessRule`), applied after the platform's rules.
    `withheld_labels`: the resource types whose searches say how many matches were
    withheld from the caller, and what they are called ("DocumentReference": "documents").
    """

    name: str = "default"
    purposes: frozenset[str] = PURPOSES
    attestation_max_age: timedelta = timedelta(minutes=60)
    min_security_level_clinician: int = 3
    min_security_level_citizen: int = 4
    citizen_writable: frozenset[str] = frozenset()
    parent_teen_types: frozenset[str] = frozenset()
    operations: dict[str, str] = field(default_factory=dict)
    access_rules: tuple[AccessRule, ...] = ()
    withheld_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome of `decide`.

    `narrow`: the caller must restrict a search to `patient_ids` (when not None) and, when
    `scope_filters` is non-empty, to resources matching one of those parameter sets.
    Results should still go through `filter_resources` (security labels). `emergency`
    marks emergency access (ETREAT/BTG) for the audit trail and the citizen. `conceal`: a
    denied read the caller is answered as if the resource did not exist (404): a citizen is
    not told that somebody else's resource exists.
    """

    effect: Effect
    reason: str
    rule: str = ""
    emergency: bool = False
    emergency_reason: str | None = None
    patient_ids: frozenset[str] | None = None
    scope_filters: tuple[tuple[tuple[str, str], ...], ...] = ()
    purpose_of_use: str | None = None
    scopes: tuple[str, ...] = ()
    conceal: bool = False

    @property
    def allowed(self) -> bool:
        """Whether the request may go ahead (possibly narrowed)."""
        return self.effect != "deny"

    def audit(self) -> dict[str, Any]:
        """The decision as it goes into the audit trail."""
        return {
            "effect": self.effect,
            "reason": self.reason,
            "rule": self.rule,
            "emergency": self.emergency,
            "emergency_reason": self.emergency_reason,
            "purpose_of_use": self.purpose_of_use,
            "scopes": list(self.scopes),
        }


def deny(reason: str, rule: str) -> Decision:
    """A denial with its reason and rule id."""
    return Decision("deny", reason, rule)


class _Request(NamedTuple):
    """One request as the rules judge it: a tuple, made twice for every read by id (a
    frozen dataclass's fields are set one `object.__setattr__` at a time)."""

    principal: Principal
    interaction: str
    resource_type: str
    permissions: str
    targets: frozenset[str] | None
    resource: dict[str, Any] | None
    rules: ServiceRules
    now: datetime

    @property
    def reads(self) -> bool:
        # one-letter tests on a short string: no sets built on every decision (a read by
        # id asks this of two decisions, several times each)
        p = self.permissions
        return "r" in p or "s" in p or not p

    @property
    def writes(self) -> bool:
        p = self.permissions
        return "c" in p or "u" in p or "d" in p


def decide(
    principal: Principal,
    interaction: str,
    resource_type: str | None,
    *,
    patient_ids: frozenset[str] | None = None,
    resource: dict[str, Any] | None = None,
    service_rules: ServiceRules | None = None,
    now: datetime | None = None,
) -> Decision:
    """Allow, deny or narrow one interaction by `principal` (pure; see the module doc)."""
    rules = service_rules or ServiceRules()
    request = _request(principal, interaction, resource_type, patient_ids, resource, rules, now)
    if isinstance(request, Decision):
        return request
    decision = _decide(request)
    if decision.allowed:
        decision = _service_rules(request, decision)
    if not decision.allowed and principal.kind == "citizen" and resource and request.reads:
        return replace(decision, conceal=True)
    return decision


def _request(
    principal: Principal,
    interaction: str,
    resource_type: str | None,
    patient_ids: frozenset[str] | None,
    resource: dict[str, Any] | None,
    rules: ServiceRules,
    now: datetime | None,
) -> _Request | Decision:
    """The request to judge, or the denial of one that cannot be judged at all."""
    rtype = resource_type or (resource or {}).get("resourceType") or "*"
    if resource and resource_type and resource.get("resourceType") not in (None, resource_type):
        return deny("resource type does not match the request", "request.type")
    permissions = _permissions(interaction, rules)
    if permissions is None:
        return deny(f"interaction '{interaction}' is not permitted", "request.interaction")
    targets = patient_ids if patient_ids is not None else patient_ids_of(resource)
    targets = targets or None  # an empty set says nothing about the patient
    return _Request(
        principal,
        interaction,
        rtype,
        permissions,
        targets,
        resource,
        rules,
        now or datetime.now(UTC),
    )


def _decide(request: _Request) -> Decision:
    principal = request.principal
    refusal = audit_trail_refusal(principal, request.resource_type)
    if refusal:
        return deny(*refusal)
    if principal.kind == "clinician":
        return _clinician(request)
    if principal.kind == "citizen":
        return _citizen(request)
    if principal.kind == "system":
        return _system(request)
    return deny("unknown kind of caller", "principal.kind")


def _service_rules(req: _Request, decision: Decision) -> Decision:
    """The services' own rules, once the platform's allowed: each may only refuse."""
    if not req.rules.access_rules:
        return decision
    view = AccessRequest(
        req.principal,
        req.interaction,
        req.resource_type,
        req.resource,
        req.reads,
        req.writes,
        req.now,
    )
    for rule in req.rules.access_rules:
        refusal = rule.refusal(view)
        if refusal:
            return deny(*refusal)
    return decision


def _permissions(interaction: str, rules: ServiceRules) -> str | None:
    if interaction.startswith("operation:"):
        return rules.operations.get(interaction.removeprefix("operation:").lstrip("$"))
    return INTERACTION_PERMISSION.get(interaction)


def _scope(req: _Request, contexts: tuple[Context, ...]) -> Grant:
    if not req.permissions:
        return Grant(True, scopes=())
    return grant(req.principal.scopes, contexts, req.resource_type, req.permissions, req.resource)


def _clinician(req: _Request) -> Decision:
    p = req.principal
    if (p.security_level or 0) < req.rules.min_security_level_clinician:
        return deny("security level is too low for this service", "security-level")
    scope = _scope(req, ("user", "patient"))
    if not scope.ok:
        return deny(scope.reason, "scope")
    if not holds_patient_data(req.resource_type):
        return _allow(req, scope, None, "no patient data involved")
    refusal = check_purpose(p, req.rules.purposes, req.rules.attestation_max_age, req.now)
    refusal = refusal or (check_clinician_labels(p, labels_of(req.resource)) if req.reads else None)
    if refusal:
        return deny(*refusal)
    if scope.patient_context_only and not p.launch_patient:
        return deny("patient/ scopes need a launch patient (patient claim)", "scope.launch")
    reachable = _clinician_reach(p, scope)
    if reachable is not None and not reachable:
        return deny("none of the attested patients is known here", "attestation.patients")
    return _within(req, scope, reachable, "clinician with a valid attestation")


def _clinician_reach(p: Principal, scope: Grant) -> frozenset[str] | None:
    reach: frozenset[str] | None = None
    if scope.patient_context_only:
        reach = frozenset({p.launch_patient}) if p.launch_patient else frozenset()
    if p.attestation and p.attestation.patients:
        attested = frozenset(x.patient_id for x in p.attestation.patients if x.patient_id)
        reach = attested if reach is None else reach & attested
    return reach


def _citizen(req: _Request) -> Decision:
    p = req.principal
    if (p.security_level or 0) < req.rules.min_security_level_citizen:
        return deny("security level is too low for this service", "security-level")
    scope = _scope(req, ("patient", "user"))
    if not scope.ok:
        return deny(scope.reason, "scope")
    if req.writes and (
        req.interaction == "delete" or req.resource_type not in req.rules.citizen_writable
    ):
        return deny("citizens have read-only access to this resource type", "citizen.read-only")
    if not holds_patient_data(req.resource_type):
        return _allow(req, scope, None, "no patient data involved")
    today = req.now.date()
    if req.reads and is_entered_in_error(req.resource):
        return deny(
            "entries entered in error are not shown to citizens", "citizen.entered-in-error"
        )
    reach, excluded = citizen_reach(p, req.resource_type, req.rules.parent_teen_types, today)
    if req.targets:
        labels = labels_of(req.resource)
        refusal = citizen_target_refusal(req.targets, reach, excluded, labels, req.reads, today)
        if refusal:
            return deny(*refusal)
    if not reach:
        return deny("no patient record the citizen may reach", "citizen.compartment")
    return _within(req, scope, frozenset(reach), "citizen within their compartment")


def _system(req: _Request) -> Decision:
    scope = _scope(req, ("system",))
    if not scope.ok:
        return deny(scope.reason, "scope")
    labels = labels_of(req.resource)
    if req.reads and (labels.blocked_for_personnel or labels.very_restricted):
        return deny("the resource is withheld from systems by its security label", "label")
    return _within(req, scope, None, "system scope")


def _within(req: _Request, scope: Grant, reach: frozenset[str] | None, why: str) -> Decision:
    """Allow a request whose targets lie within `reach`, or narrow an untargeted search."""
    if reach is not None and req.targets is not None and not req.targets <= reach:
        return deny("the patient is outside the caller's reach", "compartment")
    if reach is not None and req.targets is None:
        if req.resource is not None or not req.reads:
            return deny("the patient of this request cannot be determined", "compartment.unknown")
        return _allow(req, scope, reach, why + "; narrowed to reachable patients")
    return _allow(req, scope, None, why)


# Decisions that allow, by everything they hold: a value, so one is shared by the
# requests that come to it (a frozen dataclass of ten fields costs ~2.8 µs to make, the
# look-up a tenth of that; a read by id makes two). Cleared when full.
_ALLOWED: dict[tuple[Any, ...], Decision] = {}
_ALLOWED_KEPT = 1024


def _allow(req: _Request, scope: Grant, reach: frozenset[str] | None, why: str) -> Decision:
    p = req.principal
    emergency = p.kind == "clinician" and p.is_emergency and holds_patient_data(req.resource_type)
    narrow = reach is not None or bool(scope.filters)
    reason = p.emergency_reason if emergency else None
    key = (narrow, why, emergency, reason, reach, scope.filters, p.purpose_of_use, scope.scopes)
    found = _ALLOWED.get(key)
    if found is None:
        found = Decision(
            "narrow" if narrow else "allow",
            why + (f"; emergency access ({p.purpose_of_use})" if emergency else ""),
            "allow",
            emergency=emergency,
            emergency_reason=reason,
            patient_ids=reach,
            scope_filters=scope.filters,
            purpose_of_use=p.purpose_of_use,
            scopes=scope.scopes,
        )
        if len(_ALLOWED) >= _ALLOWED_KEPT:
            _ALLOWED.clear()
        _ALLOWED[key] = found
    return found


def filter_resources(
    principal: Principal,
    resources: list[dict[str, Any]],
    *,
    interaction: str = "search",
    service_rules: ServiceRules | None = None,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The resources this principal may see, and how many were withheld."""
    kept = [
        r
        for r in resources
        if decide(
            principal,
            interaction,
            r.get("resourceType"),
            resource=r,
            service_rules=service_rules,
            now=now,
        ).allowed
    ]
    return kept, len(resources) - len(kept)
