"""`POST Patient/$merge`: merge a Patient (typically one with a felles hjelpenummer) into
the Patient of the person's real identity, modelled on FHIR R5 Patient-merge / IHE PMIR.

In ONE database transaction (the operation's):

1. every current resource that points at the source — its patient compartment plus any
   indexed reference to it — gets a new version whose references to the source
   (`Patient/<source>`, versioned, or absolute under this server's base) name the target;
2. the source gets a new version: `active: false` and `link` {target, `replaced-by`};
3. the target gets a new version: `link` {source, `replaces`} and the source's identifiers
   with `use: old` (or, when given, `result-patient` as its new content plus that link).

Nothing is deleted, so every earlier version stays readable: a wrong merge is visible in
the history of the source, the target and each re-pointed resource (and in the ledger of
versions the outcome lists), and can be undone by hand from there. Reads of the source
still answer 200 with the inactive source whose `link` says where the person lives now.
With `preview` nothing is written and the outcome lists what would move.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from samhandling.access_guard import AccessGuard
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.references import iter_reference_holders
from samhandling.interactions import crud
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.services.identity.common import identifier_key, patient_id_of_reference
from samhandling.services.identity.lookups import current_versions
from samhandling.services.identity.merge_input import MergeRequest, merge_request
from samhandling.services.identity.merge_report import merge_outcome
from samhandling.store.database import Connection
from samhandling.store.identity_queries import ResourceKey, pointing_at_patient
from samhandling.store.records import StoredVersion
from samhandling.store.version_writer import VersionWriter


@dataclass
class MergePlan:
    """What a merge will write, computed before anything is written."""

    source: StoredVersion
    target: StoredVersion
    moves: list[tuple[StoredVersion, dict[str, Any]]] = field(default_factory=list)
    untouched: list[ResourceKey] = field(default_factory=list)
    source_after: dict[str, Any] = field(default_factory=dict)
    target_after: dict[str, Any] = field(default_factory=dict)


@dataclass
class MergeResult:
    """The versions a merge wrote (all None-free after `execute_merge`)."""

    moved: list[tuple[StoredVersion, StoredVersion]] = field(default_factory=list)
    source: StoredVersion | None = None
    target: StoredVersion | None = None


def plan_merge(writer: VersionWriter, request: MergeRequest, base_url: str) -> MergePlan:
    """Lock source and target and compute every new version (nothing is written)."""
    source = _live_patient(writer, request.source_id, "source")
    target = _live_patient(writer, request.target_id, "target")
    _check_not_replaced(source.resource(), "source")
    _check_not_replaced(target.resource(), "target")
    plan = MergePlan(source, target)
    _plan_moves(writer.connection, plan, base_url)
    plan.source_after = replaced_source(source.resource(), request.target_id)
    plan.target_after = surviving_target(
        target.resource(), source.resource(), request.result_patient
    )
    return plan


def execute_merge(writer: VersionWriter, plan: MergePlan) -> MergeResult:
    """Write the plan: re-pointed resources first, then the two Patients."""
    result = MergeResult()
    for before, body in plan.moves:
        try:
            written = crud.update(
                writer, before.resource_type, before.resource_id, body, if_match=before.version_id
            )
        except FhirError as exc:
            where = f"Re-pointing {before.resource_type}/{before.resource_id} failed"
            issues = [replace(i, diagnostics=f"{where}: {i.diagnostics}") for i in exc.issues]
            raise FhirError(exc.status, issues, exc.headers) from exc
        result.moved.append((before, written.version))
    result.source, result.target = write_merged_patients(writer, plan)
    return result


def write_merged_patients(
    writer: VersionWriter, plan: MergePlan
) -> tuple[StoredVersion, StoredVersion]:
    """The new versions of the source (replaced-by) and the target (replaces)."""
    source = crud.update(
        writer,
        "Patient",
        plan.source.resource_id,
        plan.source_after,
        if_match=plan.source.version_id,
    )
    target = crud.update(
        writer,
        "Patient",
        plan.target.resource_id,
        plan.target_after,
        if_match=plan.target.version_id,
    )
    return source.version, target.version


def repoint(resource: dict[str, Any], source_id: str, target_id: str, base_url: str) -> int:
    """Make every reference to the source Patient name the target; how many were changed."""
    changed = 0
    for holder in list(iter_reference_holders(resource)):
        if patient_id_of_reference(holder["reference"], base_url) == source_id:
            holder["reference"] = f"Patient/{target_id}"
            changed += 1
    return changed


def replaced_source(source: dict[str, Any], target_id: str) -> dict[str, Any]:
    """The source after the merge: inactive, linked to the target with `replaced-by`."""
    body = copy.deepcopy(source)
    body.pop("meta", None)
    body["active"] = False
    body["link"] = [*body.get("link", []), _link(target_id, "replaced-by")]
    return body


def surviving_target(
    target: dict[str, Any], source: dict[str, Any], result_patient: dict[str, Any] | None
) -> dict[str, Any]:
    """The target after the merge: `result-patient` or the target with the source's
    identifiers as `old`; either way linked to the source with `replaces`."""
    body = copy.deepcopy(result_patient if result_patient is not None else target)
    body.pop("meta", None)
    if result_patient is None:
        known = {identifier_key(i) for i in body.get("identifier", [])}
        for identifier in source.get("identifier", []):
            key = identifier_key(identifier)
            if key is not None and key not in known:
                known.add(key)
                body.setdefault("identifier", []).append({**identifier, "use": "old"})
    links = [link for link in body.get("link", []) if not _links_to(link, source["id"])]
    body["link"] = [*links, _link(source["id"], "replaces")]
    return body


def _plan_moves(connection: Connection, plan: MergePlan, base_url: str) -> None:
    patients = {("Patient", plan.source.resource_id), ("Patient", plan.target.resource_id)}
    keys = [
        k for k in pointing_at_patient(connection, plan.source.resource_id) if k not in patients
    ]
    versions = current_versions(connection, keys)
    for key in keys:
        version = versions.get(key)
        if version is None:
            continue
        body = version.resource()
        body.pop("meta", None)
        if repoint(body, plan.source.resource_id, plan.target.resource_id, base_url):
            plan.moves.append((version, body))
        else:
            plan.untouched.append(key)


def _live_patient(writer: VersionWriter, patient_id: str, role: str) -> StoredVersion:
    current = writer.current("Patient", patient_id)
    if current is None or current.deleted:
        raise FhirError(422, error("not-found", f"The {role} Patient/{patient_id} is not known"))
    return current


def _check_not_replaced(patient: dict[str, Any], role: str) -> None:
    for link in patient.get("link", []):
        if link.get("type") == "replaced-by":
            where = link.get("other", {}).get("reference", "another Patient")
            message = f"The {role} Patient/{patient['id']} was already merged into {where}"
            raise FhirError(422, error("business-rule", message))


def _link(patient_id: str, link_type: str) -> dict[str, Any]:
    return {"other": {"reference": f"Patient/{patient_id}"}, "type": link_type}


def _links_to(link: dict[str, Any], patient_id: str) -> bool:
    return link.get("other", {}).get("reference") == f"Patient/{patient_id}"


def merge(context: OperationContext) -> OperationResult:
    """The operation handler (see the module doc)."""
    request = merge_request(context)
    plan = plan_merge(context.writer, request, context.base_url)
    check_may_merge(context.writer.guard, plan)
    result = None if request.preview else execute_merge(context.writer, plan)
    hidden = hidden_moves(context.writer.guard, plan)
    return OperationResult(merge_outcome(context, request, plan, result, hidden=hidden))


def check_may_merge(guard: AccessGuard, plan: MergePlan) -> None:
    """Ask the guard about every write of the merge before any is made: a preview is refused
    exactly when the merge would be, and the refusal names no resource (the re-pointed ones
    may be hidden from the caller)."""
    if not guard.inspects_resources:
        return
    guard.check_write("update", plan.source.resource(), plan.source_after)
    guard.check_write("update", plan.target.resource(), plan.target_after)
    for before, body in plan.moves:
        guard.check_write("update", before.resource(), body)


def hidden_moves(guard: AccessGuard, plan: MergePlan) -> frozenset[ResourceKey]:
    """The re-pointed resources the caller may not read: moved, but not named in the answer
    (a blocked or very restricted entry follows its person without showing itself)."""
    if not guard.inspects_resources:
        return frozenset()
    return frozenset(
        (v.resource_type, v.resource_id)
        for v, _ in plan.moves
        if not guard.visible("read", v.resource())
    )


OPERATION = Operation(
    "merge",
    "type",
    "Patient",
    merge,
    permission="u",
    writes=True,
    description="Merge a duplicate Patient (source) into the one that stays (target).",
    parameters=(
        ("source-patient", "in", 0, "1", "Reference"),
        ("source-patient-identifier", "in", 0, "*", "Identifier"),
        ("target-patient", "in", 0, "1", "Reference"),
        ("target-patient-identifier", "in", 0, "*", "Identifier"),
        ("result-patient", "in", 0, "1", "Patient"),
        ("preview", "in", 0, "1", "boolean"),
        ("outcome", "out", 1, "1", "OperationOutcome"),
    ),
)
