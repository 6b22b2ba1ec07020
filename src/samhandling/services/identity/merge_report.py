"""The answer of `$merge`: Parameters with `input`, `outcome`, `result`, the list of moved
resources and — for a real merge — an AuditEvent-ready summary (not stored here: the audit
trail records it once it is wired in)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from samhandling.fhir.instants import format_instant, now_us
from samhandling.identifiers.identifier_systems import HPR_SYSTEM
from samhandling.interactions.operations import OperationContext
from samhandling.services.identity.common import requester
from samhandling.services.identity.merge_input import MergeRequest

if TYPE_CHECKING:
    from samhandling.services.identity.merge import MergePlan, MergeResult

AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
IHE_EVENT_TYPE = "urn:ihe:event-type-code"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
PURPOSE_OF_USE = "urn:oid:2.16.840.1.113883.1.11.20448"


def merge_outcome(
    context: OperationContext,
    request: MergeRequest,
    plan: MergePlan,
    result: MergeResult | None,
    *,
    hidden: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, Any]:
    """The output Parameters of a merge (or, with `result` None, of a preview). Resources in
    `hidden` (the caller may not read them) are counted but never named."""
    summary = _summary(request, plan, preview=result is None)
    issues = _outcome_issues(summary, plan, hidden)
    moved = _moved_references(plan, result, hidden)
    patient = _merged_patient(request, plan, result)
    parameters: list[dict[str, Any]] = []
    if isinstance(context.body, dict):
        parameters.append({"name": "input", "resource": context.body})
    parameters.append(
        {"name": "outcome", "resource": {"resourceType": "OperationOutcome", "issue": issues}}
    )
    parameters.append({"name": "result", "resource": patient})
    parameters += [{"name": "moved-resource", "valueReference": {"reference": m}} for m in moved]
    if result is not None:
        event = audit_event(requester(context.guard), plan, result, summary, hidden=hidden)
        parameters.append({"name": "audit-event", "resource": event})
    return {"resourceType": "Parameters", "parameter": parameters}


def _outcome_issues(
    summary: str, plan: MergePlan, hidden: frozenset[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The summary, how many re-pointed resources go unnamed, and a warning per resource
    that points at the source by a reference to another server (left unchanged)."""
    issues = [{"severity": "information", "code": "informational", "diagnostics": summary}]
    if hidden:
        issues.append(_hidden_issue(len(hidden)))
    issues += [
        {
            "severity": "warning",
            "code": "informational",
            "diagnostics": f"{t}/{i} points at the source through a reference that is not "
            "to this server; it was left unchanged",
        }
        for t, i in plan.untouched
    ]
    return issues


def _moved_references(
    plan: MergePlan, result: MergeResult | None, hidden: frozenset[tuple[str, str]]
) -> list[str]:
    """The versions re-pointed (a preview: the versions that would be), less the hidden."""
    if result is None:
        return [
            f"{v.resource_type}/{v.resource_id}/_history/{v.version_id}"
            for v, _ in plan.moves
            if (v.resource_type, v.resource_id) not in hidden
        ]
    return [
        after.location
        for before, after in result.moved
        if (before.resource_type, before.resource_id) not in hidden
    ]


def _merged_patient(
    request: MergeRequest, plan: MergePlan, result: MergeResult | None
) -> dict[str, Any]:
    """The target Patient after the merge (a preview: as it would be)."""
    if result is None:
        return {**plan.target_after, "id": request.target_id}
    assert result.target is not None
    return result.target.resource()


def _hidden_issue(count: int) -> dict[str, Any]:
    return {
        "severity": "information",
        "code": "suppressed",
        "diagnostics": f"{count} of the re-pointed resources are not listed: the caller may "
        "not read them",
    }


def _summary(request: MergeRequest, plan: MergePlan, *, preview: bool) -> str:
    counts = Counter(v.resource_type for v, _ in plan.moves)
    listed = ", ".join(f"{t}: {n}" for t, n in sorted(counts.items())) or "none"
    verb = "would be" if preview else "were"
    head = "Preview of merging" if preview else "Merged"
    return (
        f"{head} Patient/{request.source_id} into Patient/{request.target_id}: "
        f"{len(plan.moves)} resources {verb} re-pointed ({listed})"
    )


def audit_event(
    who: dict[str, Any],
    plan: MergePlan,
    result: MergeResult,
    summary: str,
    *,
    hidden: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, Any]:
    """An R4 AuditEvent describing the merge (IHE ITI-93 style), ready for the audit trail."""
    assert result.source is not None and result.target is not None
    entities = [
        _entity(result.source.location, "1", "1", "merge source (now replaced-by the target)"),
        _entity(result.target.location, "1", "1", "merge target (surviving Patient)"),
    ]
    entities += [
        _entity(after.location, "2", "4", f"re-pointed from {before.location}")
        for before, after in result.moved
        if (before.resource_type, before.resource_id) not in hidden
    ]
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"},
        "subtype": [
            {"system": RESTFUL_INTERACTION, "code": "operation", "display": "operation"},
            {"system": IHE_EVENT_TYPE, "code": "ITI-93", "display": "Mobile Patient Identity Feed"},
        ],
        "action": "U",
        "recorded": format_instant(now_us()),
        "outcome": "0",
        "outcomeDesc": summary,
        "agent": [_agent(who)],
        "source": {"observer": {"display": "samhandling $merge"}},
        "entity": entities,
    }
    if who.get("purpose_of_use"):
        event["purposeOfEvent"] = [
            {"coding": [{"system": PURPOSE_OF_USE, "code": who["purpose_of_use"]}]}
        ]
    return event


def _agent(who: dict[str, Any]) -> dict[str, Any]:
    agent: dict[str, Any] = {"requestor": True}
    if who.get("hpr_number"):
        agent["who"] = {"identifier": {"system": HPR_SYSTEM, "value": who["hpr_number"]}}
    elif who.get("client_id"):
        agent["who"] = {"display": f"client {who['client_id']}"}
    if who.get("name") or who.get("client_name"):
        agent["name"] = who.get("name") or who.get("client_name")
    if who.get("organisation"):
        agent["altId"] = f"organisation {who['organisation']}"
    return agent


def _entity(reference: str, entity_type: str, role: str, description: str) -> dict[str, Any]:
    return {
        "what": {"reference": reference},
        "type": {"system": ENTITY_TYPE, "code": entity_type},
        "role": {"system": OBJECT_ROLE, "code": role},
        "description": description,
    }
