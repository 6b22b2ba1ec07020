"""The individual policy rules used by `policy.decide`; each returns a refusal
`(reason, rule id)` or None. Pure functions, no I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from samhandling.auth.compartment import age_on
from samhandling.auth.labels import Labels
from samhandling.auth.principal import PURPOSES, ActingFor, Principal
from samhandling.auth.scopes import Context

__all__ = [
    "ALWAYS_CLOSED_TO_PARENTS_OF_TEENS",
    "Context",
    "Refusal",
    "check_clinician_labels",
    "check_purpose",
    "citizen_reach",
    "citizen_target_refusal",
]

Refusal = tuple[str, str]

#: Closed to parents of children aged 12–15 whatever a service says: documents and lab results.
ALWAYS_CLOSED_TO_PARENTS_OF_TEENS = frozenset(
    {"DocumentReference", "Binary", "Composition", "DiagnosticReport", "Observation", "Specimen"}
)
PARENT_FULL_ACCESS_BELOW = 12
PARENT_NO_ACCESS_FROM = 16
_FUTURE_TOLERANCE = timedelta(minutes=5)
_TREATMENT = frozenset({"TREAT", "ETREAT", "BTG"})


def check_purpose(
    p: Principal, accepted: frozenset[str], max_age: timedelta, now: datetime
) -> Refusal | None:
    """A clinician's attestation: purpose of use, its age, and an emergency's reason."""
    att = p.attestation
    if att is None:
        return "clinicians need a trust-framework attestation", "attestation.missing"
    purpose = att.purpose_of_use
    if not purpose:
        return "the attestation has no purpose of use", "purpose.missing"
    if purpose not in PURPOSES or purpose not in accepted:
        return f"purpose of use '{purpose[:20]}' is not accepted here", "purpose.not-accepted"
    if att.attested_at is None:
        return "the attestation has no time of attestation", "attestation.time"
    if now - att.attested_at > max_age:
        minutes = int(max_age.total_seconds() // 60)
        return f"the attestation is older than {minutes} minutes", "attestation.stale"
    if att.attested_at - now > _FUTURE_TOLERANCE:
        return "the attestation is dated in the future", "attestation.time"
    if att.is_emergency and not (att.reason or "").strip():
        return f"emergency access ({purpose}) needs a documented reason", "emergency.reason"
    return None


def check_clinician_labels(p: Principal, labels: Labels) -> Refusal | None:
    """Security labels that withhold a resource from health personnel."""
    if labels.blocked_for_personnel:
        return "the citizen has blocked this information from health personnel", "label.blocked"
    if labels.very_restricted and p.purpose_of_use != "BTG":
        return "very restricted information needs break-the-glass (BTG)", "label.very-restricted"
    if labels.restricted and p.purpose_of_use not in _TREATMENT:
        return "restricted information needs a treatment purpose", "label.restricted"
    return None


def citizen_reach(
    p: Principal, resource_type: str, teen_types: frozenset[str], today: date
) -> tuple[dict[str, ActingFor], dict[str, str]]:
    """Patient ids a citizen may reach for this type (with the relation), and the ids
    excluded with the reason."""
    reach: dict[str, ActingFor] = {}
    excluded: dict[str, str] = {}
    for acting in p.acts_for:
        if acting.patient_id is None or acting.patient_id in reach:
            continue
        why = _relation_refusal(acting, resource_type, teen_types, today)
        if why is None:
            reach[acting.patient_id] = acting
            excluded.pop(acting.patient_id, None)
        else:
            excluded[acting.patient_id] = why
    return reach, excluded


def _relation_refusal(
    acting: ActingFor, resource_type: str, teen_types: frozenset[str], today: date
) -> str | None:
    if acting.relation == "power-of-attorney":
        return _grant_refusal(acting)
    if acting.relation != "parent":
        return None
    if acting.birth_date is None:
        return "the child's age is unknown"
    age = age_on(acting.birth_date, today)
    if age < PARENT_FULL_ACCESS_BELOW:
        return None
    if age >= PARENT_NO_ACCESS_FROM:
        return "parents have no access once the child is 16"
    if resource_type in teen_types and resource_type not in ALWAYS_CLOSED_TO_PARENTS_OF_TEENS:
        return None
    return f"parents cannot reach {resource_type} of a child aged 12-15"


def _grant_refusal(acting: ActingFor) -> str | None:
    """A power of attorney counts only when the platform's register confirmed a current
    grant for this request (deny by default: a token's claim alone is not enough)."""
    if acting.grant is None:
        return "the register of powers of attorney was not consulted"
    return acting.grant.refusal


def citizen_target_refusal(
    targets: frozenset[str],
    reach: dict[str, ActingFor],
    excluded: dict[str, str],
    labels: Labels,
    reads: bool,
    today: date,
) -> Refusal | None:
    """Targets outside the citizen's reach, or a label withholding the resource."""
    for target in sorted(targets):
        if target not in reach:
            if target in excluded:
                return excluded[target], "citizen.representation"
            return "the patient is outside the citizen's compartment", "citizen.compartment"
        if reads:
            refusal = _label_refusal(reach[target], labels, today)
            if refusal:
                return refusal
    return None


def _label_refusal(acting: ActingFor, labels: Labels, today: date) -> Refusal | None:
    if labels.withheld_from_patient:
        return "withheld from the patient by its security label", "label.withheld"
    if acting.relation == "parent" and labels.withheld_from_parents:
        return "withheld from parents by its security label", "label.parents"
    if acting.relation != "self" and labels.very_restricted:
        return (
            "very restricted information is not shown to representatives",
            "label.very-restricted",
        )
    if acting.relation == "self" and labels.withheld_from_youth:
        young = (
            acting.birth_date is None or age_on(acting.birth_date, today) < PARENT_NO_ACCESS_FROM
        )
        if young:
            return "withheld from the young patient by its security label", "label.youth"
    return None
